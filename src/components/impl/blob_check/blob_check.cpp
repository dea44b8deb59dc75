// blob_check: a stand-in VMM for the booter's side of [component.guest]
// (composition_scripts/blob_check.toml, tests/integration/blob_test.py).
// It finds its guest's files where the booter mapped them (CompInfo::blobs),
// prints each one's size and CRC-32 (the test compares them with the files
// the composer wrote), checks what each file must look like, that the rest of
// the last page is zero, and the guest RAM and command line; finally it
// writes to its kernel blob, which must fault: the blobs are read-only.
#include "runtime/cos.hpp"
#include "manifest/crc32.hpp"

namespace {

int g_wrong = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    cos::printf("blob_check: WRONG: %s\n", what);
    ++g_wrong;
  }
}

uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

bool named(const cos::boot::CompInfo::Blob& b, const char* name) { return __builtin_strcmp(b.name, name) == 0; }

}  // namespace

int main() {
  const cos::boot::CompInfo& me = cos::self();
  cos::printf("blob_check: %u blobs, guest RAM %lu MiB, cmdline \"%s\" (%u bytes)\n", me.blob_count,
              me.guest_ram_bytes >> 20, me.guest_cmdline, me.guest_cmdline_size);
  check(me.blob_count == 3, "3 blobs");
  check(__builtin_strlen(me.guest_cmdline) == me.guest_cmdline_size, "guest_cmdline_size");
  const char* ram = cos::param("expect_ram_mib");
  if (ram) {
    uint64_t mib = 0;
    for (const char* c = ram; *c >= '0' && *c <= '9'; ++c) mib = mib * 10 + uint64_t(*c - '0');
    check(me.guest_ram_bytes == mib << 20, "guest RAM as the script says");
  }
  const char* order[] = {"guest.kernel", "guest.initramfs", "guest.bootloader"};
  for (uint32_t j = 0; j < me.blob_count && j < cos::boot::kMaxBlobs; ++j) {
    const cos::boot::CompInfo::Blob& b = me.blobs[j];
    const auto* p = reinterpret_cast<const uint8_t*>(b.vaddr);
    check(b.vaddr == cos::boot::kBlobWindow + j * cos::boot::kBlobStride, "blob address");
    check(j < 3 && named(b, order[j]), "blob order: kernel, initramfs, bootloader");
    const uint32_t crc = cos::manifest::crc32(p, b.size);
    cos::printf("blob_check: %s at 0x%lx, %lu bytes, crc32 0x%08x\n", b.name, b.vaddr, b.size, crc);
    bool zero = true;
    for (uint64_t i = b.size; i % 4096 != 0; ++i) zero = zero && p[i] == 0;
    check(zero, "the rest of the blob's last page is zero");
    if (named(b, "guest.kernel")) {
      check(b.size > 0x400 && p[0x1fe] == 0x55 && p[0x1ff] == 0xaa, "kernel: boot flag 0xAA55");
      check(b.size > 0x400 && le32(p + 0x202) == 0x53726448, "kernel: HdrS");
    } else if (named(b, "guest.initramfs")) {
      check(b.size > 6 && ((p[0] == 0x1f && p[1] == 0x8b) || __builtin_memcmp(p, "070701", 6) == 0),
            "initramfs: gzip or newc cpio");
    } else if (named(b, "guest.bootloader")) {
      check(b.size > 20 && le32(p + 4) == 0x47534f43, "bootloader: COSG header");
      const uint32_t vmcall = b.size > 20 ? le32(p + 12) : 0;
      check(vmcall + 3 <= b.size && p[vmcall] == 0x0f && p[vmcall + 1] == 0x01 && p[vmcall + 2] == 0xc1,
            "bootloader: VMCALL where its header says");
    }
  }
  cos::printf("blob_check: done, %d wrong\n", g_wrong);
  if (me.blob_count > 0) {
    cos::printf("blob_check: writing to guest.kernel (must fault)\n");
    *reinterpret_cast<volatile uint8_t*>(me.blobs[0].vaddr) = 0;
    cos::printf("blob_check: WRONG: the write to a read-only blob went through\n");
  }
  return 0;
}
