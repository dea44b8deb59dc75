/* netperf: TCP throughput between two guests, for `./cos bench net`
 * (tools/cos/coslib/bench/net.py). Compiled by the cos tool with
 * `gcc -static -Os -s` into build/x86_64/guest/bench/netperf and put into the
 * guests' initramfs as /bin/netperf (composition_scripts/bench_net.toml).
 *
 *   netperf server PORT          accept connections until a `quit` one:
 *                                a data connection is read to EOF, counted
 *                                and answered with the count (8 bytes,
 *                                little endian); exits 0 after `quit`
 *   netperf send HOST PORT BYTES connect, send BYTES (64 KiB writes), shut
 *                                down the write side, wait for the count
 *   netperf quit HOST PORT       tell the server to exit; waits until it
 *                                closed the connection
 *
 * Each connection starts with one byte: 'D' (data) or 'Q' (quit). Lines the
 * bench parses (seconds on the guest's CLOCK_MONOTONIC):
 *   netperf: send start BYTES
 *   netperf: sent BYTES bytes in SECONDS s, MIBPS MiB/s; peer received COUNT
 *   netperf: received BYTES bytes in SECONDS s   (server side)
 *   netperf: exits send: total=N io=N ...   (cos_exits.h: simple_vmm's exit
 *                                counters from just before the connect to
 *                                the peer's count; server: exits receive,
 *                                from the first byte to the end)
 * Every failure prints `netperf: <what>: <strerror>` and exits 1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cos_exits.h"

enum { kChunk = 64 * 1024 };
static char g_buf[kChunk];

static void fail(const char *what) {
  printf("netperf: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes all `len` bytes of `p`; 0, or -1 with errno. */
static int write_all(int fd, const void *p, size_t len) {
  const char *c = p;
  while (len > 0) {
    ssize_t n = write(fd, c, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    c += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Reads exactly `len` bytes; 0, or -1 (errno set; 0 at EOF). */
static int read_all(int fd, void *p, size_t len) {
  char *c = p;
  while (len > 0) {
    ssize_t n = read(fd, c, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = 0;
      return -1;
    }
    c += n;
    len -= (size_t)n;
  }
  return 0;
}

static int connect_to(const char *host, const char *port) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)atoi(port));
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    printf("netperf: %s is not an IPv4 address\n", host);
    exit(2);
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) fail("connect");
  return fd;
}

static int serve(const char *port) {
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  if (ls < 0) fail("socket");
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)atoi(port));
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0) fail("bind");
  if (listen(ls, 4) != 0) fail("listen");
  printf("netperf: listening on port %s\n", port);
  fflush(stdout);
  for (;;) {
    int fd = accept(ls, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR) continue;
      fail("accept");
    }
    char cmd = 0;
    if (read_all(fd, &cmd, 1) != 0) {
      close(fd);
      continue;
    }
    if (cmd == 'Q') {
      close(fd);
      close(ls);
      printf("netperf: quit\n");
      return 0;
    }
    struct cos_exits before, after;
    cos_exits_snapshot(&before);
    double start = now_s();
    uint64_t total = 0;
    for (;;) {
      ssize_t n = read(fd, g_buf, sizeof g_buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("read");
      if (n == 0) break;
      total += (uint64_t)n;
    }
    double secs = now_s() - start;
    unsigned char ack[8];
    for (int i = 0; i < 8; ++i) ack[i] = (unsigned char)(total >> (8 * i));
    if (write_all(fd, ack, sizeof ack) != 0) fail("write");
    cos_exits_snapshot(&after);
    close(fd);
    printf("netperf: received %llu bytes in %.3f s\n", (unsigned long long)total, secs);
    cos_exits_print("netperf", "receive", &before, &after);
    fflush(stdout);
  }
}

static int send_bytes(const char *host, const char *port, const char *bytes_arg) {
  char *end = NULL;
  unsigned long long bytes = strtoull(bytes_arg, &end, 0);
  if (!end || *end) {
    printf("netperf: bad byte count '%s'\n", bytes_arg);
    return 2;
  }
  memset(g_buf, 0xa5, sizeof g_buf);
  printf("netperf: send start %llu\n", bytes);
  fflush(stdout);
  struct cos_exits before, after;
  cos_exits_snapshot(&before);
  double start = now_s();
  int fd = connect_to(host, port);
  if (write_all(fd, "D", 1) != 0) fail("write");
  unsigned long long left = bytes;
  while (left > 0) {
    size_t n = left < sizeof g_buf ? (size_t)left : sizeof g_buf;
    if (write_all(fd, g_buf, n) != 0) fail("write");
    left -= n;
  }
  if (shutdown(fd, SHUT_WR) != 0) fail("shutdown");
  unsigned char ack[8];
  if (read_all(fd, ack, sizeof ack) != 0) fail("reading the peer's count");
  double secs = now_s() - start;
  cos_exits_snapshot(&after);
  close(fd);
  uint64_t got = 0;
  for (int i = 0; i < 8; ++i) got |= (uint64_t)ack[i] << (8 * i);
  printf("netperf: sent %llu bytes in %.3f s, %.2f MiB/s; peer received %llu\n", bytes, secs,
         secs > 0 ? (double)bytes / (1024.0 * 1024.0) / secs : 0.0, (unsigned long long)got);
  cos_exits_print("netperf", "send", &before, &after);
  return got == bytes ? 0 : 1;
}

static int quit(const char *host, const char *port) {
  int fd = connect_to(host, port);
  if (write_all(fd, "Q", 1) != 0) fail("write");
  char c;
  while (read(fd, &c, 1) > 0) {
  }
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3 && strcmp(argv[1], "server") == 0) return serve(argv[2]);
  if (argc == 5 && strcmp(argv[1], "send") == 0) return send_bytes(argv[2], argv[3], argv[4]);
  if (argc == 4 && strcmp(argv[1], "quit") == 0) return quit(argv[2], argv[3]);
  printf("usage: netperf server PORT | send HOST PORT BYTES | quit HOST PORT\n");
  return 2;
}
