"""`cos bench vmexit`: composition_scripts/vm_exit_bench.toml, a guest's
port-I/O, CPUID and hypercall exits handled by a user-level VMM component.

Two modes:
  cycles (default)  QEMU TCG with -icount shift=0 (or Bochs): mean TSC cycles
                    per round trip; deterministic, so before/after comparisons
                    of the exit path are exact.
  --host-time       QEMU TCG without -icount, 100,000 round trips per kind by
                    default: exits per host second, timed two ways: by the
                    kernel's clock (which follows the host's under TCG) and by
                    the host, between the VMM's 'timing starts'/'timing ends'
                    console lines for each kind. That is the method of
                    ../shared/baselines/kvm-tcg-baseline (its README), so
                    --kvm-baseline PATH runs that script right after, in the
                    same session, and prints cos's rate / KVM's.
"""

import os
import re
import subprocess

from ..common import REPO, SCRIPTS_DIR, CosError, info, rel
from ..outcome import EXIT_FAILED, EXIT_OK
from ..systems import System
from .common import (CYCLES_MEANING, compose_and_boot, compose_system, git_commit, now_iso,
                     parse_guest_json, positive, run_streaming, write_record)

SCRIPT = SCRIPTS_DIR / "vm_exit_bench.toml"
SYSTEM = "bench-vmexit"
HOST_TIME_ITERATIONS = 100000   # the KVM baseline's N_EXITS default

ROWS = [
    ("pio", "port I/O (OUT to port 0x510)"),
    ("cpuid", "CPUID (leaf 0)"),
    ("hypercall", "hypercall (VMCALL/VMMCALL)"),
]

BACKEND_NAMES = {"svm": "AMD SVM", "vmx": "Intel VMX"}

# What each kind is compared with in the KVM baseline's output: KVM's OUT exit
# goes to its userspace VMM (like ours), its CPUID is handled inside L1's
# kernel (ours still goes to the user-level VMM).
KVM_KEYS = {
    "pio": ("kvm_out_exits_per_host_s", "KVM OUT exit to its userspace VMM"),
    "cpuid": ("kvm_cpuid_exits_per_host_s", "KVM CPUID handled in L1's kernel"),
}


def cycles_table(data):
    """The table of the cycles mode: round trips, mean cycles, exits/second."""
    results = data.get("results", {})
    out = ["%-32s %12s %12s %14s" % ("exit kind", "round trips", "mean cycles", "exits/second")]
    for key, label in ROWS:
        r = results.get(key)
        if r is None:
            out.append("%-32s %12s %12s %14s" % (label, "-", "-", "-"))
            continue
        trips = r.get("round_trips", 0)
        mean = r["cycles"] / trips if trips else float("nan")
        rate = trips * 1e6 / r["elapsed_us"] if r.get("elapsed_us") else float("nan")
        out.append("%-32s %12d %12.1f %14.0f" % (label, trips, mean, rate))
    return "\n".join(out)


def _cycles(args, overrides):
    icount = args.emulator == "qemu"
    verdict, serial = compose_and_boot(SCRIPT, SYSTEM, overrides, args.emulator, args.timeout,
                                       icount)
    status = verdict.report()
    data = parse_guest_json(serial, "vm_exit_bench")
    if data is None:
        info("error: the VMM printed no 'vm_exit_bench: json' line (see %s)"
             % rel(System(SYSTEM).dir / "serial.log"))
        return EXIT_FAILED
    backend = data.get("backend", "unknown")
    meaning = CYCLES_MEANING[args.emulator]
    print()
    print("VM-exit benchmark (%s, %s backend, %s vCPU; %d round trips per kind after %d "
          "warm-up, TSC cycles)" % (args.emulator, BACKEND_NAMES.get(backend, backend),
                                    data.get("mode", "?"), data.get("iterations", 0),
                                    data.get("warmup", 0)))
    print(meaning)
    print("A round trip: guest exit -> kernel -> VMM handler (vmrt run loop, registers only) "
          "-> guest. Exits per second use the kernel's time base (%s)."
          % ("virtual time: -icount shift=0 makes one instruction 1 ns" if icount
             else "Bochs' emulated time"))
    print(cycles_table(data))
    write_record("vmexit", {
        "benchmark": "vmexit",
        "mode": "cycles",
        "emulator": args.emulator,
        "backend": backend,
        "qemu_args": "-accel tcg -icount shift=0" if icount else None,
        "cycles": meaning,
        "overrides": overrides,
        "date": now_iso(),
        "commit": git_commit(),
        "run_status": status,
        "guest": data,
    })
    if status == EXIT_OK and "(with errors)" in serial:
        return EXIT_FAILED
    return status


def _phase_markers():
    markers = {}
    for key, _ in ROWS:
        markers[key + ".start"] = "vm_exit_bench: %s timing starts" % key
        markers[key + ".end"] = "vm_exit_bench: %s timing ends" % key
    return markers


def host_rates(run, iterations):
    """Exits per host second for each kind, from when the VMM's phase lines
    arrived (None for a kind whose lines are missing or coincide)."""
    rates = {}
    for key, _ in ROWS:
        t0, t1 = run.times.get(key + ".start"), run.times.get(key + ".end")
        rates[key] = iterations / (t1 - t0) if t0 is not None and t1 is not None and t1 > t0 \
            else None
    return rates


