// Shared fixture for the vmrt emulator tests (string I/O, MMIO, MSRs): a
// state page and 1 MiB of guest RAM on the host, helpers to put the vCPU in
// real, 32-bit protected or 64-bit long mode, to place instruction bytes
// and to fake the kernel's exit reports.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "unit/vmrt_test_util.hpp"
#include "vmrt/guest_access.hpp"
#include "vmrt/modes.hpp"
#include "vmrt/paging.hpp"
#include "vmrt/vcpu_state.hpp"

namespace vmrt_test {

namespace vm = cos::vm;

/// Bytes from "f3 6c 90" (whitespace-separated hex).
inline std::vector<uint8_t> hex(const std::string& s) {
  std::vector<uint8_t> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size()) break;
    out.push_back(static_cast<uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
    i += 2;
  }
  return out;
}

class CpuFixture : public ::testing::Test {
 protected:
  static constexpr uint64_t kRam = 0x100000;          // guest RAM [0, 1 MiB)
  static constexpr uint64_t kGdt = 0xa000;            // GDT + TSS page
  static constexpr uint64_t kTables = 0x10000;        // page-table pool (64 KiB)
  static constexpr uint64_t kHighGva = 0x40000000;    // 64-bit: one mapped page here ...
  static constexpr uint64_t kHighGpa = 0x30000;       // ... backed by this RAM page
  static constexpr uint64_t kTopGpa = 0x31000;        // 64-bit: gva 0xfffff000 -> here
  static constexpr uint64_t kIdentity = 0x400000;     // 64-bit: [0, 4 MiB) identity-mapped

  void SetUp() override {
    page = std::make_unique<vm::StatePage>();
    std::memset(page.get(), 0, sizeof(vm::StatePage));
    page->magic = vm::kStateMagic;
    page->backend = vm::kBackendVmx;
    ASSERT_TRUE(g.add(0, kRam));
    v.attach(page.get(), &g.mem);
  }

  void real_mode(uint16_t cs = 0, uint16_t ds = 0) {
    vmrt::setup_real_mode(v, {cs, 0, ds, 0, 0x7000});
    v.set_save_mask(vm::Load::cr | vm::Load::segments);
  }
  void protected_mode() {
    ASSERT_TRUE(vmrt::setup_protected_mode(v, g.mem, {0, 0x7000, kGdt, 0, false}).ok());
    v.set_save_mask(vm::Load::cr | vm::Load::segments);
  }
  /// 64-bit mode: [0, 4 MiB) identity-mapped (RAM and beyond), kHighGva -> kHighGpa and
  /// 0xfffff000 -> kTopGpa (one page each), nothing else.
  void long_mode() {
    vmrt::PageTableBuilder pt(g.mem, kTables, 0x10000);
    ASSERT_TRUE(pt.map(0, 0, kIdentity).ok());
    ASSERT_TRUE(pt.map(kHighGva, kHighGpa, 0x1000).ok());
    ASSERT_TRUE(pt.map(0xfffff000, kTopGpa, 0x1000).ok());
    auto cr3 = pt.root();
    ASSERT_TRUE(cr3.ok());
    ASSERT_TRUE(vmrt::setup_long_mode(v, g.mem, {0, 0x7000, kGdt, cr3.value(), true, false}).ok());
    v.set_save_mask(vm::Load::cr | vm::Load::segments);
  }
  /// Writes instruction bytes at guest-physical gpa.
  void code(uint64_t gpa, const std::string& bytes) {
    auto b = hex(bytes);
    ASSERT_TRUE(g.mem.write(gpa, b.data(), b.size()).ok());
  }
  /// Pretends the kernel delivered an exit at `rip`.
  void exit_at(vm::ExitReason reason, uint32_t length, uint64_t rip) {
    page->exit.reason = reason;
    page->exit.instruction_length = length;
    page->regs.rip = rip;
    v.note_exit();
    (void)v.take_dirty();
  }
  void io_exit(uint16_t port, uint8_t size, bool in, bool string, bool rep, uint32_t length, uint64_t rip,
               uint32_t data = 0) {
    page->exit.io = {};
    page->exit.io.port = port;
    page->exit.io.size = size;
    page->exit.io.in = in;
    page->exit.io.string = string;
    page->exit.io.rep = rep;
    page->exit.io.data = data;
    exit_at(vm::ExitReason::io, length, rip);
  }
  void gpa_exit(uint64_t gpa, uint32_t access, uint64_t rip) {
    page->exit.gpa = {};
    page->exit.gpa.gpa = gpa;
    page->exit.gpa.access = access;
    exit_at(vm::ExitReason::gpa_fault, 0, rip);
  }
  uint8_t byte_at(uint64_t gpa) {
    uint8_t b = 0;
    EXPECT_TRUE(g.mem.read(gpa, &b, 1).ok());
    return b;
  }
  /// True if the page holds an injected exception `vector` (Load::inject dirty).
  bool injected(uint8_t vector) const {
    return (v.dirty() & vm::Load::inject) && page->inject.vector == vector &&
           page->inject.type == vm::EventType::exception;
  }

  std::unique_ptr<vm::StatePage> page;
  HostGuestMemory g;
  vmrt::VcpuState v;
};

/// A device on the PhysBus: records accesses; reads return `value`.
struct FakeBus {
  struct Access {
    uint64_t gpa;
    unsigned size;
    bool write;
    uint64_t value;
  };
  uint64_t base = 0, size = 0;  ///< the range it answers; outside it: not there
  uint64_t value = 0x1122334455667788ull;
  std::vector<Access> log;

  vmrt::PhysBus bus() {
    vmrt::PhysBus b;
    b.ctx = this;
    b.read = [](void* c, uint64_t gpa, unsigned n, uint64_t& out) {
      auto* f = static_cast<FakeBus*>(c);
      if (gpa < f->base || gpa >= f->base + f->size) return false;
      f->log.push_back({gpa, n, false, 0});
      out = f->value;
      return true;
    };
    b.write = [](void* c, uint64_t gpa, unsigned n, uint64_t val) {
      auto* f = static_cast<FakeBus*>(c);
      if (gpa < f->base || gpa >= f->base + f->size) return false;
      f->log.push_back({gpa, n, true, val});
      return true;
    };
    return b;
  }
};

}  // namespace vmrt_test
