"""`cos bench`: benchmarks and long runs that are not tests.

  cos bench ipc   composition_scripts/ipc_bench.toml under QEMU TCG with
                  -icount shift=0 (or Bochs): prints a table of median and
                  minimum cycles and writes build/x86_64/bench/ipc.json
  cos bench vmexit
                  composition_scripts/vm_exit_bench.toml under QEMU TCG with
                  -icount shift=0 (AMD SVM) or Bochs (Intel VMX): port-I/O,
                  CPUID and hypercall exits handled in a VMM component; prints
                  mean cycles per round trip and exits per second for each
                  kind and writes build/x86_64/bench/vmexit.json
  cos bench fuzz  composition_scripts/syscall_fuzz.toml with 1,000,000 calls
                  (--calls, --seed) under QEMU TCG with -icount shift=0 (a
                  deterministic run) or Bochs: prints the outcome
  cos bench boot  composition_scripts/simple_vmm.toml (system `vm`: Linux in
                  simple_vmm), composed into system_binaries/bench-boot/ and
                  booted --runs times per emulator with `./cos run
                  bench-boot`, `poweroff -f` piped in: host wall-clock
                  seconds to the guest init's line and to the clean shutdown
                  (median/min/max) and the VM exits by reason; prints a table
                  and writes build/x86_64/bench/boot.json

For ipc, vmexit and fuzz, parameters are overridden by writing a copy of the
script with other `[component.params]` values to
build/x86_64/bench/<name>.toml and composing that into
system_binaries/bench-<name>/. The guest's console is shown as the system runs
(stdout), and kept in that directory's serial.log, which is what the results
are read from. boot composes the script unchanged (the compose path of
`./cos run`) into its own system_binaries/bench-boot/, so a `./cos run vm` at the
same time cannot share its files, and times `./cos run bench-boot` itself,
reading its console output as it arrives.
"""

import datetime
import json
import os
import re
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path

from . import bochs, qemu
from . import build as buildmod
from .common import REPO, SCRIPTS_DIR, CosError, build_dir, info, quote_cmd, rel
from .console import CLEAN_MARKER, clean_line, write_all
from .outcome import EXIT_FAILED, EXIT_OK
from .proc import die_with_parent
from .systems import System, compose, compose_for_run, prepare_for_run

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def bench_dir():
    """Where benchmark scripts and results go (build/x86_64/bench)."""
    return build_dir() / "bench"


# ---------------------------------------------------------------- scripts with other parameters

def _toml_key(key):
    return key if BARE_KEY.match(key) else json.dumps(key)


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join("%s = %s" % (_toml_key(k), _toml_value(v))
                                for k, v in value.items()) + " }"
    raise CosError("cannot write TOML value %r" % (value,))


def _emit_table(lines, header, table):
    """Append `table` (scalars and arrays first, then sub-tables) under `header`."""
    if header:
        lines.append(header)
    subtables = []
    for key, value in table.items():
        if isinstance(value, dict):
            subtables.append((key, value))
        else:
            lines.append("%s = %s" % (_toml_key(key), _toml_value(value)))
    base = header.strip("[]") if header else ""
    for key, value in subtables:
        _emit_table(lines, "[%s%s]" % (base + "." if base else "", _toml_key(key)), value)


def to_toml(doc):
    """A TOML text for a composition script as parsed by tomllib (no comments)."""
    lines = []
    for key, value in doc.items():
        if key == "component" and isinstance(value, list):
            continue
        if isinstance(value, dict):
            _emit_table(lines, "[%s]" % _toml_key(key), value)
            lines.append("")
        else:
            lines.insert(0, "%s = %s" % (_toml_key(key), _toml_value(value)))
    for comp in doc.get("component") or []:
        lines.append("[[component]]")
        nested = []
        for key, value in comp.items():
            if isinstance(value, dict):
                nested.append((key, value))
            else:
                lines.append("%s = %s" % (_toml_key(key), _toml_value(value)))
        for key, value in nested:
            _emit_table(lines, "[component.%s]" % _toml_key(key), value)
        lines.append("")
    return "\n".join(lines) + "\n"


