"""`cos bench ipc`: composition_scripts/ipc_bench.toml under QEMU TCG with
-icount shift=0 (or Bochs): the null system call, the sinv/sret round trip,
the asnd->rcv round trip and a thread switch, median and minimum TSC cycles
(with --set system.cpus=2 also the asnd->rcv round trip between threads on
CPU 0 and CPU 1); a table, and build/x86_64/bench/ipc.json."""

from ..common import SCRIPTS_DIR, info, rel
from ..outcome import EXIT_FAILED
from ..systems import System
from .common import (CYCLES_MEANING, compose_and_boot, git_commit, now_iso, parse_guest_json,
                     positive, write_record)

SCRIPT = SCRIPTS_DIR / "ipc_bench.toml"

IPC_ROWS = [
    ("null_syscall", "null syscall (Op::nop)"),
    ("sinv_roundtrip", "sinv/sret round trip"),
    ("asnd_rcv_roundtrip", "asnd->rcv round trip (2 threads)"),
    ("thread_switch", "thread switch (thd_yield)"),
    ("asnd_rcv_cross_cpu", "asnd->rcv round trip (CPU 0 <-> 1)"),
    ("rdtsc_overhead", "rdtsc overhead (in every row)"),
]

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


def run(args):
    """`cos bench ipc`."""
    positive(args.iterations, "--iterations")
    overrides = (["ipc_bench.params.iterations=%d" % args.iterations] if args.iterations
                 else []) + list(args.set)
    icount = args.emulator == "qemu"
    verdict, serial = compose_and_boot(SCRIPT, "bench-ipc", overrides, args.emulator, args.timeout,
                                       icount)
    status = verdict.report()
    data = parse_guest_json(serial, "ipc_bench")
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
        "overrides": overrides,
        "date": now_iso(),
        "commit": git_commit(),
        "run_status": status,
        "guest": data,
    }
    write_record("ipc", record)
    return status


