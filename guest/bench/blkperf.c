/* blkperf: block device read performance inside a guest, for
 * `./cos bench blk` (tools/cos/coslib/bench/blk.py). Compiled by the cos
 * tool with `gcc -static -Os -s` into build/x86_64/guest/bench/blkperf and
 * put into the guest's initramfs as /bin/blkperf
 * (composition_scripts/bench_blk.toml).
 *
 *   blkperf seq DEVICE            read the whole device front to back in
 *                                 1 MiB requests
 *   blkperf rand DEVICE COUNT     COUNT reads of 4 KiB at 4 KiB-aligned
 *                                 offsets drawn by xorshift64 from a fixed
 *                                 seed (the same offsets every run)
 *
 * Both open the device with O_DIRECT (no page cache: every read reaches the
 * device); where the kernel refuses O_DIRECT they say so and read through
 * the page cache after dropping it (/proc/sys/vm/drop_caches). Lines the
 * bench parses (seconds on the guest's CLOCK_MONOTONIC):
 *   blkperf: seq start DEVICE
 *   blkperf: seq: read BYTES bytes in SECONDS s, MIBPS MiB/s (direct|cached)
 *   blkperf: rand start DEVICE COUNT
 *   blkperf: rand: COUNT reads of 4096 bytes in SECONDS s, IOPS IOPS (direct|cached)
 *   blkperf: exits seq: total=N io=N ...   (cos_exits.h: simple_vmm's exit
 *                                counters around the reads; `exits rand` too)
 * Every failure prints `blkperf: <what>: <strerror>` and exits 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include "cos_exits.h"

enum { kSeqBlock = 1024 * 1024, kRandBlock = 4096 };

static void fail(const char *what) {
  printf("blkperf: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Opens `dev` with O_DIRECT, or (when refused) cached after dropping the
 * page cache; *direct says which. */
static int open_dev(const char *dev, int *direct) {
  int fd = open(dev, O_RDONLY | O_DIRECT);
  *direct = fd >= 0;
  if (fd >= 0) return fd;
  printf("blkperf: O_DIRECT refused on %s (%s); reading through the page cache\n", dev, strerror(errno));
  sync();
  int dc = open("/proc/sys/vm/drop_caches", O_WRONLY);
  if (dc >= 0) {
    if (write(dc, "3\n", 2) != 2) printf("blkperf: dropping the page cache failed\n");
    close(dc);
  }
  fd = open(dev, O_RDONLY);
  if (fd < 0) fail("open");
  return fd;
}

static void *aligned_buffer(size_t size) {
  void *p = NULL;
  if (posix_memalign(&p, 4096, size) != 0) {
    printf("blkperf: out of memory\n");
    exit(1);
  }
  memset(p, 0, size);
  return p;
}

static int seq(const char *dev) {
  int direct = 0;
  char *buf = aligned_buffer(kSeqBlock);
  printf("blkperf: seq start %s\n", dev);
  fflush(stdout);
  int fd = open_dev(dev, &direct);
  struct cos_exits before, after;
  cos_exits_snapshot(&before);
  double start = now_s();
  unsigned long long total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, kSeqBlock);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("read");
    if (n == 0) break;
    total += (unsigned long long)n;
  }
  double secs = now_s() - start;
  cos_exits_snapshot(&after);
  close(fd);
  printf("blkperf: seq: read %llu bytes in %.3f s, %.2f MiB/s (%s)\n", total, secs,
         secs > 0 ? (double)total / (1024.0 * 1024.0) / secs : 0.0, direct ? "direct" : "cached");
  cos_exits_print("blkperf", "seq", &before, &after);
  return 0;
}

static int rand_reads(const char *dev, const char *count_arg) {
  char *end = NULL;
  unsigned long count = strtoul(count_arg, &end, 0);
  if (!end || *end || count == 0) {
    printf("blkperf: bad count '%s'\n", count_arg);
    return 2;
  }
  int direct = 0;
  char *buf = aligned_buffer(kRandBlock);
  printf("blkperf: rand start %s %lu\n", dev, count);
  fflush(stdout);
  int fd = open_dev(dev, &direct);
  uint64_t size = 0;
  if (ioctl(fd, BLKGETSIZE64, &size) != 0) { /* a regular file (testing on the host) */
    off_t end_off = lseek(fd, 0, SEEK_END);
    if (end_off < 0) fail("size");
    size = (uint64_t)end_off;
  }
  uint64_t blocks = size / kRandBlock;
  if (blocks == 0) {
    printf("blkperf: %s is smaller than 4 KiB\n", dev);
    return 1;
  }
  uint64_t x = 0x9e3779b97f4a7c15ull; /* fixed seed: the same offsets every run */
  struct cos_exits before, after;
  cos_exits_snapshot(&before);
  double start = now_s();
  for (unsigned long i = 0; i < count; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    off_t off = (off_t)((x % blocks) * kRandBlock);
    ssize_t n = pread(fd, buf, kRandBlock, off);
    if (n < 0 && errno == EINTR) {
      --i;
      continue;
    }
    if (n != kRandBlock) {
      if (n >= 0) errno = EIO;
      fail("pread");
    }
  }
  double secs = now_s() - start;
  cos_exits_snapshot(&after);
  close(fd);
  printf("blkperf: rand: %lu reads of %d bytes in %.3f s, %.0f IOPS (%s)\n", count, kRandBlock, secs,
         secs > 0 ? (double)count / secs : 0.0, direct ? "direct" : "cached");
  cos_exits_print("blkperf", "rand", &before, &after);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3 && strcmp(argv[1], "seq") == 0) return seq(argv[2]);
  if (argc == 4 && strcmp(argv[1], "rand") == 0) return rand_reads(argv[2], argv[3]);
  printf("usage: blkperf seq DEVICE | rand DEVICE COUNT\n");
  return 2;
}
