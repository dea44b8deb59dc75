// Boot manifest writer: lays out header, record tables and string pool, then
// stamps the CRC-32.
#include "manifest/manifest_writer.hpp"

#include <map>
#include <stdexcept>

#include "manifest/crc32.hpp"
#include "manifest/format.hpp"
#include "cos/limits.hpp"

namespace cos::manifest {
namespace {

namespace f = format;

void check_string(const std::string& s) {
  if (s.find('\0') != std::string::npos)
    throw std::invalid_argument("manifest string contains a NUL byte");
}

void check_deps(const System& sys) {
  for (const Component& c : sys.components) {
    for (const Dep& d : c.deps) {
      if (d.server >= sys.components.size())
        throw std::invalid_argument("dependency of '" + c.name + "' names server index out of range");
      const Component& s = sys.components[d.server];
      if (d.token >= s.implements.size() || s.implements[d.token] != d.interface)
        throw std::invalid_argument("dependency of '" + c.name + "' on '" + d.interface +
                                    "' does not match its server's implements list");
    }
  }
}

// The grants must satisfy what Reader::open checks (bad_value).
void check_grants(const System& sys) {
  uint32_t irqs_seen = 0;
  for (const Component& c : sys.components) {
    if (c.untyped_bytes % 4096 != 0)
      throw std::invalid_argument("untyped memory of '" + c.name + "' is not a multiple of 4096 bytes");
    if ((c.caps_mask & ~f::caps_mask_all) != 0)
      throw std::invalid_argument("caps_mask of '" + c.name + "' has unknown bits");
    if (c.guest_ram_bytes % 4096 != 0)
      throw std::invalid_argument("guest RAM of '" + c.name + "' is not a multiple of 4096 bytes");
    if (c.cpu >= cos_limits::kMaxCpus)
      throw std::invalid_argument("cpu " + std::to_string(c.cpu) + " of '" + c.name + "' is not below " +
                                  std::to_string(cos_limits::kMaxCpus));
    if (c.priority_ceiling > 255)
      throw std::invalid_argument("priority ceiling " + std::to_string(c.priority_ceiling) + " of '" + c.name +
                                  "' is above 255");
    if (c.guest_kind > f::guest_kind_multiboot)
      throw std::invalid_argument("unknown guest kind " + std::to_string(c.guest_kind) + " of '" + c.name + "'");
    for (const IoPortRange& r : c.ioports)
      if (r.count == 0 || r.first >= f::ioport_limit || r.count > f::ioport_limit - r.first)
        throw std::invalid_argument("I/O-port range of '" + c.name + "' is empty or beyond port 0xffff");
    for (uint32_t line : c.irqs) {
      if (line >= f::irq_lines || line == f::irq_cascade)
        throw std::invalid_argument("IRQ line " + std::to_string(line) + " of '" + c.name + "' is invalid");
      if ((irqs_seen & (1u << line)) != 0)
        throw std::invalid_argument("IRQ line " + std::to_string(line) + " is granted twice");
      irqs_seen |= 1u << line;
    }
  }
}

// Channels must satisfy what Reader::open checks (bad_offset, bad_value).
void check_channels(const System& sys) {
  for (const Channel& ch : sys.channels) {
    for (uint32_t e : ch.ends) {
      if (e >= sys.components.size())
        throw std::invalid_argument("an end of channel '" + ch.name + "' is out of range");
      if (sys.components[e].constructed_by_kernel)
        throw std::invalid_argument("an end of channel '" + ch.name + "' is the kernel-constructed component");
    }
    if (ch.ends[0] == ch.ends[1])
      throw std::invalid_argument("both ends of channel '" + ch.name + "' are the same component");
    if (ch.bytes % 4096 != 0 || ch.bytes < f::channel_min_bytes || ch.bytes > f::channel_max_bytes)
      throw std::invalid_argument("the size of channel '" + ch.name + "' is out of range");
  }
}

uint64_t align8(uint64_t n) { return (n + 7) & ~uint64_t(7); }

// String pool with deduplication; offsets are relative to the pool start.
class Pool {
 public:
  uint32_t add(const std::string& s) {
    check_string(s);
    auto [it, fresh] = offsets_.try_emplace(s, 0);
    if (fresh) {
      if (bytes_.size() + s.size() + 1 > UINT32_MAX) throw std::length_error("manifest too large");
      it->second = uint32_t(bytes_.size());
      bytes_.insert(bytes_.end(), s.begin(), s.end());
      bytes_.push_back(0);
    }
    return it->second;
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::map<std::string, uint32_t> offsets_;
  std::vector<uint8_t> bytes_;
};

// Little-endian stores into a pre-sized buffer.
class Out {
 public:
  explicit Out(std::vector<uint8_t>& b) : b_(b) {}
  void u16(uint64_t at, uint16_t v) { put(at, v, 2); }
  void u32(uint64_t at, uint32_t v) { put(at, v, 4); }
  void u64(uint64_t at, uint64_t v) { put(at, v, 8); }
  void str(uint64_t at, Pool& pool, const std::string& s) {
    u32(at, pool.add(s));
    u32(at + 4, uint32_t(s.size()));
  }

