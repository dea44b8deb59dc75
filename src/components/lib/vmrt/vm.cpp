// vmrt VMs, guest RAM and the capability environment (component only).
#include "vmrt/vm.hpp"

#include "runtime/cos.hpp"

namespace vmrt {
namespace {

namespace sys = cos::sys;
namespace Rights = cos::abi::Rights;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kLargeBytes = cos::abi::kLargePageBytes, kLargePages = cos::abi::kLargePagePages;
constexpr uint64_t kMaxFramePages = 1ull << 20;  // retype(frame): at most 4 GiB

/// Slots in a component's capability table as built by the booter.
constexpr uint64_t kComponentSlots = 256;

}  // namespace

// ---------------------------------------------------------------- Env

Result<uint64_t> Env::reserve_window(uint64_t bytes) {
  uint64_t size = (bytes + kPage - 1) & ~(kPage - 1);
  if (size == 0 || size > window_end - window_next || window_end - window_next - size < kPage)
    return make_error(Errc::window_full, "reserving VMM window space", window_next, bytes);
  uint64_t hva = window_next;
  window_next += size + kPage;  // guard page
  return hva;
}

Status Env::map_into_window(uint64_t hva, uint64_t frame_slot, uint64_t first, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    int64_t r = sys::pgtbl_map(pgtbl, hva + i * kPage, frame_slot, first + i, Rights::read | Rights::write,
                               window_untyped());
    if (r < 0) {
      unmap_window(hva, i);
      return sys_error("pgtbl_map (VMM window)", r, hva + i * kPage);
    }
  }
  return {};
}

void Env::unmap_window(uint64_t hva, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) sys::pgtbl_unmap(pgtbl, hva + i * kPage);
}

Result<Env*> default_env() {
  static Env env;
  static bool ready = false;
  if (!ready) {
    const cos::boot::CompInfo& me = cos::self();
    if (!me.untyped_slot || !me.pgtbl_slot)
      return make_error(Errc::not_created,
                        "vmrt needs untyped memory and caps = [\"pgtbl\"] in the composition script");
    env.untyped = me.untyped_slot;
    env.pgtbl = me.pgtbl_slot;
    env.slots.init(me.first_free_slot, kComponentSlots);
    ready = true;
  }
  return &env;
}

// ---------------------------------------------------------------- Vm

Status Vm::create(Env* env) {
  if (slot_) return make_error(Errc::bad_argument, "Vm::create: already created");
  if (!env) {
    auto e = default_env();
    if (!e) return e.error();
    env = e.value();
  }
  auto s = env->slots.alloc();
  if (!s) return s.error();
  int64_t r = sys::vm_create(env->untyped, s.value());
  if (r < 0) {
    env->slots.free(s.value());
    return sys_error("retype(vm)", r);
  }
  env_ = env;
  slot_ = s.value();
  return {};
}

const Vm::Chunk* Vm::chunk_of(uint64_t gpa) const {
  for (unsigned i = 0; i < chunk_count_; ++i) {
    const Chunk& c = chunks_[i];
    if (gpa >= c.gpa && gpa - c.gpa < c.pages * kPage) return &c;
  }
  return nullptr;
}

Status Vm::add_ram(uint64_t gpa, uint64_t bytes, uint64_t rights) {
  if (!slot_) return make_error(Errc::not_created, "Vm::add_ram before create");
  if (bytes == 0 || ((gpa | bytes) & (kPage - 1)) || gpa + bytes < gpa || gpa + bytes > cos::abi::kGuestPhysTop)
    return make_error(Errc::bad_argument, "Vm::add_ram: range", gpa, bytes);
  for (unsigned i = 0; i < mem_.region_count(); ++i) {
    const Region& reg = mem_.region(i);
    if (gpa < reg.gpa + reg.size && reg.gpa < gpa + bytes)
      return make_error(Errc::region_overlap, "Vm::add_ram", gpa, bytes);
  }
  if (mem_.region_count() == GuestMemory::kMaxRegions)
    return make_error(Errc::too_many_regions, "Vm::add_ram", gpa);
  auto w = env_->reserve_window(bytes);
  if (!w) return w.error();
  const uint64_t hva = w.value();
  const unsigned first_chunk = chunk_count_;
  const uint64_t pages = bytes / kPage;
  // One frame holds at most kMaxFramePages (retype's limit).
  uint64_t done = 0, max_chunk = pages < kMaxFramePages ? pages : kMaxFramePages;
  Error err{};
  bool failed = false;
  while (done < pages && !failed) {
    if (chunk_count_ == kMaxChunks) {
      err = make_error(Errc::too_many_regions, "Vm::add_ram: RAM chunks", gpa + done * kPage);
      failed = true;
      break;
    }
    uint64_t n = pages - done < max_chunk ? pages - done : max_chunk;
    auto s = env_->slots.alloc();
    if (!s) {
      err = s.error();
      failed = true;
      break;
    }
    int64_t r = sys::retype(env_->untyped, s.value(), cos::abi::ObjType::frame, n);
    if (r == static_cast<int64_t>(cos::abi::Error::out_of_memory) && n > 1) {
      // Fragmented untyped memory: try smaller contiguous pieces.
      env_->slots.free(s.value());
      max_chunk = n / 2;
      continue;
    }
    if (r < 0) {
      env_->slots.free(s.value());
      err = sys_error("retype(frame) for guest RAM", r, gpa + done * kPage);
      failed = true;
      break;
    }
    Chunk& c = chunks_[chunk_count_++];
    c = Chunk{gpa + done * kPage, 0, s.value(), hva + done * kPage};
    // Every 2 MiB-aligned stretch of 512 pages is one 2 MiB guest mapping
    // when the frame's host pages line up (the kernel places frames of 2 MiB
    // or more on a 2 MiB boundary when it can); the rest are 4 KiB pages.
    bool try_large = large_pages_;
    for (uint64_t p = 0; p < n && !failed;) {
      uint64_t g = c.gpa + p * kPage, step = 1;
      if (try_large && (g & (kLargeBytes - 1)) == 0 && n - p >= kLargePages) {
        r = sys::vm_map(slot_, g, c.frame, p, rights | cos::abi::kVmMapLarge, env_->untyped);
        if (r == 0) {
          step = kLargePages;
        } else {
          try_large = r != static_cast<int64_t>(cos::abi::Error::unaligned);  // the same for the whole frame
        }
      }
      if (step == 1 && (r = sys::vm_map(slot_, g, c.frame, p, rights, env_->untyped)) < 0) {
        err = sys_error("vm_map", r, g);
        failed = true;
        break;
      }
      for (uint64_t k = 0; k < step; ++k) {
        r = sys::pgtbl_map(env_->pgtbl, c.hva + (p + k) * kPage, c.frame, p + k, Rights::read | Rights::write,
                           env_->window_untyped());
        if (r < 0) {
          sys::vm_unmap(slot_, g);
          env_->unmap_window(c.hva + p * kPage, k);
          err = sys_error("pgtbl_map (VMM window)", r, c.hva + (p + k) * kPage);
          failed = true;
          break;
        }
      }
      if (failed) break;
      ++(step == 1 ? small_maps_ : large_maps_);
      p += step;
      c.pages = p;
    }
    done += c.pages;
  }
  if (!failed) {
    auto a = mem_.add_region(gpa, bytes, reinterpret_cast<uint8_t*>(hva), static_cast<uint32_t>(rights));
    if (a) return {};
    err = a.error();
  }
  // Undo this call's chunks.
  while (chunk_count_ > first_chunk) {
    Chunk& c = chunks_[--chunk_count_];
    for (uint64_t p = 0; p < c.pages;) {
      int64_t r = sys::vm_unmap(slot_, c.gpa + p * kPage);
      p += r > 0 ? static_cast<uint64_t>(r) : 1;  // 512 for a 2 MiB mapping
    }
    env_->unmap_window(c.hva, c.pages);
    sys::cap_delete(c.frame);
    env_->slots.free(c.frame);
    c = Chunk{};
  }
  return err;
}