def script_with_params(script, component, params, out_path, system_name=None):
    """Write a copy of `script` in which `component` has `params` overridden.

    Image paths relative to the original script are made absolute, so the copy
    can live elsewhere. Returns `out_path`.
    """
    if tomllib is None:
        raise CosError("overriding parameters needs Python 3.11 (tomllib)")
    try:
        doc = tomllib.loads(Path(script).read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise CosError("cannot read %s: %s" % (rel(script), e))
    found = False
    for comp in doc.get("component") or []:
        image = comp.get("image")
        if isinstance(image, str) and ("/" in image or image.endswith(".elf")) \
                and not Path(image).is_absolute():
            comp["image"] = str((Path(script).parent / image).resolve())
        if comp.get("name") == component:
            found = True
            comp.setdefault("params", {}).update(params)
    if not found:
        raise CosError("%s has no component '%s'" % (rel(script), component))
    if system_name:
        doc.setdefault("system", {})["name"] = system_name
    header = ("# Generated by ./cos bench from %s with %s; do not edit.\n"
              % (rel(script), ", ".join("%s.%s = %s" % (component, k, v)
                                        for k, v in params.items())))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(header + to_toml(doc))
    return out_path


def compose_and_boot(script, name, emulator, timeout, icount):
    """Build, compose `script` into system_binaries/<name>, boot it; return
    (verdict, serial text)."""
    buildmod.ensure_initialised(stdout_to_stderr=True)
    info("building...")
    buildmod.build(stdout_to_stderr=True)
    info("composing %s -> system_binaries/%s" % (rel(script), name))
    rc = compose(script, name, cwd=REPO, stdout_to_stderr=True, build_first=False)
    if rc != 0:
        raise CosError("composing %s failed (composer exit status %d)" % (rel(script), rc),
                       status=rc)
    system = System(name)
    if emulator == "bochs":
        verdict = bochs.boot(system, timeout=timeout)
    else:
        verdict = qemu.boot(system, accel="tcg" if icount else "auto", timeout=timeout,
                            icount=icount)
    try:
        serial = (system.dir / "serial.log").read_bytes().decode("utf-8", "replace")
    except OSError:
        serial = ""
    serial = serial.replace("\r", "").replace("\0", "")
    return verdict, serial


def git_commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=str(REPO),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        commit = out.stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=str(REPO), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True).stdout.strip()
        return commit + ("-dirty" if dirty else "") if commit else None
    except OSError:
        return None


def _positive(value, what):
    if value is not None and value <= 0:
        raise CosError("%s must be positive" % what, status=2)


# ---------------------------------------------------------------- ipc

IPC_ROWS = [
    ("null_syscall", "null syscall (Op::nop)"),
    ("sinv_roundtrip", "sinv/sret round trip"),
    ("asnd_rcv_roundtrip", "asnd->rcv round trip (2 threads)"),
    ("thread_switch", "thread switch (thd_yield)"),
    ("rdtsc_overhead", "rdtsc overhead (in every row)"),
]

CYCLES_MEANING = {
    "qemu": "QEMU TCG with -icount shift=0: cycles are instruction-driven virtual time, "
            "deterministic (one TSC tick per emulated instruction)",
    "bochs": "Bochs: cycles are Bochs' emulated TSC, which advances once per emulated "
             "instruction (clock sync=none, the default), so they are deterministic too and "
             "close to QEMU's; small differences come from how each emulator counts some "
             "instructions",
}


def parse_ipc_json(serial):
    """The object on the guest's `ipc_bench: json {...}` line, or None."""
    for line in serial.splitlines():
        m = re.search(r"ipc_bench: json (\{.*\})\s*$", line)
        if m:
            try:
                return json.loads(m.group(1))
            except ValueError:
                return None
    return None