 private:
  void put(uint64_t at, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b_.at(at + i) = uint8_t(v >> (8 * i));
  }
  std::vector<uint8_t>& b_;
};

}  // namespace

std::vector<uint8_t> encode(const System& sys) {
  check_deps(sys);
  check_grants(sys);
  check_channels(sys);
  uint64_t n_impls = 0, n_deps = 0, n_params = 0, n_ioports = 0, n_irqs = 0, n_blobs = 0;
  for (const Component& c : sys.components) {
    n_impls += c.implements.size();
    n_deps += c.deps.size();
    n_params += c.params.size();
    n_ioports += c.ioports.size();
    n_irqs += c.irqs.size();
    n_blobs += c.blobs.size();
  }
  const uint64_t comps_off = f::header_size;
  const uint64_t impls_off = align8(comps_off + sys.components.size() * f::component_size);
  const uint64_t deps_off = align8(impls_off + n_impls * f::implements_size);
  const uint64_t params_off = align8(deps_off + n_deps * f::dep_size);
  const uint64_t ioports_off = align8(params_off + n_params * f::param_size);
  const uint64_t irqs_off = align8(ioports_off + n_ioports * f::ioport_size);
  const uint64_t blobs_off = align8(irqs_off + n_irqs * f::irq_size);
  const uint64_t chans_off = align8(blobs_off + n_blobs * f::blob_size);
  const uint64_t strings_off = align8(chans_off + sys.channels.size() * f::channel_size);
  if (strings_off > UINT32_MAX) throw std::length_error("manifest too large");

  std::vector<uint8_t> buf(strings_off, 0);
  Out out(buf);
  Pool pool;
  out.str(f::h_system_name, pool, sys.name);

  uint32_t impl_i = 0, dep_i = 0, param_i = 0, ioport_i = 0, irq_i = 0, blob_i = 0;
  for (size_t i = 0; i < sys.components.size(); ++i) {
    const Component& c = sys.components[i];
    const uint64_t r = comps_off + i * f::component_size;
    out.str(r + f::c_name, pool, c.name);
    out.str(r + f::c_image, pool, c.image);
    out.u64(r + f::c_heap_bytes, c.heap_bytes);
    out.u64(r + f::c_stack_bytes, c.stack_bytes);
    out.u64(r + f::c_sinv_entry, c.sinv_entry);
    out.u32(r + f::c_priority, c.priority);
    out.u16(r + f::c_priority_ceiling, uint16_t(c.priority_ceiling));
    out.u32(r + f::c_flags,
            (c.constructed_by_kernel ? f::flag_constructed_by_kernel : 0) | (c.timer ? f::flag_timer : 0) |
                (c.console ? f::flag_console : 0) | (c.essential ? f::flag_essential : 0) |
                (c.guest_debug_exit ? f::flag_guest_debug_exit : 0) | (c.cpu << f::flag_cpu_shift));
    out.u16(r + f::c_guest_kind, uint16_t(c.guest_kind));
    out.u32(r + f::c_implements_first, impl_i);
    out.u32(r + f::c_implements_count, uint32_t(c.implements.size()));
    out.u32(r + f::c_deps_first, dep_i);
    out.u32(r + f::c_deps_count, uint32_t(c.deps.size()));
    out.u32(r + f::c_params_first, param_i);
    out.u32(r + f::c_params_count, uint32_t(c.params.size()));
    out.u64(r + f::c_untyped_bytes, c.untyped_bytes);
    out.u32(r + f::c_caps_mask, c.caps_mask);
    out.u32(r + f::c_ioports_first, ioport_i);
    out.u32(r + f::c_ioports_count, uint32_t(c.ioports.size()));
    out.u32(r + f::c_irqs_first, irq_i);
    out.u32(r + f::c_irqs_count, uint32_t(c.irqs.size()));
    out.u32(r + f::c_blobs_first, blob_i);
    out.u32(r + f::c_blobs_count, uint32_t(c.blobs.size()));
    out.u64(r + f::c_guest_ram_bytes, c.guest_ram_bytes);
    out.str(r + f::c_guest_cmdline, pool, c.guest_cmdline);
    for (const std::string& s : c.implements) out.str(impls_off + uint64_t(impl_i++) * f::implements_size, pool, s);
    for (const Dep& d : c.deps) {
      const uint64_t at = deps_off + uint64_t(dep_i++) * f::dep_size;
      out.str(at + f::d_interface, pool, d.interface);
      out.u32(at + f::d_server, d.server);
      out.u32(at + f::d_token, d.token);
    }
    for (const Param& p : c.params) {
      const uint64_t at = params_off + uint64_t(param_i++) * f::param_size;
      out.str(at + f::p_key, pool, p.key);
      out.str(at + f::p_value, pool, p.value);
    }
    for (const IoPortRange& io : c.ioports) {
      const uint64_t at = ioports_off + uint64_t(ioport_i++) * f::ioport_size;
      out.u32(at + f::io_first, io.first);
      out.u32(at + f::io_count, io.count);
    }
    for (uint32_t line : c.irqs) out.u32(irqs_off + uint64_t(irq_i++) * f::irq_size + f::q_line, line);
    for (const Blob& b : c.blobs) {
      const uint64_t at = blobs_off + uint64_t(blob_i++) * f::blob_size;
      out.str(at + f::b_name, pool, b.name);
      out.str(at + f::b_module, pool, b.module);
      out.u32(at + f::b_flags, b.writable ? f::blob_flag_writable : 0);
    }
  }
  for (size_t j = 0; j < sys.channels.size(); ++j) {
    const Channel& ch = sys.channels[j];
    const uint64_t at = chans_off + j * f::channel_size;
    out.str(at + f::ch_name, pool, ch.name);
    out.u32(at + f::ch_end0, ch.ends[0]);
    out.u32(at + f::ch_end1, ch.ends[1]);
    out.u64(at + f::ch_bytes, ch.bytes);
  }

  const std::vector<uint8_t>& strings = pool.bytes();
  const uint64_t total = align8(strings_off + strings.size());
  if (total > UINT32_MAX) throw std::length_error("manifest too large");
  buf.insert(buf.end(), strings.begin(), strings.end());
  buf.resize(total, 0);

  out.u32(f::h_magic, f::magic);
  out.u16(f::h_version, f::version);
  out.u16(f::h_header_size, f::header_size);
  out.u32(f::h_total_size, uint32_t(total));
  out.u32(f::h_component_count, uint32_t(sys.components.size()));
  out.u32(f::h_components_offset, uint32_t(comps_off));
  out.u32(f::h_implements_count, uint32_t(n_impls));
  out.u32(f::h_implements_offset, uint32_t(impls_off));
  out.u32(f::h_deps_count, uint32_t(n_deps));
  out.u32(f::h_deps_offset, uint32_t(deps_off));
  out.u32(f::h_params_count, uint32_t(n_params));
  out.u32(f::h_params_offset, uint32_t(params_off));
  out.u32(f::h_ioports_count, uint32_t(n_ioports));
  out.u32(f::h_ioports_offset, uint32_t(ioports_off));
  out.u32(f::h_irqs_count, uint32_t(n_irqs));
  out.u32(f::h_irqs_offset, uint32_t(irqs_off));
  out.u32(f::h_blobs_count, uint32_t(n_blobs));
  out.u32(f::h_blobs_offset, uint32_t(blobs_off));
  out.u32(f::h_channels_count, uint32_t(sys.channels.size()));
  out.u32(f::h_channels_offset, uint32_t(chans_off));
  out.u32(f::h_strings_offset, uint32_t(strings_off));
  out.u32(f::h_strings_size, uint32_t(strings.size()));
  out.u32(f::h_checksum, crc32(buf.data(), buf.size()));  // checksum field is still 0 here
  return buf;
}

}  // namespace cos::manifest
