// blk_ram: a block component. It serves a disk image given in the
// composition (`files`, blob "file.<param file>", default "file.disk") over
// every channel it is an end of, with the block protocol
// (channel/blk_protocol.hpp). A writable blob (`writable = true`) is served
// in place, so writes last for the run; a read-only one is served read-only
// unless param `copy = true`, which copies it into the heap first (`memory`
// must hold it). Each client is served independently: a client that breaks
// its rings is dropped (reported once), the others go on.
#include "channel/blk_server.hpp"
#include "channel/channel.hpp"
#include "cos/exit_status.hpp"
#include "runtime/cos.hpp"
#include "runtime/heap.hpp"

namespace {

using cos::chan::Channel;

constexpr unsigned kMaxClients = cos::boot::kMaxChannels;

const cos::boot::CompInfo::Blob* find_blob(const char* name) {
  const cos::boot::CompInfo& info = cos::self();
  for (uint32_t i = 0; i < info.blob_count && i < cos::boot::kMaxBlobs; ++i)
    if (__builtin_strcmp(info.blobs[i].name, name) == 0) return &info.blobs[i];
  return nullptr;
}

bool param_true(const char* key) {
  const char* v = cos::param(key);
  return v && __builtin_strcmp(v, "true") == 0;
}

}  // namespace

int main() {
  const cos::boot::CompInfo& info = cos::self();
  char blob_name[48] = "file.";
  const char* file = cos::param("file");
  if (!file) file = "disk";
  for (size_t i = 0; file[i] && i + 6 < sizeof(blob_name); ++i) blob_name[5 + i] = file[i];
  const cos::boot::CompInfo::Blob* blob = find_blob(blob_name);
  if (!blob) cos::exit(cos::exit_status::kFailed, "no blob '%s' (composition: files = [{ name = \"%s\", ... }])", blob_name, file);
  const bool writable = (blob->flags & cos::boot::kBlobWritable) != 0;
  uint8_t* disk = reinterpret_cast<uint8_t*>(blob->vaddr);
  const uint64_t bytes = blob->size & ~uint64_t{cos::chan::kBlkSectorBytes - 1};
  bool read_only = !writable;
  if (!writable && param_true("copy")) {
    auto* copy = static_cast<uint8_t*>(cos::heap::alloc(bytes));
    if (!copy)
      cos::exit(cos::exit_status::kFailed, "copying the %lu KiB disk: the heap (memory) is too small",
                static_cast<unsigned long>(bytes >> 10));
    __builtin_memcpy(copy, disk, bytes);
    disk = copy;
    read_only = false;
  }
  if (param_true("read_only")) read_only = true;

  static Channel clients[kMaxClients];
  unsigned n = 0;
  size_t scratch_bytes = 0;
  for (uint32_t i = 0; i < cos::chan::channel_count() && n < kMaxClients; ++i) {
    if (!clients[n].open(i)) {
      cos::printf("blk_ram: channel %u is unusable; skipped\n", i);
      continue;
    }
    if (clients[n].rx().max_message() > scratch_bytes) scratch_bytes = clients[n].rx().max_message();
    ++n;
  }
  if (n == 0) cos::exit(cos::exit_status::kFailed, "no channel to serve (composition: [[channel]] ends = [..., \"%s\"])", info.name);
  auto* scratch = static_cast<uint8_t*>(cos::heap::alloc(scratch_bytes));
  if (!scratch)
    cos::exit(cos::exit_status::kFailed, "no heap for a %lu-byte request buffer (memory)", static_cast<unsigned long>(scratch_bytes));
  cos::chan::BlkServer server(disk, bytes, read_only, scratch, scratch_bytes);
  cos::printf("blk_ram: serving '%s' (%lu KiB, %s) to %u client%s\n", blob_name, static_cast<unsigned long>(bytes >> 10),
              read_only ? "read-only" : "read-write", n, n == 1 ? "" : "s");

  bool dropped[kMaxClients] = {};
  for (;;) {
    for (unsigned i = 0; i < n; ++i) {
      if (dropped[i]) continue;
      bool broken = false;
      if (server.serve(clients[i].rx(), clients[i].tx(), broken)) clients[i].notify();
      if (broken) {
        dropped[i] = true;
        cos::printf("blk_ram: client on channel '%s' broke the block protocol; no longer served\n", clients[i].name());
      }
    }
    cos::sys::rcv(cos::chan::notify_endpoint(), 0, 0);
  }
}
