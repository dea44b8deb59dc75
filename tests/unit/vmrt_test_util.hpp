// Shared fixtures for the vmrt unit tests: guest memory backed by host buffers.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "vmrt/guest_memory.hpp"

namespace vmrt_test {

/// A GuestMemory whose regions are page-aligned host buffers owned here.
struct HostGuestMemory {
  vmrt::GuestMemory mem;
  std::vector<std::unique_ptr<uint8_t[]>> buffers;

  /// Adds a zeroed region; returns its host pointer (nullptr if add_region failed).
  uint8_t* add(uint64_t gpa, uint64_t size, uint32_t rights = 7) {
    auto buf = std::make_unique<uint8_t[]>(size + 4096);
    auto* aligned = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(buf.get()) + 4095) & ~uintptr_t(4095));
    std::memset(aligned, 0, size);
    if (!mem.add_region(gpa, size, aligned, rights)) return nullptr;
    buffers.push_back(std::move(buf));
    return aligned;
  }
};

}  // namespace vmrt_test