def ipc_table(data):
    """The human-readable table for the guest's results."""
    results = data.get("results", {})
    out = ["%-36s %10s %10s %9s" % ("benchmark", "median", "min", "samples")]
    for key, label in IPC_ROWS:
        r = results.get(key)
        if r is None:
            out.append("%-36s %10s %10s %9s" % (label, "-", "-", "-"))
        else:
            out.append("%-36s %10d %10d %9d" % (label, r["median"], r["min"], r["samples"]))
    null, sinv = results.get("null_syscall"), results.get("sinv_roundtrip")
    if null and sinv and null["median"]:
        out.append("sinv round trip / null syscall: %.2f (medians), %.2f (minimums)"
                   % (sinv["median"] / null["median"],
                      sinv["min"] / null["min"] if null["min"] else float("nan")))
    return "\n".join(out)


def bench_ipc(args):
    _positive(args.iterations, "--iterations")
    params = {}
    if args.iterations:
        params["iterations"] = args.iterations
    source = SCRIPTS_DIR / "ipc_bench.toml"
    script = script_with_params(source, "ipc_bench", params, bench_dir() / "ipc_bench.toml")
    icount = args.emulator == "qemu"
    verdict, serial = compose_and_boot(script, "bench-ipc", args.emulator, args.timeout, icount)
    status = verdict.report()
    data = parse_ipc_json(serial)
    if data is None:
        info("error: the guest printed no 'ipc_bench: json' line (see %s)"
             % rel(System("bench-ipc").dir / "serial.log"))
        return EXIT_FAILED
    meaning = CYCLES_MEANING[args.emulator]
    print()
    print("IPC benchmark (%s; %d iterations after %d warm-up, TSC cycles)"
          % (args.emulator, data.get("iterations", 0), data.get("warmup", 0)))
    print(meaning)
    print(ipc_table(data))
    record = {
        "benchmark": "ipc",
        "emulator": args.emulator,
        "qemu_args": "-accel tcg -icount shift=0" if icount else None,
        "cycles": meaning,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "run_status": status,
        "guest": data,
    }
    out = bench_dir() / "ipc.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    info("wrote %s" % rel(out))
    return status


# ---------------------------------------------------------------- vmexit

VMEXIT_ROWS = [
    ("pio", "port I/O (OUT to port 0x510)"),
    ("cpuid", "CPUID (leaf 0)"),
    ("hypercall", "hypercall (VMCALL/VMMCALL)"),
]

BACKEND_NAMES = {"svm": "AMD SVM", "vmx": "Intel VMX"}


def parse_guest_json(serial, prefix):
    """The object on the guest's `<prefix>: json {...}` line, or None."""
    for line in serial.splitlines():
        m = re.search(re.escape(prefix) + r": json (\{.*\})\s*$", line)
        if m:
            try:
                return json.loads(m.group(1))
            except ValueError:
                return None
    return None


def vmexit_table(data):
    """The human-readable table for vm_exit_bench's results."""
    results = data.get("results", {})
    out = ["%-32s %12s %12s %14s" % ("exit kind", "round trips", "mean cycles", "exits/second")]
    for key, label in VMEXIT_ROWS:
        r = results.get(key)
        if r is None:
            out.append("%-32s %12s %12s %14s" % (label, "-", "-", "-"))
            continue
        trips = r.get("round_trips", 0)
        mean = r["cycles"] / trips if trips else float("nan")
        rate = trips * 1e6 / r["elapsed_us"] if r.get("elapsed_us") else float("nan")
        out.append("%-32s %12d %12.1f %14.0f" % (label, trips, mean, rate))
    return "\n".join(out)


