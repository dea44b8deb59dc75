#include "devices/fw_cfg.hpp"

namespace cos::dev {
namespace {

const uint8_t kSignatureBytes[4] = {'Q', 'E', 'M', 'U'};
const uint8_t kZeroUuid[16] = {};

void le(uint8_t* p, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void be(uint8_t* p, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
}

}  // namespace

FwCfg::FwCfg(const Config& cfg) : cmdline_(cfg.cmdline ? cfg.cmdline : "") {
  le(id_, kIdTraditional, 4);
  le(ram_, cfg.ram_bytes, 8);
  le(cpus_, cfg.cpus, 2);
  uint32_t n = 0;
  while (cmdline_[n]) ++n;
  cmdline_bytes_ = n + 1;
  le(cmdline_size_, cmdline_bytes_, 4);
  be(dir_, 0, 4);
}

uint16_t FwCfg::add_file(const char* name, const void* data, size_t size) {
  size_t len = 0;
  while (name[len] && len < kFileNameBytes) ++len;
  if (len == 0 || len >= kFileNameBytes || file_count_ == kMaxFiles || size > 0xffffffffu) return 0;
  const uint16_t key = static_cast<uint16_t>(kFileFirst + file_count_);
  files_[file_count_] = File{static_cast<const uint8_t*>(data), static_cast<uint32_t>(size)};
  uint8_t* e = dir_ + 4 + 64 * file_count_;
  be(e, size, 4);
  be(e + 4, key, 2);
  be(e + 6, 0, 2);
  for (size_t i = 0; i < kFileNameBytes; ++i) e[8 + i] = i < len ? static_cast<uint8_t>(name[i]) : 0;
  ++file_count_;
  be(dir_, file_count_, 4);
  return key;
}

FwCfg::Item FwCfg::item(uint16_t key) const {
  switch (key) {
    case kSignature: return {kSignatureBytes, 4};
    case kId: return {id_, 4};
    case kUuid: return {kZeroUuid, 16};
    case kRamSize: return {ram_, 8};
    case kNbCpus:
    case kMaxCpus: return {cpus_, 2};
    case kCmdlineSize: return {cmdline_size_, 4};
    case kCmdlineData: return {reinterpret_cast<const uint8_t*>(cmdline_), cmdline_bytes_};
    case kFileDir: return {dir_, 4 + 64 * file_count_};
    default: break;
  }
  if (key >= kFileFirst && key < kFileFirst + file_count_) {
    const File& f = files_[key - kFileFirst];
    return {f.data, f.size};
  }
  return {nullptr, 0};  // also every key with the write-channel or arch-local bit
}

uint32_t FwCfg::io_read(uint16_t, unsigned size) {
  if (size != 1) return static_cast<uint32_t>(all_ones(size));
  const Item it = item(key_);
  if (offset_ >= it.size) return 0;
  return it.data[offset_++];
}

void FwCfg::io_write(uint16_t port, unsigned size, uint32_t value) {
  if (size == 2 && port == kSelectorPort) {
    key_ = static_cast<uint16_t>(value);
    offset_ = 0;
  }
  // Byte writes go to the data register's write channel: ignored.
}

}  // namespace cos::dev
