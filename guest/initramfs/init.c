/* /init of the default guest initramfs (built by `./cos guest build`, see
 * tools/cos/coslib/guest.py): compiled with `gcc -static -Os -s`, next to a
 * static busybox.
 *
 * Mounts /proc, /sys and /dev (devtmpfs), greets on the console like the
 * classic init.c of the Composite VMM (the line the tests look for), and runs
 * /bin/sh on /dev/console as a session leader with the console as its
 * controlling terminal (so job control and Ctrl-C work), starting it again
 * whenever it exits. Every failure is printed with its reason.
 *
 * Before the shell it loads the virtio drivers (virtio_pci, virtio_blk,
 * virtio_net, virtio_console) with busybox `modprobe -q -a` when
 * /lib/modules/<uname -r>/modules.dep exists (the initramfs builder puts the
 * guest kernel's modules there and runs depmod); only a failure prints a
 * line.
 *
 * Then, from the kernel command line, `cos.ip=<address>/<prefix>` brings up
 * lo and eth0 with that address (busybox `ip`; the virtio-net driver is a
 * module, so the kernel's own `ip=` cannot do it), and if the initramfs has
 * /etc/init.d/rcS (an overlay), init runs it with /bin/sh and waits for it
 * before starting the shell. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n > 0) {
    if (n > (int)sizeof line - 1) n = sizeof line - 1;
    ssize_t w = write(STDOUT_FILENO, line, (size_t)n);
    (void)w;
  }
}

static void mount_fs(const char *source, const char *target, const char *type, unsigned long flags) {
  if (mkdir(target, 0755) != 0 && errno != EEXIST) say("init: mkdir %s: %s\n", target, strerror(errno));
  if (mount(source, target, type, flags, NULL) != 0 && errno != EBUSY)
    say("init: mounting %s failed: %s\n", target, strerror(errno));
}

/* stdin/stdout/stderr on /dev/console (the kernel may have opened it already
 * from the initramfs's dev/console node; reopen after devtmpfs is there). */
static int open_console(void) {
  int fd = open("/dev/console", O_RDWR | O_NOCTTY);
  if (fd < 0) return -1;
  for (int i = 0; i < 3; ++i) dup2(fd, i);
  if (fd > 2) close(fd);
  return 0;
}

/* Loads the default kernel modules if this kernel has a module tree with a
 * modules.dep; says one line if modprobe fails. Modules that find no device
 * load and bind nothing, quietly. */
static void load_modules(void) {
  struct utsname u;
  char dep[sizeof u.release + 32];
  if (uname(&u) != 0) return;
  snprintf(dep, sizeof dep, "/lib/modules/%s/modules.dep", u.release);
  if (access(dep, R_OK) != 0) return;
  char *const argv[] = {"modprobe", "-q", "-a", "virtio_pci", "virtio_blk", "virtio_net", "virtio_console", NULL};
  char *const envp[] = {"PATH=/sbin:/bin:/usr/sbin:/usr/bin", NULL};
  pid_t pid = fork();
  if (pid < 0) {
    say("init: fork for modprobe: %s\n", strerror(errno));
    return;
  }
  if (pid == 0) {
    execve("/sbin/modprobe", argv, envp);
    say("init: cannot run /sbin/modprobe: %s\n", strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    say("init: modprobe virtio_pci virtio_blk virtio_net virtio_console failed (status %#x)\n", status);
}

/* Runs argv[0] (a path) with argv and waits; returns its wait status, or -1. */
static int run(char *const argv[]) {
  char *const envp[] = {"HOME=/", "PATH=/sbin:/bin:/usr/sbin:/usr/bin", "TERM=vt100", NULL};
  pid_t pid = fork();
  if (pid < 0) {
    say("init: fork for %s: %s\n", argv[0], strerror(errno));
    return -1;
  }
  if (pid == 0) {
    execve(argv[0], argv, envp);
    say("init: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

/* The value of `key=` on the kernel command line into buf, or 0. */
static int cmdline_value(const char *key, char *buf, size_t len) {
  char line[1024];
  int fd = open("/proc/cmdline", O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, line, sizeof line - 1);
  close(fd);
  if (n <= 0) return 0;
  line[n] = '\0';
  size_t klen = strlen(key);
  for (char *p = line; (p = strstr(p, key)) != NULL; p += klen) {
    if ((p != line && p[-1] != ' ') || p[klen] != '=') continue;
    char *v = p + klen + 1;
    size_t i = 0;
    while (v[i] && v[i] != ' ' && v[i] != '\n' && i + 1 < len) buf[i] = v[i], ++i;
    buf[i] = '\0';
    return i > 0;
  }
  return 0;
}

static void configure_network(void) {
  char addr[64];
  if (!cmdline_value("cos.ip", addr, sizeof addr)) return;
  char *const lo[] = {"/sbin/ip", "link", "set", "lo", "up", NULL};
  char *const add[] = {"/sbin/ip", "addr", "add", addr, "dev", "eth0", NULL};
  char *const up[] = {"/sbin/ip", "link", "set", "eth0", "up", NULL};
  if (run(lo) != 0 || run(add) != 0 || run(up) != 0) say("init: configuring eth0 with %s failed\n", addr);
}

static void run_rcs(void) {
  if (access("/etc/init.d/rcS", R_OK) != 0) return;
  char *const argv[] = {"/bin/sh", "/etc/init.d/rcS", NULL};
  int status = run(argv);
  if (status != 0) say("init: /etc/init.d/rcS ended with status %#x\n", status);
}

static void run_shell(void) {
  char *const argv[] = {"sh", NULL};
  char *const envp[] = {"HOME=/", "PATH=/sbin:/bin:/usr/sbin:/usr/bin", "TERM=vt100", "PS1=~ # ", NULL};
  if (setsid() < 0) say("init: setsid: %s\n", strerror(errno));
  /* A new session: the console becomes its controlling terminal. */
  int fd = open("/dev/console", O_RDWR);
  if (fd < 0) {
    say("init: cannot open /dev/console: %s\n", strerror(errno));
    _exit(127);
  }
  if (ioctl(fd, TIOCSCTTY, 1) != 0) say("init: TIOCSCTTY on /dev/console: %s\n", strerror(errno));
  for (int i = 0; i < 3; ++i) dup2(fd, i);
  if (fd > 2) close(fd);
  if (chdir("/") != 0) say("init: chdir /: %s\n", strerror(errno));
  execve("/bin/sh", argv, envp);
  say("init: cannot run /bin/sh: %s\n", strerror(errno));
  _exit(127);
}

int main(void) {
  mount_fs("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
  mount_fs("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC);
  mount_fs("devtmpfs", "/dev", "devtmpfs", MS_NOSUID);
  if (open_console() != 0) say("init: cannot open /dev/console: %s\n", strerror(errno));
  mkdir("/tmp", 01777);

  say("Hello Initramfs in special bootloader!\n");
  load_modules();
  configure_network();
  run_rcs();

  signal(SIGINT, SIG_IGN);
  for (;;) {
    pid_t pid = fork();
    if (pid < 0) {
      say("init: fork: %s\n", strerror(errno));
      sleep(1);
      continue;
    }
    if (pid == 0) {
      signal(SIGINT, SIG_DFL);
      run_shell();
    }
    /* Reap everything (orphans are re-parented to init) until the shell ends. */
    for (;;) {
      int status = 0;
      pid_t done = waitpid(-1, &status, 0);
      if (done < 0 && errno == EINTR) continue;
      if (done < 0 || done == pid) break;
    }
    say("init: the shell exited; starting a new one\n");
    sleep(1);
  }
}