Status Vm::unmap(uint64_t gpa, uint64_t bytes) {
  if (bytes == 0 || ((gpa | bytes) & (kPage - 1))) return make_error(Errc::bad_argument, "Vm::unmap: range", gpa, bytes);
  if (!mem_.contains(gpa, bytes)) return make_error(Errc::not_ram, "Vm::unmap", gpa, bytes);
  for (uint64_t off = 0; off < bytes;) {
    const uint64_t g = gpa + off;
    int64_t r = sys::vm_unmap(slot_, g);
    if (r < 0) return sys_error("vm_unmap", r, g);
    if (r == 1) {
      off += kPage;
      continue;
    }
    // A 2 MiB mapping went away whole: map the pages of it outside the
    // range back, as 4 KiB pages with the region's rights.
    const uint64_t base = g & ~(kLargeBytes - 1), end = base + kLargeBytes;
    const uint32_t rights = mem_.find(g)->rights;
    for (uint64_t q = base; q < end; q += kPage)
      if (q < gpa || q >= gpa + bytes) VMRT_TRY(map_pages(q, kPage, rights));
    off = (end < gpa + bytes ? end : gpa + bytes) - gpa;
  }
  return {};
}

Status Vm::map_pages(uint64_t gpa, uint64_t bytes, uint64_t rights) {
  for (uint64_t off = 0; off < bytes; off += kPage) {
    const Chunk* c = chunk_of(gpa + off);
    if (!c) return make_error(Errc::not_ram, "Vm::map", gpa + off);
    int64_t r = sys::vm_map(slot_, gpa + off, c->frame, (gpa + off - c->gpa) / kPage, rights, env_->untyped);
    if (r < 0) return sys_error("vm_map", r, gpa + off);
  }
  return {};
}

Status Vm::map(uint64_t gpa, uint64_t bytes, uint64_t rights) {
  if (bytes == 0 || ((gpa | bytes) & (kPage - 1))) return make_error(Errc::bad_argument, "Vm::map: range", gpa, bytes);
  if (!mem_.contains(gpa, bytes)) return make_error(Errc::not_ram, "Vm::map", gpa, bytes);
  return map_pages(gpa, bytes, rights);
}

Status Vm::protect(uint64_t gpa, uint64_t bytes, uint64_t rights) {
  VMRT_TRY(unmap(gpa, bytes));
  return map_pages(gpa, bytes, rights);
}

Status Vm::destroy() {
  if (!slot_) return make_error(Errc::not_created, "Vm::destroy");
  Status result;
  int64_t r = sys::cap_delete(slot_);
  if (r < 0) result = sys_error("cap_delete(vm)", r);
  env_->slots.free(slot_);
  slot_ = 0;
  while (chunk_count_ > 0) {
    Chunk& c = chunks_[--chunk_count_];
    env_->unmap_window(c.hva, c.pages);
    r = sys::cap_delete(c.frame);
    if (r < 0 && result) result = sys_error("cap_delete(guest RAM frame)", r);
    env_->slots.free(c.frame);
    c = Chunk{};
  }
  while (mem_.region_count() > 0) (void)mem_.remove_region(mem_.region(0).gpa);
  return result;
}

}  // namespace vmrt
