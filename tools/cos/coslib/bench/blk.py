"""`cos bench blk`: a Linux guest whose virtio-blk disk is served by the
native blk_ram component (composition_scripts/bench_blk.toml: vm_disk.toml
with a 64 MiB disk and /bin/blkperf, guest/bench/blkperf.c), composed into
system_binaries/bench-blk/ and booted with `./cos run bench-blk` under QEMU
TCG without -icount (or Bochs). Three boots: `blkperf seq /dev/vda`
(O_DIRECT 1 MiB reads of the whole disk), `blkperf rand /dev/vda N`
(O_DIRECT 4 KiB reads at fixed pseudo-random offsets) and a baseline that
only powers off; each timed on the host between blkperf's console lines and
on the guest's clock. The baseline gives the exits each workload added:
exits per MiB read, exits per random read. A table, and
build/x86_64/bench/blk.json."""

import re

from ..common import SCRIPTS_DIR, info, quote_cmd, rel
from ..outcome import EXIT_FAILED, EXIT_OK
from ..systems import System
from .common import git_commit, now_iso, positive, write_record
from .guestrun import (EXITS_DELTA_MEANING, exits_delta, guest_program, host_info, host_interval,
                       parse_vm_reports, prepare_system, run_argv, run_problem, session,
                       virtualization)

BLK_SCRIPT = SCRIPTS_DIR / "bench_blk.toml"
BLK_SYSTEM = "bench-blk"
DEVICE = "/dev/vda"
DEFAULT_READS = 2000
MIB = 1024 * 1024

SEQ_START_RE = r"blkperf: seq start "
SEQ_RE = r"blkperf: seq: read (\d+) bytes in ([\d.]+) s, ([\d.]+) MiB/s \((direct|cached)\)"
RAND_START_RE = r"blkperf: rand start "
RAND_RE = (r"blkperf: rand: (\d+) reads of (\d+) bytes in ([\d.]+) s, (\d+) IOPS "
           r"\((direct|cached)\)")

BLK_MEANING = (
    "seq: /bin/blkperf reads all of %s (the 64 MiB disk) with O_DIRECT in 1 MiB requests; "
    "rand: N O_DIRECT reads of 4 KiB at 4 KiB-aligned offsets from a fixed-seed xorshift64 "
    "(the same offsets every run). host_s: host wall-clock seconds between blkperf's start "
    "and result lines on the console as they reached cos bench; guest_s: the same on the "
    "guest's CLOCK_MONOTONIC (under QEMU TCG without -icount the guest's TSC follows the "
    "host's clock; under Bochs, emulated instructions). 'cached' instead of 'direct' means "
    "the kernel refused O_DIRECT and the page cache was dropped first. Noisy, it depends on "
    "the host and its load: a benchmark, not a test" % DEVICE)


def commands(kind, reads):
    """What the guest's shell gets in a run of `kind` (seq, rand, baseline)."""
    if kind == "seq":
        return "blkperf seq %s; poweroff -f\n" % DEVICE
    if kind == "rand":
        return "blkperf rand %s %d; poweroff -f\n" % (DEVICE, reads)
    return "poweroff -f\n"


def parse_blk_run(run, kind):
    """The record of one session (a StreamRun-like object) of `kind`: the
    figures blkperf printed with the host interval, the VM's report, and
    `problem` (None when all is there)."""
    rec = {"kind": kind, "result": None, "vm": None}
    if kind == "seq":
        host_s, m = host_interval(run, SEQ_START_RE, SEQ_RE)
        if m:
            nbytes = int(m.group(1))
            rec["result"] = {"bytes": nbytes, "host_s": host_s, "guest_s": float(m.group(2)),
                             "host_mib_s": round(nbytes / MIB / host_s, 2) if host_s else None,
                             "guest_mib_s": float(m.group(3)), "mode": m.group(4)}
    elif kind == "rand":
        host_s, m = host_interval(run, RAND_START_RE, RAND_RE)
        if m:
            reads = int(m.group(1))
            rec["result"] = {"reads": reads, "read_bytes": int(m.group(2)), "host_s": host_s,
                             "guest_s": float(m.group(3)),
                             "host_iops": round(reads / host_s) if host_s else None,
                             "guest_iops": int(m.group(4)), "mode": m.group(5)}
    reports = parse_vm_reports(run.lines)
    rec["vm"] = reports[-1] if reports else None
    problem = run_problem(run)
    if problem is None:
        if kind != "baseline" and rec["result"] is None:
            problem = "no blkperf %s result line" % kind
        elif rec["vm"] is None:
            problem = "simple_vmm's end-of-run report is missing"
        elif rec["vm"]["end"] != "powered off":
            problem = "the guest %s instead of powering off" % rec["vm"]["end"]
    rec["ok"] = problem is None
    rec["problem"] = problem
    return rec


