// vmrt error names and formatting (host-compilable).
#include "vmrt/error.hpp"

#include "cos/abi.hpp"
#include "fmt/format.hpp"

namespace vmrt {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::ok: return "ok";
    case Errc::syscall: return "syscall";
    case Errc::out_of_slots: return "out_of_slots";
    case Errc::window_full: return "window_full";
    case Errc::bad_argument: return "bad_argument";
    case Errc::too_many_regions: return "too_many_regions";
    case Errc::region_overlap: return "region_overlap";
    case Errc::not_ram: return "not_ram";
    case Errc::page_fault: return "page_fault";
    case Errc::non_canonical: return "non_canonical";
    case Errc::stale_state: return "stale_state";
    case Errc::bad_state_page: return "bad_state_page";
    case Errc::unhandled_exit: return "unhandled_exit";
    case Errc::no_instruction_length: return "no_instruction_length";
    case Errc::timeout: return "timeout";
    case Errc::not_created: return "not_created";
    case Errc::no_memory: return "no_memory";
    case Errc::guest_fault: return "guest_fault";
  }
  return "unknown";
}

const char* abi_error_name(int64_t sys) {
  const char* n = cos::abi::error_name(sys);
  return *n ? n : "unknown";
}

size_t Error::format(char* buf, size_t cap) const {
  const char* w = what && *what ? what : "vmrt";
  switch (code) {
    case Errc::ok:
      return cos::fmt::snformat(buf, cap, "%s: ok", w);
    case Errc::syscall:
      if (addr)
        return cos::fmt::snformat(buf, cap, "%s failed: %s (error %ld) at 0x%lx", w, abi_error_name(sys),
                                  static_cast<long>(sys), static_cast<unsigned long>(addr));
      return cos::fmt::snformat(buf, cap, "%s failed: %s (error %ld)", w, abi_error_name(sys),
                                static_cast<long>(sys));
    case Errc::page_fault:
      return cos::fmt::snformat(buf, cap, "%s: page fault at guest-virtual 0x%lx (error code 0x%lx)", w,
                                static_cast<unsigned long>(addr), static_cast<unsigned long>(detail));
    case Errc::unhandled_exit:
    case Errc::no_instruction_length:
      return cos::fmt::snformat(buf, cap, "%s: %s (exit reason %lu) at rip 0x%lx", w, errc_name(code),
                                static_cast<unsigned long>(detail), static_cast<unsigned long>(addr));
    case Errc::stale_state:
      return cos::fmt::snformat(buf, cap, "%s: %s (state groups 0x%lx not saved on the last exit)", w,
                                errc_name(code), static_cast<unsigned long>(detail));
    default:
      if (addr || detail)
        return cos::fmt::snformat(buf, cap, "%s: %s (0x%lx, 0x%lx)", w, errc_name(code),
                                  static_cast<unsigned long>(addr), static_cast<unsigned long>(detail));
      return cos::fmt::snformat(buf, cap, "%s: %s", w, errc_name(code));
  }
}

}  // namespace vmrt
