"""`cos bench boot`: Linux in simple_vmm (composition_scripts/simple_vmm.toml,
composed into system_binaries/bench-boot/ so a `./cos run vm` at the same
time cannot share its files), booted --runs times per emulator with
`./cos run bench-boot` and `poweroff -f` piped in: host wall-clock seconds to
the guest init's line and to the clean shutdown (median/min/max), the stages
from the emulator's start (to the cos kernel's first line, to the guest's
init), and the VM exits by reason. Under QEMU it also boots the same guest
kernel, initramfs and command line as plain Linux with QEMU's -kernel (no cos)
and prints the ratio of the two emulator-start-to-init times. A table, and
build/x86_64/bench/boot.json."""

import os
import re
import select
import statistics
import subprocess
import time

from ..common import REPO, SCRIPTS_DIR, info, quote_cmd, rel
from ..proc import die_with_parent
from ..console import CLEAN_MARKER
from ..outcome import EXIT_FAILED, EXIT_OK
from ..systems import System
from .guestrun import prepare_system
from .common import git_commit, now_iso, positive, run_streaming, write_record

BOOT_SCRIPT = SCRIPTS_DIR / "simple_vmm.toml"   # system "vm": Linux in simple_vmm
BOOT_SYSTEM = "bench-boot"               # its own copy, so `./cos run vm` elsewhere cannot clash
BOOT_INPUT = "poweroff -f\n"             # read by the guest's shell once it runs
KERNEL_MARKER = "cos: kernel starting"
# ./cos run's line just before it starts the emulator (stderr).
EMULATOR_MARKER = {"qemu": "cos: qemu: accel=", "bochs": "cos: bochs: cpu="}
INIT_MARKER = "Hello Initramfs in special bootloader!"
VIRT_RE = re.compile(r"cos: virtualization: (.*)$")
EXITS_TOTAL_RE = re.compile(r"simple_vmm: guest (powered off|rebooted|crashed|stopped) "
                            r"after (\d+) exits")
EXITS_REASON_RE = re.compile(r"simple_vmm: exits by reason:(.*)$")
BOOT_EXTRA_WAIT = 300                    # seconds past --timeout before we stop ./cos run

BOOT_MEANING = (
    "host wall-clock seconds (time.monotonic) from starting `./cos run %s` to the guest "
    "init's line '%s' and to the kernel's '%s' after the shell ran `poweroff -f`; they "
    "include ./cos run's build check, the emulator's start, the BIOS and GRUB. Measured "
    "under emulation (QEMU TCG without -icount, Bochs), they are noisy and depend on the "
    "host and its load: a benchmark, not a test" % (BOOT_SYSTEM, INIT_MARKER, CLEAN_MARKER))
EXITS_MEANING = (
    "counted by simple_vmm from the vCPU's start until the guest powered off (the boot "
    "plus the shell running `poweroff -f`); by reason: the exits the VMM handled; the "
    "total also counts host interrupts the kernel handled itself")


def prepare_boot_system(overrides):
    """Make system_binaries/bench-boot current from simple_vmm.toml with the
    `--set` `overrides`, as `./cos run` does for its systems (guestrun.py
    prepare_system). Returns the System."""
    return prepare_system(BOOT_SCRIPT, BOOT_SYSTEM, overrides)


def boot_command(emulator, timeout):
    """The `./cos run` command line of one timed boot (QEMU: always TCG)."""
    argv = [str(REPO / "cos"), "run", BOOT_SYSTEM, "--emulator", emulator,
            "--timeout", "%g" % timeout]
    if emulator == "qemu":
        argv += ["--accel", "tcg"]
    return argv


def boot_once(argv, timeout, emulator):
    """One timed `./cos run bench-boot ...` with BOOT_INPUT on its stdin (a StreamRun)."""
    return run_streaming(argv, BOOT_INPUT, timeout + BOOT_EXTRA_WAIT if timeout else 0,
                         {"emulator": EMULATOR_MARKER[emulator], "kernel": KERNEL_MARKER,
                          "init": INIT_MARKER, "shutdown": CLEAN_MARKER})


def plain_linux_command(system):
    """QEMU booting the system's guest (kernel, initramfs, command line, RAM
    from system.json) directly with -kernel, as plain Linux without cos, on
    the same CPU model; or None when system.json does not describe a guest."""
    from ..qemu import QEMU, TCG_CPU
    for comp in system.meta().get("components") or []:
        guest = comp.get("guest") if isinstance(comp, dict) else None
        if isinstance(guest, dict) and guest.get("kernel") and guest.get("initramfs"):
            return [QEMU, "-machine", "pc", "-m", str(guest.get("ram_mib", 256)),
                    "-display", "none", "-no-reboot", "-serial", "stdio",
                    "-accel", "tcg", "-cpu", TCG_CPU,
                    "-kernel", str(system.dir / guest["kernel"]),
                    "-initrd", str(system.dir / guest["initramfs"]),
                    "-append", str(guest.get("cmdline", "console=ttyS0"))]
    return None