def summarise(runs):
    """Exits each workload added over the baseline: per MiB (seq), per read
    (rand); and the sectors it read beyond the baseline (a cross-check)."""
    base = runs["baseline"]["vm"]
    out = {}
    seq, rnd = runs.get("seq"), runs.get("rand")
    if seq and seq["ok"]:
        out["seq"] = exits_delta(seq["vm"], base, seq["result"]["bytes"] / MIB)
        out["seq"]["sectors_read"] = (seq["vm"].get("blk", {}).get("sectors_read", 0)
                                      - base.get("blk", {}).get("sectors_read", 0))
    if rnd and rnd["ok"]:
        out["rand"] = exits_delta(rnd["vm"], base, rnd["result"]["reads"])
        out["rand"]["sectors_read"] = (rnd["vm"].get("blk", {}).get("sectors_read", 0)
                                       - base.get("blk", {}).get("sectors_read", 0))
    return out


def table(results):
    fmt = "%-8s  %-9s  %10s  %11s  %9s  %10s  %12s"
    out = [fmt % ("emulator", "backend", "seq MiB/s", "exits/MiB", "rand IOPS", "exits/read",
                  "mode")]
    for r in results:
        runs = r["runs"]
        seq = (runs.get("seq") or {}).get("result") or {}
        rnd = (runs.get("rand") or {}).get("result") or {}
        e = r.get("exits") or {}
        out.append(fmt % (
            r["emulator"], r["backend"] or "?",
            "%.2f" % seq["host_mib_s"] if seq.get("host_mib_s") else "-",
            e["seq"]["per_unit"] if e.get("seq") else "-",
            rnd["host_iops"] if rnd.get("host_iops") else "-",
            e["rand"]["per_unit"] if e.get("rand") else "-",
            "/".join(sorted({x["mode"] for x in (seq, rnd) if x.get("mode")})) or "-"))
    return "\n".join(out)


def run(args):
    """`cos bench blk`."""
    positive(args.reads, "--reads")
    reads = args.reads or DEFAULT_READS
    guest_program("blkperf")
    host = host_info()
    results = []
    status = EXIT_OK
    for emulator in (args.emulator,):
        info("bench blk: making %s current" % rel(System(BLK_SYSTEM).dir))
        prepare_system(BLK_SCRIPT, BLK_SYSTEM, args.set)
        res = {"emulator": emulator, "accel": "tcg" if emulator == "qemu" else None,
               "command": quote_cmd(["./cos"] + run_argv(BLK_SYSTEM, emulator, args.timeout)[1:]),
               "backend": None, "virtualization": None, "runs": {}}
        for kind in ("seq", "rand", "baseline"):
            cmds = commands(kind, reads)
            s = session(BLK_SYSTEM, emulator, args.timeout, cmds,
                        "bench blk: %s %s run" % (emulator, kind))
            rec = parse_blk_run(s, kind)
            rec["input"] = cmds
            res["runs"][kind] = rec
            if res["backend"] is None:
                res["backend"], res["virtualization"] = virtualization(s.lines)
            if not rec["ok"]:
                info("bench blk: %s %s run failed: %s (console: %s)" % (
                    emulator, kind, rec["problem"], rel(System(BLK_SYSTEM).dir / "serial.log")))
                status = EXIT_FAILED
        if res["runs"]["baseline"]["ok"]:
            res["exits"] = summarise(res["runs"])
        results.append(res)
    print()
    print("Block benchmark: %s (Linux in simple_vmm, virtio-blk served by blk_ram),\n"
          "composed as %s. Host wall-clock figures under emulation (QEMU TCG without\n"
          "-icount; Bochs): noisy, they depend on the host and its load. Not a test."
          % (rel(BLK_SCRIPT), BLK_SYSTEM))
    print("  seq MiB/s:  O_DIRECT 1 MiB reads of all of %s, host seconds between\n"
          "              blkperf's start and result lines" % DEVICE)
    print("  rand IOPS:  %d O_DIRECT 4 KiB reads at fixed pseudo-random offsets, host time"
          % reads)
    print("  exits/...:  (exits of the run) - (exits of a baseline boot that only powers off),\n"
          "              per MiB read / per random read")
    print(table(results))
    for r in results:
        for kind in ("seq", "rand"):
            x = (r["runs"].get(kind) or {}).get("result")
            if x and kind == "seq":
                print("%s seq: %d bytes in %.3f host s; guest clock %.3f s (%.2f MiB/s)"
                      % (r["emulator"], x["bytes"], x["host_s"], x["guest_s"], x["guest_mib_s"]))
            elif x:
                print("%s rand: %d reads in %.3f host s; guest clock %.3f s (%d IOPS)"
                      % (r["emulator"], x["reads"], x["host_s"], x["guest_s"], x["guest_iops"]))
    record = {
        "benchmark": "blk",
        "system": BLK_SYSTEM,
        "script": rel(BLK_SCRIPT),
        "device": DEVICE,
        "random_reads": reads,
        "timeout_s": args.timeout,
        "overrides": list(args.set),
        "figures": BLK_MEANING,
        "exits": EXITS_DELTA_MEANING,
        "host": host,
        "date": now_iso(),
        "commit": git_commit(),
        "run_status": status,
        "emulators": results,
    }
    write_record("blk", record)
    return status
