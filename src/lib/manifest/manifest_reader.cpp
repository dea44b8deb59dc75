// Boot manifest reader: all validation happens in Reader::open; accessors
// then read without further checks beyond index ranges.
#include "manifest/manifest_reader.hpp"

#include "manifest/crc32.hpp"
#include "manifest/format.hpp"
#include "cos/limits.hpp"

namespace cos::manifest {
namespace {

namespace f = format;
static_assert((kCapCaptbl | kCapPgtbl | kCapComp) == f::caps_mask_all);

uint16_t load16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t load32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
uint64_t load64(const uint8_t* p) { return uint64_t(load32(p)) | (uint64_t(load32(p + 4)) << 32); }

constexpr Str empty_str() { return Str{"", 0}; }

// A table of `count` records of `record_size` bytes at `offset` must lie after
// the header and inside the manifest.
bool table_ok(uint32_t offset, uint32_t count, uint32_t record_size, uint32_t total) {
  const uint64_t bytes = uint64_t(count) * record_size;
  return offset >= f::header_size && offset <= total && bytes <= uint64_t(total) - offset;
}

// A string reference must lie inside the pool, be NUL-terminated there and
// contain no NUL itself.
bool strref_ok(const uint8_t* ref, const uint8_t* pool, uint32_t pool_size) {
  const uint32_t off = load32(ref), len = load32(ref + 4);
  if (uint64_t(off) + len >= pool_size) return false;
  for (uint32_t i = 0; i < len; ++i)
    if (pool[off + i] == 0) return false;
  return pool[off + len] == 0;
}

// Everything open() learned from the header.
struct Layout {
  uint32_t total, comps, comps_off, impls, impls_off, deps, deps_off, params, params_off, ioports, ioports_off,
      irqs, irqs_off, blobs, blobs_off, chans, chans_off, str_off, str_size;
};

Error check_header(const uint8_t* d, size_t size, Layout& l) {
  // The version is checked before the full header size, so a manifest of
  // another version (whose header may be shorter) is reported as such.
  if (d == nullptr || size < f::version_prefix_size) return Error::too_small;
  if (load32(d + f::h_magic) != f::magic) return Error::bad_magic;
  if (load16(d + f::h_version) != f::version || load16(d + f::h_header_size) != f::header_size)
    return Error::bad_version;
  if (size < f::header_size) return Error::too_small;
  l.total = load32(d + f::h_total_size);
  if (l.total < f::header_size || l.total > size) return Error::bad_size;

  const uint8_t zero[4] = {0, 0, 0, 0};
  uint32_t crc = crc32(d, f::h_checksum);
  crc = crc32(zero, sizeof zero, crc);
  crc = crc32(d + f::h_checksum + 4, l.total - (f::h_checksum + 4), crc);
  if (crc != load32(d + f::h_checksum)) return Error::bad_checksum;

  l.comps = load32(d + f::h_component_count);
  l.comps_off = load32(d + f::h_components_offset);
  l.impls = load32(d + f::h_implements_count);
  l.impls_off = load32(d + f::h_implements_offset);
  l.deps = load32(d + f::h_deps_count);
  l.deps_off = load32(d + f::h_deps_offset);
  l.params = load32(d + f::h_params_count);
  l.params_off = load32(d + f::h_params_offset);
  l.ioports = load32(d + f::h_ioports_count);
  l.ioports_off = load32(d + f::h_ioports_offset);
  l.irqs = load32(d + f::h_irqs_count);
  l.irqs_off = load32(d + f::h_irqs_offset);
  l.blobs = load32(d + f::h_blobs_count);
  l.blobs_off = load32(d + f::h_blobs_offset);
  l.chans = load32(d + f::h_channels_count);
  l.chans_off = load32(d + f::h_channels_offset);
  l.str_off = load32(d + f::h_strings_offset);
  l.str_size = load32(d + f::h_strings_size);
  return Error::ok;
}

Error check_tables(const uint8_t* d, const Layout& l) {
  if (!table_ok(l.comps_off, l.comps, f::component_size, l.total) ||
      !table_ok(l.impls_off, l.impls, f::implements_size, l.total) ||
      !table_ok(l.deps_off, l.deps, f::dep_size, l.total) ||
      !table_ok(l.params_off, l.params, f::param_size, l.total) ||
      !table_ok(l.ioports_off, l.ioports, f::ioport_size, l.total) ||
      !table_ok(l.irqs_off, l.irqs, f::irq_size, l.total) ||
      !table_ok(l.blobs_off, l.blobs, f::blob_size, l.total) ||
      !table_ok(l.chans_off, l.chans, f::channel_size, l.total) ||
      !table_ok(l.str_off, l.str_size, 1, l.total))
    return Error::bad_offset;

  for (uint32_t i = 0; i < l.comps; ++i) {
    const uint8_t* c = d + l.comps_off + uint64_t(i) * f::component_size;
    if (uint64_t(load32(c + f::c_implements_first)) + load32(c + f::c_implements_count) > l.impls ||
        uint64_t(load32(c + f::c_deps_first)) + load32(c + f::c_deps_count) > l.deps ||
        uint64_t(load32(c + f::c_params_first)) + load32(c + f::c_params_count) > l.params ||
        uint64_t(load32(c + f::c_ioports_first)) + load32(c + f::c_ioports_count) > l.ioports ||
        uint64_t(load32(c + f::c_irqs_first)) + load32(c + f::c_irqs_count) > l.irqs ||
        uint64_t(load32(c + f::c_blobs_first)) + load32(c + f::c_blobs_count) > l.blobs)
      return Error::bad_offset;
  }
  for (uint32_t i = 0; i < l.deps; ++i) {
    const uint8_t* dep = d + l.deps_off + uint64_t(i) * f::dep_size;
    const uint32_t server = load32(dep + f::d_server);
    if (server >= l.comps) return Error::bad_offset;
    const uint8_t* s = d + l.comps_off + uint64_t(server) * f::component_size;
    if (load32(dep + f::d_token) >= load32(s + f::c_implements_count)) return Error::bad_offset;
  }
  for (uint32_t i = 0; i < l.chans; ++i) {
    const uint8_t* ch = d + l.chans_off + uint64_t(i) * f::channel_size;
    if (load32(ch + f::ch_end0) >= l.comps || load32(ch + f::ch_end1) >= l.comps) return Error::bad_offset;
  }
  return Error::ok;
}

Error check_strings(const uint8_t* d, const Layout& l) {
  const uint8_t* pool = d + l.str_off;
  if (!strref_ok(d + f::h_system_name, pool, l.str_size)) return Error::bad_string;
  for (uint32_t i = 0; i < l.comps; ++i) {
    const uint8_t* c = d + l.comps_off + uint64_t(i) * f::component_size;
    if (!strref_ok(c + f::c_name, pool, l.str_size) || !strref_ok(c + f::c_image, pool, l.str_size) ||
        !strref_ok(c + f::c_guest_cmdline, pool, l.str_size))
      return Error::bad_string;
  }
  for (uint32_t i = 0; i < l.impls; ++i)
    if (!strref_ok(d + l.impls_off + uint64_t(i) * f::implements_size, pool, l.str_size))
      return Error::bad_string;
  for (uint32_t i = 0; i < l.deps; ++i)
    if (!strref_ok(d + l.deps_off + uint64_t(i) * f::dep_size + f::d_interface, pool, l.str_size))
      return Error::bad_string;
  for (uint32_t i = 0; i < l.params; ++i) {
    const uint8_t* p = d + l.params_off + uint64_t(i) * f::param_size;
    if (!strref_ok(p + f::p_key, pool, l.str_size) || !strref_ok(p + f::p_value, pool, l.str_size))
      return Error::bad_string;
  }
  for (uint32_t i = 0; i < l.blobs; ++i) {
    const uint8_t* b = d + l.blobs_off + uint64_t(i) * f::blob_size;
    if (!strref_ok(b + f::b_name, pool, l.str_size) || !strref_ok(b + f::b_module, pool, l.str_size))
      return Error::bad_string;
  }
  for (uint32_t i = 0; i < l.chans; ++i)
    if (!strref_ok(d + l.chans_off + uint64_t(i) * f::channel_size + f::ch_name, pool, l.str_size))
      return Error::bad_string;
  return Error::ok;
}

// Grants: untyped sizes (and guest RAM sizes) in whole pages, only known capability bits, I/O-port
// ranges non-empty and below 0x10000, IRQ lines valid, not the cascade, and
// each in the whole table at most once (a line belongs to one component).
Error check_grants(const uint8_t* d, const Layout& l) {
  for (uint32_t i = 0; i < l.comps; ++i) {
    const uint8_t* c = d + l.comps_off + uint64_t(i) * f::component_size;
    if (load64(c + f::c_untyped_bytes) % 4096 != 0 || (load32(c + f::c_caps_mask) & ~f::caps_mask_all) != 0 ||
        load64(c + f::c_guest_ram_bytes) % 4096 != 0 || load16(c + f::c_priority_ceiling) > 255 ||
        load16(c + f::c_guest_kind) > f::guest_kind_multiboot ||
        ((load32(c + f::c_flags) & f::flag_cpu_mask) >> f::flag_cpu_shift) >= cos_limits::kMaxCpus)
      return Error::bad_value;
  }
  for (uint32_t i = 0; i < l.ioports; ++i) {
    const uint8_t* r = d + l.ioports_off + uint64_t(i) * f::ioport_size;
    const uint32_t first = load32(r + f::io_first), count = load32(r + f::io_count);
    if (count == 0 || first >= f::ioport_limit || count > f::ioport_limit - first) return Error::bad_value;
  }
  uint32_t seen = 0;
  for (uint32_t i = 0; i < l.irqs; ++i) {
    const uint32_t line = load32(d + l.irqs_off + uint64_t(i) * f::irq_size + f::q_line);
    if (line >= f::irq_lines || line == f::irq_cascade || (seen & (1u << line)) != 0) return Error::bad_value;
    seen |= 1u << line;
  }
  // Channels: whole pages within the limits, between two distinct
  // components, neither of them the booter (check_tables checked the indices).
  for (uint32_t i = 0; i < l.chans; ++i) {
    const uint8_t* ch = d + l.chans_off + uint64_t(i) * f::channel_size;
    const uint64_t bytes = load64(ch + f::ch_bytes);
    const uint32_t e0 = load32(ch + f::ch_end0), e1 = load32(ch + f::ch_end1);
    if (bytes % 4096 != 0 || bytes < f::channel_min_bytes || bytes > f::channel_max_bytes || e0 == e1)
      return Error::bad_value;
    const uint32_t flags0 = load32(d + l.comps_off + uint64_t(e0) * f::component_size + f::c_flags);
    const uint32_t flags1 = load32(d + l.comps_off + uint64_t(e1) * f::component_size + f::c_flags);
    if (((flags0 | flags1) & f::flag_constructed_by_kernel) != 0) return Error::bad_value;
  }
  return Error::ok;
}

}  // namespace

bool Str::equals(const char* cstr) const {
  if (cstr == nullptr) return false;
  for (uint32_t i = 0; i < size; ++i)
    if (cstr[i] != data[i]) return false;  // also stops at a shorter cstr's NUL
  return cstr[size] == 0;
}

const char* error_string(Error e) {
  switch (e) {
    case Error::ok: return "ok";
    case Error::too_small: return "manifest too small for its header";
    case Error::bad_magic: return "not a cos boot manifest (bad magic)";
    case Error::bad_version: return "unsupported manifest version";
    case Error::bad_size: return "manifest size field invalid or manifest truncated";
    case Error::bad_checksum: return "manifest checksum mismatch (corrupted)";
    case Error::bad_offset: return "manifest table or index out of bounds";
    case Error::bad_string: return "manifest string reference invalid";
    case Error::bad_value:
      return "manifest grant out of range (untyped size, capabilities, I/O ports, IRQs, guest RAM size or channel)";
  }
  return "unknown error";
}

Error Reader::open(const void* data, size_t size, Reader& out) {
  const auto* d = static_cast<const uint8_t*>(data);
  Layout l{};
  Error e = check_header(d, size, l);
  if (e == Error::ok) e = check_tables(d, l);
  if (e == Error::ok) e = check_strings(d, l);
  if (e == Error::ok) e = check_grants(d, l);
  if (e != Error::ok) return e;

  out.base_ = d;
  out.total_size_ = l.total;
  out.component_count_ = l.comps;
  out.components_offset_ = l.comps_off;
  out.implements_offset_ = l.impls_off;
  out.deps_offset_ = l.deps_off;
  out.params_offset_ = l.params_off;
  out.ioports_offset_ = l.ioports_off;
  out.irqs_offset_ = l.irqs_off;
  out.blobs_offset_ = l.blobs_off;
  out.channel_count_ = l.chans;
  out.channels_offset_ = l.chans_off;
  out.strings_offset_ = l.str_off;
  out.strings_size_ = l.str_size;
  return Error::ok;
}

uint16_t Reader::u16(uint32_t offset) const { return load16(base_ + offset); }
uint32_t Reader::u32(uint32_t offset) const { return load32(base_ + offset); }
uint64_t Reader::u64(uint32_t offset) const { return load64(base_ + offset); }

Str Reader::str_at(uint32_t ref) const {
  return Str{reinterpret_cast<const char*>(base_ + strings_offset_ + u32(ref)), u32(ref + 4)};
}

Str Reader::system_name() const {
  if (base_ == nullptr) return empty_str();
  return str_at(f::h_system_name);
}

ComponentView Reader::component(uint32_t i) const {
  if (i >= component_count_)
    return ComponentView{empty_str(), empty_str(), 0, 0, 0, 0, 0, 0, 0, false, 0, 0, false, false, 0, 0, 0, 0, empty_str(),
                         0, false, 0, false};
  const uint32_t c = components_offset_ + i * f::component_size;
  const uint32_t flags = u32(c + f::c_flags);
  return ComponentView{
      str_at(c + f::c_name),
      str_at(c + f::c_image),
      u32(c + f::c_priority),
      u64(c + f::c_heap_bytes),
      u64(c + f::c_stack_bytes),
      u64(c + f::c_sinv_entry),
      u32(c + f::c_implements_count),
      u32(c + f::c_deps_count),
      u32(c + f::c_params_count),
      (flags & f::flag_constructed_by_kernel) != 0,
      u64(c + f::c_untyped_bytes),
      u32(c + f::c_caps_mask),
      (flags & f::flag_timer) != 0,
      (flags & f::flag_console) != 0,
      u32(c + f::c_ioports_count),
      u32(c + f::c_irqs_count),
      u32(c + f::c_blobs_count),
      u64(c + f::c_guest_ram_bytes),
      str_at(c + f::c_guest_cmdline),
      u16(c + f::c_priority_ceiling),
      (flags & f::flag_essential) != 0,
      u16(c + f::c_guest_kind),
      (flags & f::flag_guest_debug_exit) != 0,
      (flags & f::flag_cpu_mask) >> f::flag_cpu_shift,
  };
}

uint32_t Reader::record(uint32_t comp, uint32_t first_field, uint32_t count_field, uint32_t table_offset,
                        uint32_t record_size, uint32_t j) const {
  if (comp >= component_count_) return 0;
  const uint32_t c = components_offset_ + comp * f::component_size;
  if (j >= u32(c + count_field)) return 0;
  return table_offset + (u32(c + first_field) + j) * record_size;
}

Str Reader::implements(uint32_t comp, uint32_t j) const {
  const uint32_t r = record(comp, f::c_implements_first, f::c_implements_count, implements_offset_,
                            f::implements_size, j);
  return r == 0 ? empty_str() : str_at(r);
}

DepView Reader::dep(uint32_t comp, uint32_t j) const {
  const uint32_t r = record(comp, f::c_deps_first, f::c_deps_count, deps_offset_, f::dep_size, j);
  if (r == 0) return DepView{empty_str(), 0, 0};
  return DepView{str_at(r + f::d_interface), u32(r + f::d_server), u32(r + f::d_token)};
}

ParamView Reader::param(uint32_t comp, uint32_t j) const {
  const uint32_t r = record(comp, f::c_params_first, f::c_params_count, params_offset_, f::param_size, j);
  if (r == 0) return ParamView{empty_str(), empty_str()};
  return ParamView{str_at(r + f::p_key), str_at(r + f::p_value)};
}

IoPortRange Reader::ioport(uint32_t comp, uint32_t j) const {
  const uint32_t r = record(comp, f::c_ioports_first, f::c_ioports_count, ioports_offset_, f::ioport_size, j);
  if (r == 0) return IoPortRange{0, 0};
  return IoPortRange{u32(r + f::io_first), u32(r + f::io_count)};
}

uint32_t Reader::irq(uint32_t comp, uint32_t j) const {
  const uint32_t r = record(comp, f::c_irqs_first, f::c_irqs_count, irqs_offset_, f::irq_size, j);
  return r == 0 ? 0 : u32(r + f::q_line);
}

BlobView Reader::blob(uint32_t comp, uint32_t j) const {
  const uint32_t r = record(comp, f::c_blobs_first, f::c_blobs_count, blobs_offset_, f::blob_size, j);
  if (r == 0) return BlobView{empty_str(), empty_str(), false};
  return BlobView{str_at(r + f::b_name), str_at(r + f::b_module), (u32(r + f::b_flags) & f::blob_flag_writable) != 0};
}

ChannelView Reader::channel(uint32_t j) const {
  if (j >= channel_count_) return ChannelView{empty_str(), {0, 0}, 0};
  const uint32_t r = channels_offset_ + j * f::channel_size;
  return ChannelView{str_at(r + f::ch_name), {u32(r + f::ch_end0), u32(r + f::ch_end1)}, u64(r + f::ch_bytes)};
}

bool Reader::find_component(const char* name, uint32_t& index) const {
  for (uint32_t i = 0; i < component_count_; ++i) {
    if (str_at(components_offset_ + i * f::component_size + f::c_name).equals(name)) {
      index = i;
      return true;
    }
  }
  return false;
}

bool Reader::find_param(uint32_t comp, const char* key, Str& value) const {
  const ComponentView c = component(comp);
  for (uint32_t j = 0; j < c.param_count; ++j) {
    const ParamView p = param(comp, j);
    if (p.key.equals(key)) {
      value = p.value;
      return true;
    }
  }
  return false;
}

}  // namespace cos::manifest