def bench_vmexit(args):
    _positive(args.iterations, "--iterations")
    params = {}
    if args.iterations:
        params["iterations"] = args.iterations
    source = SCRIPTS_DIR / "vm_exit_bench.toml"
    script = script_with_params(source, "vm_exit_bench", params, bench_dir() / "vm_exit_bench.toml")
    icount = args.emulator == "qemu"
    verdict, serial = compose_and_boot(script, "bench-vmexit", args.emulator, args.timeout, icount)
    status = verdict.report()
    data = parse_guest_json(serial, "vm_exit_bench")
    if data is None:
        info("error: the VMM printed no 'vm_exit_bench: json' line (see %s)"
             % rel(System("bench-vmexit").dir / "serial.log"))
        return EXIT_FAILED
    backend = data.get("backend", "unknown")
    meaning = CYCLES_MEANING[args.emulator]
    print()
    print("VM-exit benchmark (%s, %s backend; %d round trips per kind after %d warm-up, "
          "TSC cycles)" % (args.emulator, BACKEND_NAMES.get(backend, backend),
                           data.get("iterations", 0), data.get("warmup", 0)))
    print(meaning)
    print("A round trip: guest exit -> kernel -> VMM handler (vmrt run loop, registers only) "
          "-> vcpu_run -> guest. Exits per second use the kernel's time base (%s)."
          % ("virtual time: -icount shift=0 makes one instruction 1 ns" if icount
             else "Bochs' emulated time"))
    print(vmexit_table(data))
    record = {
        "benchmark": "vmexit",
        "emulator": args.emulator,
        "backend": backend,
        "qemu_args": "-accel tcg -icount shift=0" if icount else None,
        "cycles": meaning,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "run_status": status,
        "guest": data,
    }
    out = bench_dir() / "vmexit.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    info("wrote %s" % rel(out))
    if status == EXIT_OK and "(with errors)" in serial:
        return EXIT_FAILED
    return status


# ---------------------------------------------------------------- fuzz

def bench_fuzz(args):
    _positive(args.calls, "--calls")
    if args.seed is not None and args.seed < 0:
        raise CosError("--seed must be >= 0", status=2)
    params = {"calls": args.calls}
    if args.seed is not None:
        params["seed"] = args.seed
    source = SCRIPTS_DIR / "syscall_fuzz.toml"
    script = script_with_params(source, "syscall_fuzz", params, bench_dir() / "syscall_fuzz.toml")
    icount = args.emulator == "qemu"
    verdict, serial = compose_and_boot(script, "bench-fuzz", args.emulator, args.timeout, icount)
    status = verdict.report()
    seed = re.search(r"^fuzz: seed (\d+), (\d+) calls", serial, re.M)
    done = re.search(r"^fuzz: done, (\d+) calls returned(.*)$", serial, re.M)
    canary_ok = re.search(r"^fuzz: canary memory intact, capabilities intact", serial, re.M)
    canary_fault = re.search(r"cos: fault: component 'fuzz_canary'", serial)
    violations = re.findall(r"^fuzz: VIOLATION: .*$", serial, re.M)
    problems = []
    if status != EXIT_OK:
        problems.append("the run failed (%s)" % verdict.reason)
    if not seed:
        problems.append("no 'fuzz: seed' line")
    if not done:
        problems.append("the fuzzer did not finish ('fuzz: done' missing)")
    if not canary_ok:
        problems.append("the canary was not verified intact")
    if canary_fault:
        problems.append("the canary faulted")
    if violations:
        problems.append("%d ABI contract violations (first: %s)" % (len(violations), violations[0]))
    print()
    what = "seed %s, %s calls" % (seed.group(1), seed.group(2)) if seed else "seed ?"
    if problems:
        print("fuzz: FAILED (%s): %s" % (what, "; ".join(problems)))
        print("reproduce: ./cos bench fuzz --calls %d --seed %s" % (
            args.calls, seed.group(1) if seed else (args.seed if args.seed is not None else 1)))
        print("console: %s" % rel(System("bench-fuzz").dir / "serial.log"))
        return EXIT_FAILED
    print("fuzz: PASSED (%s): every call returned, no kernel panic, canary memory and "
          "capabilities intact, no contract violations" % what)
    if icount:
        print("QEMU TCG with -icount shift=0: the run is deterministic; the same seed and "
              "count reproduce it exactly")
    return EXIT_OK


