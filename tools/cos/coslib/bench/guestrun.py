"""What `cos bench net` and `cos bench blk` share: the benchmark's guest
programs (guest/bench/*.c, compiled like the initramfs' init), a Linux
system of their own under system_binaries/bench-<what>/, sessions of
`./cos run` with commands piped to the guest's shell, and simple_vmm's
end-of-run report (exits, virtio counters) per VM, and the exit counts the
guest programs print around a transfer (cos_exits.h)."""

import os
import re
import subprocess

from ..common import REPO, CosError, build_dir, info, quote_cmd, rel
from ..outcome import EXIT_FAILED, EXIT_OK
from ..systems import System, prepare_for_run
from .common import compose_system, run_streaming

GUEST_BENCH_SOURCES = REPO / "guest" / "bench"
EXTRA_WAIT_S = 300   # seconds past --timeout before we stop ./cos run ourselves

VIRT_RE = re.compile(r"cos: virtualization: (.*)$")
END_RE = re.compile(r"simple_vmm: guest (powered off|rebooted|triple-faulted|stopped|"
                    r"exited through isa-debug-exit) after (\d+) exits")
REASONS_RE = re.compile(r"simple_vmm: exits by reason:(.*)$")
NET_RE = re.compile(r"simple_vmm: virtio-net: sent (\d+) frames \((\d+) bytes, (\d+) dropped, "
                    r"(\d+) bad\), received (\d+) frames \((\d+) bytes, (\d+) dropped\)")
BLK_RE = re.compile(r"simple_vmm: virtio-blk: (\d+) requests ok, (\d+) I/O errors, "
                    r"(\d+) unsupported; (\d+) sectors read, (\d+) written")

EXITS_MEANING = (
    "VM exits during the transfer, read by the guest program itself from simple_vmm's exit "
    "counters (CPUID leaf 0x40000100, guest/bench/cos_exits.h) just before it starts and "
    "just after it ends: every exit of that VM's vCPU in between (total: including host "
    "interrupts the kernel handled itself; by reason: those the VMM handled), so timer and "
    "other interrupts during the transfer count too, and so do the 33 CPUID exits of "
    "reading the counters once; per_mib: total / MiB moved (per_read: total / reads)")


def guest_program(name):
    """build/x86_64/guest/bench/<name> from guest/bench/<name>.c, compiled with
    `gcc -static -Os -s` when missing or older than its source. Returns the path."""
    src = GUEST_BENCH_SOURCES / (name + ".c")
    out = build_dir() / "guest" / "bench" / name
    newest = max(p.stat().st_mtime for p in [src] + list(GUEST_BENCH_SOURCES.glob("*.h")))
    if out.is_file() and out.stat().st_mtime >= newest:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = ["gcc", "-static", "-Os", "-s", "-Wall", "-Wextra", "-o", str(out) + ".tmp",
            str(src)]
    info("compiling %s" % rel(src))
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise CosError("'%s' failed:\n%s" % (quote_cmd(argv), proc.stdout[-3000:]))
    os.replace(str(out) + ".tmp", out)
    return out


def prepare_system(script, name, overrides):
    """Make system_binaries/<name> current: compose `script` with the `--set`
    `overrides` into it when it is missing or was composed from another script
    or with other overrides, else rebuild/recompose only what is stale (as
    `./cos run` does). Returns the System."""
    system = System(name)
    recorded = system.recorded_script()
    if recorded is not None and recorded.resolve() == script.resolve() and \
            system.iso.is_file() and system.recorded_overrides() == list(overrides):
        return prepare_for_run(name)
    return compose_system(script, name, overrides)


def run_argv(name, emulator, timeout):
    """The `./cos run` command line of one session (QEMU: TCG, no -icount)."""
    argv = [str(REPO / "cos"), "run", name, "--emulator", emulator, "--timeout", "%g" % timeout]
    if emulator == "qemu":
        argv += ["--accel", "tcg"]
    return argv


def session(name, emulator, timeout, commands, label):
    """One `./cos run <name>` with `commands` piped to the guest's shell;
    returns the StreamRun (its lines are timed on the host)."""
    argv = run_argv(name, emulator, timeout)
    info("%s: %s <<< %r" % (label, quote_cmd(["./cos"] + argv[1:]), commands))
    return run_streaming(argv, commands, timeout + EXTRA_WAIT_S if timeout else 0, {})


