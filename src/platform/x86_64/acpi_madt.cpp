#include "x86_64/acpi_madt.hpp"

namespace cos::x86::acpi {
namespace {

constexpr size_t kHeaderBytes = 36;       // the common System Description Table header
constexpr size_t kMadtFixedBytes = 44;    // header, local APIC address, flags
constexpr size_t kRsdpV1Bytes = 20, kRsdpV2Bytes = 36;
constexpr uint32_t kMaxTableBytes = 1u << 20;  // larger tables are not believed
constexpr uint32_t kEnabled = 1u << 0, kOnlineCapable = 1u << 1;
constexpr uint32_t kXapicBroadcast = 0xff;

uint32_t le32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t(p[3]) << 24); }
uint64_t le64(const uint8_t* p) { return le32(p) | (uint64_t(le32(p + 4)) << 32); }
bool sig_is(const uint8_t* p, const char* sig) {
  for (unsigned i = 0; i < 4; ++i)
    if (p[i] != static_cast<uint8_t>(sig[i])) return false;
  return true;
}

/// A whole table at `pa` with signature `sig` (nullptr: any), checked.
const uint8_t* read_table(uint64_t pa, const char* sig, PhysReader read, void* ctx, uint32_t& len) {
  const uint8_t* h = read(pa, kHeaderBytes, ctx);
  if (!h || (sig && !sig_is(h, sig))) return nullptr;
  len = le32(h + 4);
  if (len < kHeaderBytes || len > kMaxTableBytes) return nullptr;
  const uint8_t* t = read(pa, len, ctx);
  return t && checksum_ok(t, len) ? t : nullptr;
}

void add(Processors& out, uint32_t apic_id) {
  if (apic_id >= kXapicBroadcast) {
    ++out.beyond_xapic;
  } else if (out.count == kMaxProcessors) {
    ++out.beyond_table;
  } else {
    out.apic_id[out.count++] = apic_id;
  }
}

}  // namespace

bool checksum_ok(const uint8_t* p, size_t n) {
  uint8_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum = static_cast<uint8_t>(sum + p[i]);
  return sum == 0;
}

uint64_t find_rsdp(uint64_t pa, size_t len, PhysReader read, void* ctx) {
  const uint8_t* area = read(pa, len, ctx);
  if (!area) return 0;
  for (size_t off = (16 - (pa & 15)) & 15; off + kRsdpV1Bytes <= len; off += 16) {
    const uint8_t* r = area + off;
    if (!sig_is(r, "RSD ") || !sig_is(r + 4, "PTR ") || !checksum_ok(r, kRsdpV1Bytes)) continue;
    if (r[15] >= 2) {
      if (off + kRsdpV2Bytes > len) continue;
      const uint32_t ext = le32(r + 20);
      if (ext < kRsdpV2Bytes || off + ext > len || !checksum_ok(r, ext)) continue;
    }
    return pa + off;
  }
  return 0;
}

bool parse_madt(const uint8_t* madt, size_t len, Processors& out) {
  out = Processors{};
  if (len < kMadtFixedBytes || !sig_is(madt, "APIC") || le32(madt + 4) != len) return false;
  out.lapic_base = le32(madt + 36);
  for (size_t off = kMadtFixedBytes; off + 2 <= len;) {
    const uint8_t type = madt[off], n = madt[off + 1];
    if (n < 2 || off + n > len) break;  // a broken entry ends the list
    const uint8_t* e = madt + off;
    if (type == 0 && n >= 8) {
      if (le32(e + 4) & (kEnabled | kOnlineCapable)) add(out, e[3]);
    } else if (type == 9 && n >= 16) {
      if (le32(e + 8) & (kEnabled | kOnlineCapable)) add(out, le32(e + 4));
    } else if (type == 5 && n >= 12) {
      out.lapic_base = le64(e + 4);
    }
    off += n;
  }
  return true;
}

bool find_processors(uint64_t rsdp_pa, PhysReader read, void* ctx, Processors& out) {
  out = Processors{};
  const uint8_t* r = read(rsdp_pa, kRsdpV1Bytes, ctx);
  if (!r) return false;
  const uint64_t rsdt_pa = le32(r + 16);
  const uint8_t* r2 = r[15] >= 2 ? read(rsdp_pa, kRsdpV2Bytes, ctx) : nullptr;
  const bool xsdt = r2 && le64(r2 + 24) != 0;
  const uint64_t root_pa = xsdt ? le64(r2 + 24) : rsdt_pa;
  const unsigned entry_bytes = xsdt ? 8 : 4;
  uint32_t root_len = 0;
  const uint8_t* root = read_table(root_pa, xsdt ? "XSDT" : "RSDT", read, ctx, root_len);
  if (!root) return false;
  for (size_t off = kHeaderBytes; off + entry_bytes <= root_len; off += entry_bytes) {
    const uint64_t pa = xsdt ? le64(root + off) : le32(root + off);
    uint32_t len = 0;
    const uint8_t* madt = read_table(pa, "APIC", read, ctx, len);
    if (madt) return parse_madt(madt, len, out);
  }
  return false;
}

}  // namespace cos::x86::acpi