# ---------------------------------------------------------------- boot

BOOT_SCRIPT = SCRIPTS_DIR / "simple_vmm.toml"   # system "vm": Linux in simple_vmm
BOOT_SYSTEM = "bench-boot"               # its own copy, so `./cos run vm` elsewhere cannot clash
BOOT_INPUT = "poweroff -f\n"             # read by the guest's shell once it runs
KERNEL_MARKER = "cos: kernel starting"
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


class BootRun:
    """One timed `./cos run bench-boot`: its output as it streams, and when the markers came."""

    def __init__(self):
        self.start = None
        self.lines = []
        self.times = {}        # marker key -> seconds since start
        self.stderr_lines = []
        self._partial = b""
        self._err_partial = b""
        self._stdout_ok = True
        self.status = None     # ./cos run's exit status
        self.killed = False    # we stopped it (it overran --timeout)

    def _mark(self, text, now):
        for key, marker in (("kernel", KERNEL_MARKER), ("init", INIT_MARKER),
                            ("shutdown", CLEAN_MARKER)):
            if key not in self.times and marker in text:
                self.times[key] = now - self.start

    def out(self, data, now):
        """Guest console bytes: echo them, split lines, time the markers."""
        if self._stdout_ok:
            try:
                write_all(sys.stdout.fileno(), data)
            except OSError:
                self._stdout_ok = False  # e.g. `cos bench boot | head`: keep measuring
        parts = (self._partial + data).split(b"\n")
        self._partial = parts.pop()
        for raw in parts:
            text = clean_line(raw)
            self.lines.append(text)
            self._mark(text, now)
        if self._partial:  # a marker may be visible before its newline arrives
            self._mark(clean_line(self._partial), now)

    def err(self, data):
        """./cos run's own messages: relay them and keep the lines."""
        sys.stderr.buffer.write(data)
        sys.stderr.flush()
        parts = (self._err_partial + data).split(b"\n")
        self._err_partial = parts.pop()
        self.stderr_lines += [p.decode("utf-8", "replace").rstrip() for p in parts]

    def finish(self):
        if self._partial:
            self.lines.append(clean_line(self._partial))
            self._partial = b""
        if self._err_partial:
            self.stderr_lines.append(self._err_partial.decode("utf-8", "replace").rstrip())
            self._err_partial = b""


def prepare_boot_system():
    """Make system_binaries/bench-boot current, as `./cos run` does for its systems:
    compose simple_vmm.toml into it when it is missing or was composed from another
    script, else rebuild/recompose only what is stale. Returns the System."""
    system = System(BOOT_SYSTEM)
    recorded = system.recorded_script()
    if recorded is not None and recorded.resolve() == BOOT_SCRIPT.resolve() and \
            system.iso.is_file():
        return prepare_for_run(BOOT_SYSTEM)
    buildmod.ensure_initialised(stdout_to_stderr=True)
    info("building...")
    buildmod.build(stdout_to_stderr=True)
    compose_for_run(system, BOOT_SCRIPT)
    return system


def boot_command(emulator, timeout):
    """The `./cos run` command line of one timed boot (QEMU: always TCG)."""
    argv = [str(REPO / "cos"), "run", BOOT_SYSTEM, "--emulator", emulator,
            "--timeout", "%g" % timeout]
    if emulator == "qemu":
        argv += ["--accel", "tcg"]
    return argv