def plain_linux_once(argv, limit_s=600):
    """One timed plain-Linux boot: seconds from QEMU's start to the init's
    line, then QEMU is stopped (None if the line did not come within
    limit_s seconds or QEMU ended first)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
    seen = b""
    try:
        while time.monotonic() - start < limit_s:
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if not ready:
                continue
            data = os.read(proc.stdout.fileno(), 65536)
            if not data:
                return None
            seen = (seen + data)[-4096:]
            if INIT_MARKER.encode() in seen:
                return _round(time.monotonic() - start)
        return None
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def parse_boot_run(run, index):
    """The JSON record of one timed run (a StreamRun), with `ok` and the reason when not."""
    backend = virt = end = total = None
    by_reason = {}
    for line in run.lines:
        m = VIRT_RE.search(line)
        if m and virt is None:
            virt = m.group(1).strip()
            backend = virt.split(" (")[0]
        m = EXITS_TOTAL_RE.search(line)
        if m:
            end, total = m.group(1), int(m.group(2))
        m = EXITS_REASON_RE.search(line)
        if m:
            by_reason = {}
            for item in m.group(1).split():
                key, _, value = item.partition("=")
                if value.isdigit():
                    by_reason[key] = int(value)
    failed = [l.split("cos: run failed: ", 1)[1] for l in run.stderr_lines
              if "cos: run failed: " in l]
    problem = None
    if run.killed:
        problem = "./cos run did not return (stopped by cos bench)"
    elif run.status != 0:
        problem = "./cos run exited with status %d%s" % (
            run.status, " (%s)" % failed[-1] if failed else "")
    elif "init" not in run.times:
        problem = "the guest's init never printed '%s'" % INIT_MARKER
    elif end != "powered off":
        problem = ("simple_vmm did not report a power-off" if end is None
                   else "the guest %s instead of powering off" % end)
    elif not by_reason:
        problem = "no 'simple_vmm: exits by reason' line"
    recomposed = any("cos: composing " in l for l in run.stderr_lines)
    return {
        "run": index,
        "ok": problem is None,
        "problem": problem,
        "status": run.status,
        "emulator_s": _round(run.times.get("emulator")),
        "kernel_s": _round(run.times.get("kernel")),
        "emulator_to_kernel_s": _since(run.times, "emulator", "kernel"),
        "emulator_to_init_s": _since(run.times, "emulator", "init"),
        "init_s": _round(run.times.get("init")),
        "shutdown_s": _round(run.times.get("shutdown")),
        "exit_s": _round(run.times.get("exit")),
        "recomposed": recomposed,
        "backend": backend,
        "virtualization": virt,
        "guest_end": end,
        "exits_total": total,
        "exits_by_reason": by_reason,
    }


def _round(seconds):
    return None if seconds is None else round(seconds, 3)


def _since(times, start, end):
    """Seconds from marker `start` to marker `end`, or None."""
    if start not in times or end not in times:
        return None
    return _round(times[end] - times[start])


def _spread(values):
    return {"median": _round(statistics.median(values)), "min": _round(min(values)),
            "max": _round(max(values))} if values else None


def summarise_boot(records):
    """Median/min/max over the good runs; exits of the median run (by time to init)."""
    good = [r for r in records if r["ok"]]
    if not good:
        return None
    by_init = sorted(good, key=lambda r: r["init_s"])
    median_run = by_init[(len(by_init) - 1) // 2]  # the lower middle for an even count
    return {
        "runs_ok": len(good),
        "kernel_s": _spread([r["kernel_s"] for r in good if r["kernel_s"] is not None]),
        "emulator_to_kernel_s": _spread([r["emulator_to_kernel_s"] for r in good
                                         if r["emulator_to_kernel_s"] is not None]),
        "emulator_to_init_s": _spread([r["emulator_to_init_s"] for r in good
                                       if r["emulator_to_init_s"] is not None]),
        "init_s": _spread([r["init_s"] for r in good]),
        "shutdown_s": _spread([r["shutdown_s"] for r in good]),
        "exit_s": _spread([r["exit_s"] for r in good]),
        "median_run": median_run["run"],
        "exits_total": median_run["exits_total"],
        "exits_by_reason": median_run["exits_by_reason"],
    }


def boot_table(results):
    """The human-readable table: one row per emulator (runs: good / requested)."""
    fmt = "%-8s  %-9s  %4s  %11s  %6s  %6s  %15s  %11s  %s"
    out = [fmt % ("emulator", "backend", "runs", "init median", "min", "max",
                  "shutdown median", "total exits", "exits by reason (median run)")]
    for res in results:
        s = res["summary"]
        runs = "%d/%d" % (s["runs_ok"] if s else 0, res["runs_requested"])
        if s is None:
            out.append(fmt % (res["emulator"], res["backend"] or "?", runs, "-", "-", "-",
                              "-", "-", "(no successful run)"))
            continue
        out.append(fmt % (res["emulator"], res["backend"] or "?", runs,
                          "%.2f" % s["init_s"]["median"], "%.2f" % s["init_s"]["min"],
                          "%.2f" % s["init_s"]["max"], "%.2f" % s["shutdown_s"]["median"],
                          s["exits_total"],
                          " ".join("%s=%d" % kv for kv in s["exits_by_reason"].items())))
    return "\n".join(out)


def run(args):
    """`cos bench boot`."""
    positive(args.runs, "--runs")
    runs = args.runs or 3
    emulators = ("qemu", "bochs") if args.emulator == "all" else (args.emulator,)
    results = []
    status = EXIT_OK
    for emulator in emulators:
        info("bench boot: making %s current for %s" % (rel(System(BOOT_SYSTEM).dir), emulator))
        system = prepare_boot_system(args.set)
        argv = boot_command(emulator, args.timeout)
        records = []
        for i in range(1, runs + 1):
            info("bench boot: %s run %d/%d: %s" % (emulator, i, runs,
                                                   quote_cmd(["./cos"] + argv[1:])))
            run = boot_once(argv, args.timeout, emulator)
            rec = parse_boot_run(run, i)
            records.append(rec)
            if rec["recomposed"]:
                info("warning: ./cos run recomposed the system during run %d; its time "
                     "includes that" % i)
            if not rec["ok"]:
                info("bench boot: %s run %d failed: %s (console: %s); skipping the "
                     "remaining %s runs" % (emulator, i, rec["problem"],
                                            rel(system.dir / "serial.log"), emulator))
                status = EXIT_FAILED
                break
            info("bench boot: %s run %d: init after %.2f s, clean shutdown after %.2f s, "
                 "%s exits" % (emulator, i, rec["init_s"], rec["shutdown_s"],
                               rec["exits_total"]))
        plain = []
        plain_argv = plain_linux_command(system) if emulator == "qemu" else None
        for i in range(1, (runs + 1) if plain_argv else 1):
            info("bench boot: plain Linux run %d/%d: %s" % (i, runs, quote_cmd(plain_argv)))
            t = plain_linux_once(plain_argv, args.timeout or 600)
            if t is None:
                info("bench boot: the plain Linux boot did not reach init; no ratio")
                plain = []
                break
            plain.append(t)
        backends = [r["backend"] for r in records if r["backend"]]
        virts = [r["virtualization"] for r in records if r["virtualization"]]
        results.append({
            "emulator": emulator,
            "accel": "tcg" if emulator == "qemu" else None,
            "command": quote_cmd(["./cos"] + argv[1:]),
            "backend": backends[0] if backends else None,
            "virtualization": virts[0] if virts else None,
            "runs_requested": runs,
            "summary": summarise_boot(records),
            "runs": records,
            "plain_linux_init_s": _spread(plain),
            "plain_linux_command": quote_cmd(plain_argv) if plain else None,
        })
    print()
    print("Linux boot benchmark: %s (system 'vm': simple_vmm boots Debian's\n"
          "cloud kernel with the busybox initramfs), composed as %s; %d run%s per emulator,\n"
          "`poweroff -f` piped in." % (rel(BOOT_SCRIPT), BOOT_SYSTEM, runs,
                                       "" if runs == 1 else "s"))
    print("These are host wall-clock times under emulation (QEMU TCG without -icount; Bochs):"
          " noisy,\nthey depend on the host and its load. A benchmark, not a test.")
    print("  init:     seconds from starting `./cos run %s` to the guest init's line\n"
          "            '%s' (includes ./cos run's build check,\n"
          "            the emulator's start, BIOS, GRUB, the cos kernel and simple_vmm)"
          % (BOOT_SYSTEM, INIT_MARKER))
    print("  shutdown: seconds to '%s' after the guest's shell ran `poweroff -f`"
          % CLEAN_MARKER)
    print("  exits:    counted by simple_vmm from the vCPU's start to the guest's power-off "
          "(boot,\n            shell, poweroff); by reason: the exits the VMM handled; the "
          "total also\n            counts host interrupts the kernel handled")
    print(boot_table(results))
    for r in results:
        s = r["summary"]
        if not s or not s["emulator_to_init_s"]:
            continue
        line = ("%s, median seconds from the emulator's start: %.2f to the cos kernel's first "
                "line, %.2f to the guest's init" % (r["emulator"], s["emulator_to_kernel_s"]["median"],
                                                     s["emulator_to_init_s"]["median"]))
        plain = r.get("plain_linux_init_s")
        if plain:
            ratio = s["emulator_to_init_s"]["median"] / plain["median"]
            r["ratio_to_plain_linux"] = round(ratio, 3)
            line += ("\n  plain Linux (the same kernel, initramfs and command line, QEMU -kernel, "
                     "no cos): %.2f to init;\n  cos/plain = %.2f" % (plain["median"], ratio))
        print(line)
    record = {
        "benchmark": "boot",
        "system": BOOT_SYSTEM,
        "script": rel(BOOT_SCRIPT),
        "runs_per_emulator": runs,
        "input": BOOT_INPUT,
        "timeout_s": args.timeout,
        "overrides": list(args.set),
        "times": BOOT_MEANING,
        "exits": EXITS_MEANING,
        "date": now_iso(),
        "commit": git_commit(),
        "run_status": status,
        "emulators": results,
    }
    write_record("boot", record)
    return status