def run_emulators(args, script, name, commands, parse, label):
    """The sessions of one guest benchmark: for each emulator of
    `args.emulator` (qemu, bochs, or all: both), makes system `name` current
    from `script` (with args.set), runs `commands` in it and turns the
    session into a record with `parse(session)` plus the emulator, the
    command, the input and the backend. Returns (records, exit status)."""
    results, status = [], EXIT_OK
    for emulator in (("qemu", "bochs") if args.emulator == "all" else (args.emulator,)):
        info("%s: making %s current" % (label, rel(System(name).dir)))
        prepare_system(script, name, args.set)
        s = session(name, emulator, args.timeout, commands, "%s: %s" % (label, emulator))
        rec = parse(s)
        backend, virt = virtualization(s.lines)
        rec.update({"emulator": emulator, "accel": "tcg" if emulator == "qemu" else None,
                    "command": quote_cmd(["./cos"] + run_argv(name, emulator, args.timeout)[1:]),
                    "input": commands, "backend": backend, "virtualization": virt})
        if not rec["ok"]:
            info("%s: %s run failed: %s (console: %s)" % (
                label, emulator, rec["problem"], rel(System(name).dir / "serial.log")))
            status = EXIT_FAILED
        results.append(rec)
    return results, status


def print_intro(title, script, what, name, columns):
    """The lines above a guest benchmark's table: `title`, the script and
    `what` it runs, the system it was composed as, that the figures are host
    wall clock under emulation, then `columns` (preformatted lines saying
    what each column means)."""
    print()
    print("%s: %s (%s),\n"
          "composed as %s. Host wall-clock figures under emulation (QEMU TCG without\n"
          "-icount; Bochs): noisy, they depend on the host and its load. Not a test."
          % (title, rel(script), what, name))
    for line in columns:
        print(line)


def virtualization(lines):
    """(backend, description) from `cos: virtualization: ...`, or (None, None)."""
    for line in lines:
        m = VIRT_RE.search(line)
        if m:
            virt = m.group(1).strip()
            return virt.split(" (")[0], virt
    return None, None


def parse_vm_reports(lines):
    """simple_vmm's end-of-run reports, in the order they were printed: one
    dict per VM with `end`, `exits_total`, `exits_by_reason` {reason: n},
    and, when the VM had the device, `net` {tx_frames, tx_bytes, tx_dropped,
    tx_bad, rx_frames, rx_bytes, rx_dropped} and `blk` {ok, io_errors,
    unsupported, sectors_read, sectors_written}. A report starts at
    `simple_vmm: guest ... after N exits`; the lines after it belong to it."""
    reports = []
    for line in lines:
        m = END_RE.search(line)
        if m:
            reports.append({"end": m.group(1), "exits_total": int(m.group(2)),
                            "exits_by_reason": {}})
            continue
        if not reports:
            continue
        cur = reports[-1]
        m = REASONS_RE.search(line)
        if m:
            for item in m.group(1).split():
                key, _, value = item.partition("=")
                if value.isdigit():
                    cur["exits_by_reason"][key] = int(value)
            continue
        m = NET_RE.search(line)
        if m:
            cur["net"] = dict(zip(("tx_frames", "tx_bytes", "tx_dropped", "tx_bad",
                                   "rx_frames", "rx_bytes", "rx_dropped"),
                                  map(int, m.groups())))
            continue
        m = BLK_RE.search(line)
        if m:
            cur["blk"] = dict(zip(("ok", "io_errors", "unsupported", "sectors_read",
                                   "sectors_written"), map(int, m.groups())))
    return reports


def parse_exits_line(lines, prefix, what):
    """The counts of the first `<prefix>: exits <what>: total=N reason=N ...`
    line (cos_exits.h), as {"total": N, "by_reason": {reason: N}}, or None."""
    pattern = re.compile(re.escape(prefix) + r": exits " + re.escape(what) + r": total=(\d+)(.*)$")
    for line in lines:
        m = pattern.search(line)
        if m:
            by_reason = {}
            for item in m.group(2).split():
                key, _, value = item.partition("=")
                if value.isdigit():
                    by_reason[key] = int(value)
            return {"total": int(m.group(1)), "by_reason": by_reason}
    return None


def per_unit(exits, units):
    """exits["total"] / units, rounded to 0.1; None without both."""
    if not exits or not units or units <= 0:
        return None
    return round(exits["total"] / units, 1)


def host_interval(run, start_re, end_re):
    """Host seconds from the first console line matching `start_re` to the
    first later one matching `end_re` (their arrival on our pipe), and the
    end line's match; (None, None) when either is missing."""
    start = None
    for line, t in zip(run.lines, run.line_times):
        if start is None:
            if re.search(start_re, line):
                start = t
            continue
        m = re.search(end_re, line)
        if m:
            return round(t - start, 3), m
    return None, None


def run_problem(run):
    """Why a session failed as a whole (stopped, non-zero status), or None."""
    failed = [l.split("cos: run failed: ", 1)[1] for l in run.stderr_lines
              if "cos: run failed: " in l]
    if run.killed:
        return "./cos run did not return (stopped by cos bench)"
    if run.status != 0:
        return "./cos run exited with status %d%s" % (
            run.status, " (%s)" % failed[-1] if failed else "")
    return None


def host_info():
    """The host the figures were measured on: name, CPU model, CPUs, load."""
    import platform
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {"name": platform.node(), "cpu": model, "cpus": os.cpu_count(),
            "loadavg_at_start": load}
