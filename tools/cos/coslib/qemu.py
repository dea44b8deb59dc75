"""QEMU: accelerator choice, command line, and result classification."""

import os
import re
import subprocess
import sys

from .common import CosError, info, quote_cmd, rel
from .console import LineScanner, Session
from .proc import Watchdog, die_with_parent
from .outcome import (EXIT_FAILED, Verdict, clean_verdict, judge_common, signal_name,
                      stopped_verdict)

QEMU = "qemu-system-x86_64"
TCG_CPU = "qemu64,+svm,+npt,+smep,+smap,+umip,+pku"
KVM_CPU = "host"
DEBUG_EXIT_CLEAN = (0x10 << 1) | 1   # 33
DEBUG_EXIT_PANIC = (0x11 << 1) | 1   # 35
DEBUG_EXIT_COMPONENT = (0x12 << 1) | 1   # 37: an essential component stopped
NESTED_PARAM = {
    "GenuineIntel": ("kvm_intel", "/sys/module/kvm_intel/parameters/nested"),
    "AuthenticAMD": ("kvm_amd", "/sys/module/kvm_amd/parameters/nested"),
}


def cpu_vendor():
    """The host CPU's vendor_id from /proc/cpuinfo ('' if unknown)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def kvm_status():
    """(usable, nested, explanation) for running our kernel under KVM.

    `usable`: /dev/kvm exists and we can open it read-write. `nested`: the
    host's KVM lets a guest run a hypervisor of this CPU's vendor (the
    kvm_intel / kvm_amd `nested` parameter), which the kernel needs.
    """
    if not os.path.exists("/dev/kvm"):
        return False, False, "no /dev/kvm"
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
    except OSError as e:
        return False, False, "cannot open /dev/kvm: %s" % e.strerror
    vendor = cpu_vendor()
    if vendor not in NESTED_PARAM:
        return True, False, "unknown CPU vendor '%s'" % vendor
    module, param = NESTED_PARAM[vendor]
    try:
        with open(param) as f:
            value = f.read().strip()
    except OSError:
        return True, False, "%s is not loaded, so no nested virtualization" % module
    if value in ("Y", "y", "1"):
        return True, True, "%s nested virtualization is on" % module
    return True, False, "%s nested virtualization is off (%s = %s)" % (module, param, value)


def choose_accel(requested, icount=False):
    """Pick (accel, cpu, explanation) for `--accel auto|kvm|tcg`.

    auto: KVM with `-cpu host` only if usable AND nested; otherwise TCG with
    an SVM-capable CPU model. kvm: an error (exit 2) if /dev/kvm is unusable.
    --icount needs TCG.
    """
    usable, nested, why = kvm_status()
    if requested == "tcg":
        return "tcg", TCG_CPU, "--accel tcg"
    if requested == "kvm":
        if icount:
            raise CosError("--icount needs TCG; it cannot be combined with --accel kvm",
                           status=2)
        if not usable:
            raise CosError("--accel kvm: KVM is not usable here: %s" % why, status=2)
        if not nested:
            info("warning: %s: the kernel will find no VMX/SVM in the guest" % why)
        return "kvm", KVM_CPU, "--accel kvm; " + why
    if icount:
        return "tcg", TCG_CPU, "--icount needs TCG"
    if usable and nested:
        return "kvm", KVM_CPU, "auto: " + why
    return "tcg", TCG_CPU, "auto: KVM not used, " + why


def initrd_arg(modules):
    """QEMU's -initrd value for multiboot modules: "<file> <name>" each,
    comma-separated; a comma inside a file name is doubled (QEMU's escape).
    The kernel takes a module's name from its command line after the file."""
    return ",".join("%s %s" % (str(path).replace(",", ",,"), name) for path, name in modules)


def command_line(system, accel, cpu, log_path, icount=False, gdb_port=None):
    """The full QEMU argv for booting `system` directly: QEMU loads
    kernel.bin as a multiboot v1 kernel with the boot modules grub.cfg names
    (no BIOS boot from the GRUB ISO, which Bochs and real machines use)."""
    argv = [QEMU, "-machine", "pc", "-m", str(system.memory_mib()), "-smp", str(system.cpus()),
            "-display", "none", "-no-reboot",
            "-chardev", "stdio,id=con0,signal=off", "-serial", "chardev:con0",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
            # cpu_reset only: it logs the triple faults `cos run` reports;
            # guest_errors logged every byte a guest fetched from unassigned
            # memory (30 GB in an hour of guest fuzzing).
            "-d", "cpu_reset", "-D", str(log_path),
            "-accel", accel, "-cpu", cpu]
    if icount:
        argv += ["-icount", "shift=0,sleep=off"]
    if gdb_port is not None:
        argv += ["-S", "-gdb", "tcp:127.0.0.1:%d" % gdb_port]
    argv += ["-kernel", str(system.kernel_bin()), "-initrd", initrd_arg(system.boot_modules())]
    return argv


class StderrRelay:
    """Relays QEMU's stderr to ours, keeping the last lines for error reports."""

    NOISE = re.compile(r"terminating on signal|Terminated via GDBstub")

    def __init__(self):
        self._partial = b""
        self.lines = []

    def __call__(self, data):
        buf = self._partial + data
        parts = buf.split(b"\n")
        self._partial = parts.pop()
        for raw in parts:
            self._line(raw.decode("utf-8", "replace").rstrip())

    def flush(self):
        if self._partial:
            self._line(self._partial.decode("utf-8", "replace").rstrip())
            self._partial = b""

    def _line(self, text):
        if not text:
            return
        self.lines = (self.lines + [text])[-20:]
        if not self.NOISE.search(text):
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def last(self):
        meaningful = [l for l in self.lines if not self.NOISE.search(l)]
        return meaningful[-1] if meaningful else ""


def log_has_triple_fault(log_path):
    """True when QEMU's -d cpu_reset log recorded a triple fault."""
    try:
        with open(log_path, "rb") as f:
            return b"Triple fault" in f.read()
    except OSError:
        return False


def classify(result, scanner, log_path, relay, timeout):
    """Turn a finished QEMU session into a Verdict."""
    label = "qemu"
    verdict = judge_common(result, scanner, label, timeout)
    if verdict:
        return verdict
    rc = result.returncode
    if any("Terminated via GDBstub" in line for line in relay.lines):
        return Verdict(EXIT_FAILED, "qemu was terminated from gdb")
    if rc == DEBUG_EXIT_CLEAN:
        if scanner.clean:
            return None  # success; the caller adds timing details
        return Verdict(EXIT_FAILED, "clean exit via isa-debug-exit, but the serial "
                       "console never printed 'cos: shutdown: clean'")
    if rc == DEBUG_EXIT_PANIC:
        return Verdict(EXIT_FAILED, "kernel panic (isa-debug-exit 0x11) without a "
                       "'cos: PANIC:' line")
    if rc == DEBUG_EXIT_COMPONENT:
        if scanner.stopped:
            return stopped_verdict(scanner)
        return Verdict(EXIT_FAILED, "isa-debug-exit 0x12 (an essential component "
                       "stopped), but the serial console never said which")
    if scanner.stopped:
        return Verdict(EXIT_FAILED, "essential component '%s' stopped (%s), but qemu "
                       "exited with status %d, not through the kernel's exit path"
                       % (scanner.stopped[0], scanner.stopped[2], rc))
    if rc == 0:
        if log_has_triple_fault(log_path):
            return Verdict(EXIT_FAILED, "triple fault (see %s)" % rel(log_path))
        if scanner.clean:
            return Verdict(EXIT_FAILED, "'cos: shutdown: clean' was printed, but the "
                           "guest reset or powered off without isa-debug-exit")
        return Verdict(EXIT_FAILED, "guest reset without shutdown")
    if rc < 0:
        return Verdict(EXIT_FAILED, "qemu crashed (killed by %s)" % signal_name(-rc))
    if rc % 2 == 1 and rc >= 3:
        return Verdict(EXIT_FAILED, "guest exited via isa-debug-exit with unexpected "
                       "value 0x%x (status %d)" % (rc >> 1, rc))
    detail = relay.last()
    return Verdict(EXIT_FAILED, "qemu failed (exit status %d)%s"
                   % (rc, ": " + detail if detail else ""))


def boot(system, accel="auto", timeout=0, icount=False, gdb_port=None):
    """Boot `system` under QEMU with the console on this terminal; return a Verdict."""
    if gdb_port is not None:
        accel_name, cpu, why = "tcg", TCG_CPU, "the gdb stub needs TCG"
    else:
        accel_name, cpu, why = choose_accel(accel, icount)
    log_path = system.dir / "qemu.log"
    argv = command_line(system, accel_name, cpu, log_path, icount, gdb_port)
    info("qemu: accel=%s cpu=%s%s (%s)" % (accel_name, cpu,
                                           " icount" if icount else "", why))
    try:
        os.unlink(log_path)
    except FileNotFoundError:
        pass
    with open(system.dir / "qemu.cmdline", "w") as f:
        f.write(quote_cmd(argv) + "\n")
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True,
                                preexec_fn=die_with_parent)
    except FileNotFoundError:
        raise CosError("%s not found; run 'cos setup'" % QEMU)
    watchdog = Watchdog(proc.pid)
    relay = StderrRelay()
    scanner = LineScanner(system.input_ready_marker(), system.input_ready_count())
    session = Session(proc, proc.stdout.fileno(), proc.stdin.fileno(), scanner,
                      timeout=timeout, transcript=system.dir / "serial.log",
                      aux={proc.stderr.fileno(): relay})
    try:
        result = session.run()
    finally:
        watchdog.disarm()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            try:
                pipe.close()
            except OSError:
                pass
    relay.flush()
    verdict = classify(result, scanner, log_path, relay, timeout)
    return verdict or clean_verdict("qemu/%s" % accel_name, result)