def boot_once(argv, timeout):
    """Run `argv` (./cos run bench-boot ...) with BOOT_INPUT on its stdin; return a BootRun."""
    run = BootRun()
    sys.stdout.flush()
    sys.stderr.flush()
    run.start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=str(REPO), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=die_with_parent)
    try:
        try:
            # ./cos run holds input back until the guest prints (docs/running.md).
            proc.stdin.write(BOOT_INPUT.encode())
            proc.stdin.close()
        except OSError:
            pass
        handlers = {proc.stdout.fileno(): run.out, proc.stderr.fileno(): None}
        limit = run.start + timeout + BOOT_EXTRA_WAIT
        while handlers:
            wait = 1.0
            if timeout:
                left = limit - time.monotonic()
                if left <= 0:
                    run.killed = True
                    _stop(proc)
                    break
                wait = min(wait, left)
            try:
                ready, _, _ = select.select(list(handlers), [], [], wait)
            except InterruptedError:
                continue
            now = time.monotonic()
            for fd in ready:
                data = os.read(fd, 65536)
                if not data:
                    del handlers[fd]
                elif handlers[fd] is None:
                    run.err(data)
                else:
                    handlers[fd](data, now)
        run.status = proc.wait()
        run.times["exit"] = time.monotonic() - run.start
    except BaseException:  # Ctrl-C (which ./cos run also gets) or an error of ours
        _stop(proc)
        raise
    finally:
        for pipe in (proc.stdout, proc.stderr):
            pipe.close()
        run.finish()
    return run


def _stop(proc):
    """Stop ./cos run: on SIGTERM it stops its emulator and exits."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def parse_boot_run(run, index):
    """The JSON record of one BootRun, with `ok` and the reason when not."""
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
        "kernel_s": _round(run.times.get("kernel")),
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


def bench_boot(args):
    _positive(args.runs, "--runs")
    runs = args.runs or 3
    emulators = ("qemu", "bochs") if args.emulator == "all" else (args.emulator,)
    results = []
    status = EXIT_OK
    for emulator in emulators:
        info("bench boot: making %s current for %s" % (rel(System(BOOT_SYSTEM).dir), emulator))
        system = prepare_boot_system()
        argv = boot_command(emulator, args.timeout)
        records = []
        for i in range(1, runs + 1):
            info("bench boot: %s run %d/%d: %s" % (emulator, i, runs,
                                                   quote_cmd(["./cos"] + argv[1:])))
            run = boot_once(argv, args.timeout)
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
    kernel = ["%s %.2f" % (r["emulator"], r["summary"]["kernel_s"]["median"])
              for r in results if r["summary"] and r["summary"]["kernel_s"]]
    if kernel:
        print("median seconds to the cos kernel's first line (build check, emulator start, "
              "BIOS, GRUB):\n  " + ", ".join(kernel))
    record = {
        "benchmark": "boot",
        "system": BOOT_SYSTEM,
        "script": rel(BOOT_SCRIPT),
        "runs_per_emulator": runs,
        "input": BOOT_INPUT,
        "timeout_s": args.timeout,
        "times": BOOT_MEANING,
        "exits": EXITS_MEANING,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "run_status": status,
        "emulators": results,
    }
    out = bench_dir() / "boot.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    info("wrote %s" % rel(out))
    return status


def cmd_bench(args):
    """`cos bench ipc|vmexit|fuzz|boot`."""
    if args.timeout is None:
        args.timeout = {"ipc": 600, "vmexit": 600, "boot": 1800}.get(args.what, 3600)
    if args.timeout < 0:
        raise CosError("--timeout must be >= 0 (0 = no timeout)", status=2)
    if args.what != "fuzz" and (args.seed is not None or args.calls != 1000000):
        raise CosError("--calls and --seed apply to 'bench fuzz' only", status=2)
    if args.what not in ("ipc", "vmexit") and args.iterations is not None:
        raise CosError("--iterations applies to 'bench ipc' and 'bench vmexit' only", status=2)
    if args.what != "boot" and args.runs is not None:
        raise CosError("--runs applies to 'bench boot' only", status=2)
    if args.what != "boot" and args.emulator == "all":
        raise CosError("--emulator all applies to 'bench boot' only", status=2)
    if args.what == "ipc":
        return bench_ipc(args)
    if args.what == "vmexit":
        return bench_vmexit(args)
    if args.what == "boot":
        return bench_boot(args)
    return bench_fuzz(args)
