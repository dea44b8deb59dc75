// vmrt vCPU state-page accessors and exit dispatch (host-compilable).
#include "vmrt/vcpu_state.hpp"

#include "vmrt/string_io.hpp"

namespace vmrt {
namespace {

constexpr uint16_t kAttrL = 1u << 9, kAttrDb = 1u << 10;

}  // namespace

// ---------------------------------------------------------------- names

int exit_reason_index(vm::ExitReason reason) {
  auto v = static_cast<uint32_t>(reason);
  if (v <= static_cast<uint32_t>(vm::ExitReason::pause)) return static_cast<int>(v);
  if (reason == vm::ExitReason::vendor) return kExitReasonSlots - 1;
  return -1;
}

const char* exit_reason_name(vm::ExitReason reason) {
  switch (reason) {
    case vm::ExitReason::none: return "none";
    case vm::ExitReason::io: return "io";
    case vm::ExitReason::gpa_fault: return "gpa_fault";
    case vm::ExitReason::cpuid: return "cpuid";
    case vm::ExitReason::msr_read: return "msr_read";
    case vm::ExitReason::msr_write: return "msr_write";
    case vm::ExitReason::hlt: return "hlt";
    case vm::ExitReason::hypercall: return "hypercall";
    case vm::ExitReason::interrupt_window: return "interrupt_window";
    case vm::ExitReason::exception: return "exception";
    case vm::ExitReason::cr_access: return "cr_access";
    case vm::ExitReason::xsetbv: return "xsetbv";
    case vm::ExitReason::invd: return "invd";
    case vm::ExitReason::wbinvd: return "wbinvd";
    case vm::ExitReason::shutdown: return "shutdown";
    case vm::ExitReason::entry_failure: return "entry_failure";
    case vm::ExitReason::rdtsc: return "rdtsc";
    case vm::ExitReason::pause: return "pause";
    case vm::ExitReason::vendor: return "vendor";
  }
  return "unknown";
}

const char* backend_name(uint32_t backend) {
  if (backend == vm::kBackendVmx) return "vmx";
  if (backend == vm::kBackendSvm) return "svm";
  return "unknown";
}

const uint8_t* hypercall_instruction(uint32_t backend) {
  static const uint8_t kVmcall[3] = {0x0f, 0x01, 0xc1};
  static const uint8_t kVmmcall[3] = {0x0f, 0x01, 0xd9};
  if (backend == vm::kBackendVmx) return kVmcall;
  if (backend == vm::kBackendSvm) return kVmmcall;
  return nullptr;
}

Status write_hypercall(GuestMemory& mem, uint64_t gpa, uint32_t backend) {
  const uint8_t* insn = hypercall_instruction(backend);
  if (!insn) return make_error(Errc::bad_argument, "unknown virtualization backend", gpa, backend);
  return mem.write(gpa, insn, 3);
}

// ---------------------------------------------------------------- ExitHandlers

void ExitHandlers::on(vm::ExitReason reason, ExitHandler fn, void* ctx) {
  int i = exit_reason_index(reason);
  if (i < 0) return;
  table_[i] = Entry{fn, ctx};
}

void ExitHandlers::on_unhandled(ExitHandler fn, void* ctx) { fallback_ = Entry{fn, ctx}; }

bool ExitHandlers::handles(vm::ExitReason reason) const {
  int i = exit_reason_index(reason);
  return (i >= 0 && table_[i].fn) || fallback_.fn;
}

Result<Action> ExitHandlers::dispatch(VcpuState& vcpu) const {
  vm::ExitReason reason = vcpu.exit_reason();
  int i = exit_reason_index(reason);
  Entry e = i >= 0 ? table_[i] : Entry{};
  if (!e.fn) e = fallback_;
  if (!e.fn)
    return make_error(Errc::unhandled_exit, exit_reason_name(reason), vcpu.rip(), static_cast<uint32_t>(reason));
  Action a = e.fn(vcpu, e.ctx);
  if (a == Action::skip) VMRT_TRY(vcpu.advance_rip());
  return a;
}

// ---------------------------------------------------------------- VcpuState

void VcpuState::attach(vm::StatePage* page, GuestMemory* mem) {
  page_ = page;
  mem_ = mem;
  dirty_ = 0;
  fresh_ = ~0ull;
}

uint64_t VcpuState::get(Reg r) const {
  const vm::Regs& g = page_->regs;
  switch (r) {
    case Reg::rax: return g.rax;
    case Reg::rcx: return g.rcx;
    case Reg::rdx: return g.rdx;
    case Reg::rbx: return g.rbx;
    case Reg::rsp: return g.rsp;
    case Reg::rbp: return g.rbp;
    case Reg::rsi: return g.rsi;
    case Reg::rdi: return g.rdi;
    case Reg::r8: return g.r8;
    case Reg::r9: return g.r9;
    case Reg::r10: return g.r10;
    case Reg::r11: return g.r11;
    case Reg::r12: return g.r12;
    case Reg::r13: return g.r13;
    case Reg::r14: return g.r14;
    case Reg::r15: return g.r15;
    case Reg::rip: return g.rip;
    case Reg::rflags: return g.rflags;
  }
  return 0;
}

void VcpuState::set(Reg r, uint64_t v) {
  vm::Regs& g = regs_mut();
  switch (r) {
    case Reg::rax: g.rax = v; break;
    case Reg::rcx: g.rcx = v; break;
    case Reg::rdx: g.rdx = v; break;
    case Reg::rbx: g.rbx = v; break;
    case Reg::rsp: g.rsp = v; break;
    case Reg::rbp: g.rbp = v; break;
    case Reg::rsi: g.rsi = v; break;
    case Reg::rdi: g.rdi = v; break;
    case Reg::r8: g.r8 = v; break;
    case Reg::r9: g.r9 = v; break;
    case Reg::r10: g.r10 = v; break;
    case Reg::r11: g.r11 = v; break;
    case Reg::r12: g.r12 = v; break;
    case Reg::r13: g.r13 = v; break;
    case Reg::r14: g.r14 = v; break;
    case Reg::r15: g.r15 = v; break;
    case Reg::rip: g.rip = v; break;
    case Reg::rflags: g.rflags = v; break;
  }
}

Status VcpuState::advance_rip() {
  const vm::Exit& e = page_->exit;
  if (e.instruction_length == 0)
    return make_error(Errc::no_instruction_length, "skipping the exiting instruction", rip(),
                      static_cast<uint32_t>(e.reason));
  uint64_t next = rip() + e.instruction_length;
  if ((fresh_ & Load::segments) && (fresh_ & Load::cr) && !long_mode_64())
    next &= (page_->cs.attr & kAttrDb) ? 0xffffffffull : 0xffffull;
  set(Reg::rip, next);
  return {};
}

const vm::Segment& VcpuState::segment(Seg s) const {
  switch (s) {
    case Seg::es: return page_->es;
    case Seg::cs: return page_->cs;
    case Seg::ss: return page_->ss;
    case Seg::ds: return page_->ds;
    case Seg::fs: return page_->fs;
    case Seg::gs: return page_->gs;
    case Seg::tr: return page_->tr;
    case Seg::ldtr: return page_->ldtr;
  }
  return page_->es;
}

void VcpuState::set_segment(Seg s, const vm::Segment& v) {
  const_cast<vm::Segment&>(segment(s)) = v;
  dirty_ |= Load::segments;
  fresh_ |= Load::segments;
}

uint64_t VcpuState::get(Cr c) const {
  switch (c) {
    case Cr::cr0: return page_->cr0;
    case Cr::cr2: return page_->cr2;
    case Cr::cr3: return page_->cr3;
    case Cr::cr4: return page_->cr4;
    case Cr::efer: return page_->efer;
    case Cr::dr7: return page_->dr7;
  }
  return 0;
}

void VcpuState::set(Cr c, uint64_t v) {
  switch (c) {
    case Cr::cr0: page_->cr0 = v; break;
    case Cr::cr2: page_->cr2 = v; break;
    case Cr::cr3: page_->cr3 = v; break;
    case Cr::cr4: page_->cr4 = v; break;
    case Cr::efer: page_->efer = v; break;
    case Cr::dr7: page_->dr7 = v; break;
  }
  dirty_ |= Load::cr;
  fresh_ |= Load::cr;
}

void VcpuState::set_gdtr(uint64_t base, uint32_t limit) {
  page_->gdtr.base = base;
  page_->gdtr.limit = limit;
  dirty_ |= Load::dtables;
  fresh_ |= Load::dtables;
}

void VcpuState::set_idtr(uint64_t base, uint32_t limit) {
  page_->idtr.base = base;
  page_->idtr.limit = limit;
  dirty_ |= Load::dtables;
  fresh_ |= Load::dtables;
}

uint64_t VcpuState::get(SyscallMsr m) const {
  switch (m) {
    case SyscallMsr::star: return page_->star;
    case SyscallMsr::lstar: return page_->lstar;
    case SyscallMsr::cstar: return page_->cstar;
    case SyscallMsr::sfmask: return page_->sfmask;
    case SyscallMsr::kernel_gs_base: return page_->kernel_gs_base;
    case SyscallMsr::sysenter_cs: return page_->sysenter_cs;
    case SyscallMsr::sysenter_esp: return page_->sysenter_esp;
    case SyscallMsr::sysenter_eip: return page_->sysenter_eip;
  }
  return 0;
}

void VcpuState::set(SyscallMsr m, uint64_t v) {
  switch (m) {
    case SyscallMsr::star: page_->star = v; break;
    case SyscallMsr::lstar: page_->lstar = v; break;
    case SyscallMsr::cstar: page_->cstar = v; break;
    case SyscallMsr::sfmask: page_->sfmask = v; break;
    case SyscallMsr::kernel_gs_base: page_->kernel_gs_base = v; break;
    case SyscallMsr::sysenter_cs: page_->sysenter_cs = v; break;
    case SyscallMsr::sysenter_esp: page_->sysenter_esp = v; break;
    case SyscallMsr::sysenter_eip: page_->sysenter_eip = v; break;
  }
  dirty_ |= Load::syscall_msrs;
  fresh_ |= Load::syscall_msrs;
}

void VcpuState::set_exception_bitmap(uint32_t bitmap) {
  page_->exception_bitmap = bitmap;
  dirty_ |= Load::intercepts;
}

void VcpuState::set_intercept_flags(uint32_t flags) {
  page_->intercept_flags = flags;
  dirty_ |= Load::intercepts;
}

void VcpuState::set_interrupt_shadow(bool on) {
  page_->interrupt_shadow = on ? 1 : 0;
  dirty_ |= Load::interruptibility;
  fresh_ |= Load::interruptibility;
}

void VcpuState::request_interrupt_window(bool on) {
  if (on)
    page_->request |= vm::Request::interrupt_window;
  else
    page_->request &= ~vm::Request::interrupt_window;
}

void VcpuState::queue_event(uint32_t vector, vm::EventType type, bool has_error_code, uint32_t error_code) {
  page_->inject.vector = vector;
  page_->inject.type = type;
  page_->inject.has_error_code = has_error_code ? 1 : 0;
  page_->inject.error_code = error_code;
  dirty_ |= Load::inject;
}

bool VcpuState::long_mode_64() const { return (page_->efer & kEferLma) && (page_->cs.attr & kAttrL); }

Result<Translation> VcpuState::translate(uint64_t gva, uint32_t access) const {
  if (!mem_) return make_error(Errc::not_created, "translate: no guest memory attached");
  if (!(fresh_ & Load::cr))
    return make_error(Errc::stale_state, "translate: control registers", 0, Load::cr);
  return vmrt::translate(*mem_, paging_regs(), gva, access);
}

Result<uint64_t> VcpuState::linear(Seg s, uint64_t offset) const {
  uint64_t need = Load::segments | Load::cr;
  if ((fresh_ & need) != need) return make_error(Errc::stale_state, "linear address", 0, need & ~fresh_);
  if (long_mode_64()) {
    if (s == Seg::fs || s == Seg::gs) return segment(s).base + offset;
    return offset;
  }
  return (segment(s).base + offset) & 0xffffffffull;
}

// ---------------------------------------------------------------- stock handlers

namespace handlers {

Action skip(VcpuState&, void*) { return Action::skip; }
Action resume(VcpuState&, void*) { return Action::resume; }
Action stop(VcpuState&, void*) { return Action::stop; }

Action io_unassigned(VcpuState& v, void*) {
  auto r = emulate_io(v, PortIo{});  // null callbacks: reads all ones, writes dropped
  if (!r) return Action::stop;
  return io_action(r.value().outcome);
}

Action msr_inject_gp(VcpuState& v, void*) {
  v.queue_event(13, vm::EventType::exception, true, 0);
  return Action::resume;
}

}  // namespace handlers

}  // namespace vmrt
