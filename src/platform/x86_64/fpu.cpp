// FPU/SSE state: switched lazily between the FXSAVE areas of threads and
// vCPUs (Intel SDM Vol. 1, 10.5 "FXSAVE and FXRSTOR"). The kernel itself
// never uses the FPU (-mgeneral-regs-only), so the live state always
// belongs to the area last activated.
#include "kernel/platform.hpp"

namespace cos::platform {
namespace {

/// The area whose state is in the FPU registers (nullptr: none yet).
uint8_t* g_live;

void fxsave(uint8_t* area) { asm volatile("fxsave64 (%0)" ::"r"(area) : "memory"); }
void fxrstor(const uint8_t* area) { asm volatile("fxrstor64 (%0)" ::"r"(area) : "memory"); }

}  // namespace

void fpu_activate(uint8_t* area) {
  if (g_live == area) return;
  if (g_live) fxsave(g_live);
  fxrstor(area);
  g_live = area;
}

void fpu_forget(uint8_t* area) {
  if (g_live == area) g_live = nullptr;
}

void fpu_init_area(uint8_t* area) {
  for (unsigned i = 0; i < 512; ++i) area[i] = 0;
  // FCW 0x37f: all x87 exceptions masked; MXCSR 0x1f80: all SSE exceptions masked.
  area[0] = 0x7f;
  area[1] = 0x03;
  area[24] = 0x80;
  area[25] = 0x1f;
}

}  // namespace cos::platform
