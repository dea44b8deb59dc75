// FPU/SSE state: switched lazily between the FXSAVE areas of threads and
// vCPUs (Intel SDM Vol. 1, 10.5 "FXSAVE and FXRSTOR"). The kernel itself
// never uses the FPU (-mgeneral-regs-only), so the live state always
// belongs to the area last activated.
#include "kernel/platform.hpp"
#include "x86_64/gdt.hpp"
#include "x86_64/percpu.hpp"

namespace cos::platform {
namespace {

/// The area whose state is in this CPU's FPU registers (nullptr: none yet).
uint8_t*& live() { return x86::percpu().fpu_live; }

/// The power-on FXSAVE image with every register zero: FCW 0x37f (all x87
/// exceptions masked), MXCSR 0x1f80 (all SSE exceptions masked), empty x87
/// stack. Loading it with FXRSTOR clears x87, MMX and XMM registers alike
/// (FNINIT would leave the x87 data registers' bits in place, where FXSAVE
/// still shows them).
struct alignas(16) FxsaveImage {
  uint8_t bytes[512];
};
constexpr FxsaveImage clean_image() {
  FxsaveImage img{};
  img.bytes[0] = 0x7f, img.bytes[1] = 0x03;    // FCW
  img.bytes[24] = 0x80, img.bytes[25] = 0x1f;  // MXCSR
  return img;
}

}  // namespace
}  // namespace cos::platform

extern "C" {
/// Also loaded by the sinv/sret fast paths (entry.S).
extern const cos::platform::FxsaveImage fpu_clean_image;
}
const cos::platform::FxsaveImage fpu_clean_image = cos::platform::clean_image();

namespace cos::platform {
namespace {

void fxsave(uint8_t* area) { asm volatile("fxsave64 (%0)" ::"r"(area) : "memory"); }
void fxrstor(const uint8_t* area) { asm volatile("fxrstor64 (%0)" ::"r"(area) : "memory"); }

}  // namespace

void fpu_activate(uint8_t* area) {
  uint8_t*& current = live();
  if (current == area) return;
  if (current) fxsave(current);
  fxrstor(area);
  current = area;
}

void fpu_reset(uint8_t* area) {
  if (live() == area) asm volatile("fxrstor64 %0" ::"m"(fpu_clean_image) : "memory");
  else fpu_init_area(area);
}

void fpu_forget(uint8_t* area) {
  // The area may be live on any CPU that ran its thread last.
  for (unsigned cpu = 0; cpu < x86::kMaxCpus; ++cpu)
    if (x86::percpu_of(cpu).fpu_live == area) x86::percpu_of(cpu).fpu_live = nullptr;
}

void fpu_release(uint8_t* area) {
  if (live() == area) {
    fxsave(area);
    live() = nullptr;
    return;
  }
  for (unsigned cpu = 0; cpu < x86::kMaxCpus; ++cpu)
    if (x86::percpu_of(cpu).fpu_live == area) {
      cpus_sync(0);  // that CPU writes it back while it waits for the kernel lock
      return;
    }
}

void fpu_init_area(uint8_t* area) {
  for (unsigned i = 0; i < 512; ++i) area[i] = fpu_clean_image.bytes[i];
}

}  // namespace cos::platform