def run_kvm_baseline(path, iterations, timeout):
    """Runs the KVM baseline script with N_EXITS=iterations; returns its
    key=value output as a dict (values as strings)."""
    if not os.access(path, os.X_OK):
        raise CosError("--kvm-baseline: %s is not an executable file" % path, status=2)
    info("running the KVM baseline %s (N_EXITS=%d; progress on stderr)" % (path, iterations))
    env = dict(os.environ, N_EXITS=str(iterations))
    try:
        proc = subprocess.run([path], stdout=subprocess.PIPE, env=env, text=True,
                              timeout=timeout or None)
    except subprocess.TimeoutExpired:
        raise CosError("the KVM baseline did not finish within %g s" % timeout)
    values = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep and re.match(r"^[a-z0-9_]+$", key):
            values[key] = value.strip()
    if proc.returncode != 0:
        raise CosError("the KVM baseline failed (exit status %d)" % proc.returncode)
    return values


def _host_time(args, overrides):
    if args.emulator != "qemu":
        raise CosError("--host-time runs QEMU TCG (the KVM baseline's emulator); "
                       "drop --emulator bochs", status=2)
    iterations = args.iterations or HOST_TIME_ITERATIONS
    overrides = ["vm_exit_bench.params.iterations=%d" % iterations] + overrides
    compose_system(SCRIPT, SYSTEM, overrides)
    argv = [str(REPO / "cos"), "run", SYSTEM, "--accel", "tcg",
            "--timeout", "%g" % args.timeout]
    info("running %s" % " ".join(["./cos"] + argv[1:]))
    run = run_streaming(argv, "", 0, _phase_markers())
    data = parse_guest_json("\n".join(run.lines), "vm_exit_bench")
    if run.status != 0 or data is None:
        info("error: %s (console: %s)" % (
            "./cos run exited with status %d" % run.status if run.status != 0
            else "the VMM printed no 'vm_exit_bench: json' line",
            rel(System(SYSTEM).dir / "serial.log")))
        return EXIT_FAILED
    rates = host_rates(run, iterations)
    kvm = run_kvm_baseline(args.kvm_baseline, iterations, args.timeout) \
        if args.kvm_baseline else None
    backend = data.get("backend", "unknown")
    print()
    print("VM-exit benchmark, host time (QEMU TCG without -icount, %s backend, %s vCPU; "
          "%d round trips per kind after %d warm-up)"
          % (BACKEND_NAMES.get(backend, backend), data.get("mode", "?"), iterations,
             data.get("warmup", 0)))
    print("host: round trips / host seconds between the VMM's 'timing starts' and 'timing "
          "ends' lines\n(how the KVM baseline times its loops); kernel clock: the VMM's own "
          "count, timed by the\ncos kernel's clock, which follows the host's under TCG.")
    fmt = "%-32s %14s %14s %14s %8s"
    print(fmt % ("exit kind", "exits/host s", "kernel clock", "KVM /host s", "cos/KVM"))
    ratios = {}
    results = data.get("results", {})
    for key, label in ROWS:
        host = rates.get(key)
        own = results.get(key, {}).get("exits_per_second")
        kvm_rate = None
        if kvm is not None and key in KVM_KEYS:
            try:
                kvm_rate = float(kvm.get(KVM_KEYS[key][0], ""))
            except ValueError:
                kvm_rate = None
        ratio = host / kvm_rate if host and kvm_rate else None
        if ratio is not None:
            ratios[key] = round(ratio, 3)
        print(fmt % (label, "%.0f" % host if host else "-", own if own is not None else "-",
                     "%.0f" % kvm_rate if kvm_rate else "-",
                     "%.2f" % ratio if ratio is not None else "-"))
    if kvm is not None:
        print("KVM: %s, %s; %s (its README: ../shared/baselines/README.txt)" % (
            kvm.get("emulator", "?"), kvm.get("kernel", "?"),
            "; ".join("%s = %s" % (k, desc) for k, desc in KVM_KEYS.values())))
    write_record("vmexit-host", {
        "benchmark": "vmexit",
        "mode": "host-time",
        "emulator": "qemu",
        "backend": backend,
        "qemu_args": "-accel tcg",
        "iterations": iterations,
        "overrides": overrides,
        "date": now_iso(),
        "commit": git_commit(),
        "host_exits_per_s": {k: round(v) if v else None for k, v in rates.items()},
        "kvm_baseline": kvm,
        "cos_over_kvm": ratios,
        "guest": data,
    })
    missing = [k for k, v in rates.items() if v is None]
    if missing:
        info("error: no host timing for %s (the VMM's phase lines are missing)"
             % ", ".join(missing))
        return EXIT_FAILED
    return EXIT_OK


def run(args):
    """`cos bench vmexit`."""
    positive(args.iterations, "--iterations")
    if args.kvm_baseline and not args.host_time:
        raise CosError("--kvm-baseline compares host-time rates: add --host-time", status=2)
    overrides = list(args.set)
    if args.host_time:
        return _host_time(args, overrides)
    if args.iterations:
        overrides.insert(0, "vm_exit_bench.params.iterations=%d" % args.iterations)
    return _cycles(args, overrides)
