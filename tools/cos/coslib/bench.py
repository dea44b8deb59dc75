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

Parameters are overridden by writing a copy of the script with other
`[component.params]` values to build/x86_64/bench/<name>.toml and composing
that into system_binaries/bench-<name>/. The guest's console is shown as the
system runs (stdout), and kept in that directory's serial.log, which is what
the results are read from.
"""

import datetime
import json
import re
import subprocess
from pathlib import Path

from . import bochs, qemu
from . import build as buildmod
from .common import REPO, SCRIPTS_DIR, CosError, build_dir, info, rel
from .outcome import EXIT_FAILED, EXIT_OK
from .systems import System, compose

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


def cmd_bench(args):
    """`cos bench ipc|vmexit|fuzz`."""
    if args.timeout is None:
        args.timeout = 600 if args.what in ("ipc", "vmexit") else 3600
    if args.timeout < 0:
        raise CosError("--timeout must be >= 0 (0 = no timeout)", status=2)
    if args.what in ("ipc", "vmexit") and (args.seed is not None or args.calls != 1000000):
        raise CosError("--calls and --seed apply to 'bench fuzz' only", status=2)
    if args.what == "fuzz" and args.iterations is not None:
        raise CosError("--iterations applies to 'bench ipc' and 'bench vmexit' only", status=2)
    if args.what == "ipc":
        return bench_ipc(args)
    if args.what == "vmexit":
        return bench_vmexit(args)
    return bench_fuzz(args)
