"""`cos bench blk`: a Linux guest whose virtio-blk disk is served by the
native blk_ram component (composition_scripts/bench_blk.toml: vm_disk.toml
with a 64 MiB disk and /bin/blkperf, guest/bench/blkperf.c), composed into
system_binaries/bench-blk/ and booted with `./cos run bench-blk` under QEMU
TCG without -icount (or Bochs). One boot: `blkperf seq /dev/vda` (O_DIRECT
1 MiB reads of the whole disk), then `blkperf rand /dev/vda N` (O_DIRECT
4 KiB reads at fixed pseudo-random offsets), each timed on the host between
blkperf's console lines and on the guest's clock; blkperf prints the VM
exits of each (simple_vmm's counters, read by the guest:
guest/bench/cos_exits.h): exits per MiB read, exits per random read. A
table, and build/x86_64/bench/blk.json."""

import re

from ..common import SCRIPTS_DIR, rel
from .common import git_commit, now_iso, positive, write_record
from .guestrun import (EXITS_MEANING, guest_program, host_info, host_interval, parse_exits_line,
                       parse_vm_reports, per_unit, print_intro, run_emulators, run_problem)

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


def commands(reads):
    """What the guest's shell gets."""
    return "blkperf seq %s; blkperf rand %s %d; poweroff -f\n" % (DEVICE, DEVICE, reads)


def parse_blk_run(run):
    """The record of one session (a StreamRun-like object): blkperf's seq and
    rand figures with their host intervals and exits (per MiB, per read), the
    VM's end-of-run report, and `problem` (None when all is there)."""
    rec = {"seq": None, "rand": None}
    host_s, m = host_interval(run, SEQ_START_RE, SEQ_RE)
    if m:
        nbytes = int(m.group(1))
        rec["seq"] = {"bytes": nbytes, "host_s": host_s, "guest_s": float(m.group(2)),
                      "host_mib_s": round(nbytes / MIB / host_s, 2) if host_s else None,
                      "guest_mib_s": float(m.group(3)), "mode": m.group(4)}
        exits = parse_exits_line(run.lines, "blkperf", "seq")
        if exits:
            exits["per_mib"] = per_unit(exits, nbytes / MIB)
        rec["seq"]["exits"] = exits
    host_s, m = host_interval(run, RAND_START_RE, RAND_RE)
    if m:
        reads = int(m.group(1))
        rec["rand"] = {"reads": reads, "read_bytes": int(m.group(2)), "host_s": host_s,
                       "guest_s": float(m.group(3)),
                       "host_iops": round(reads / host_s) if host_s else None,
                       "guest_iops": int(m.group(4)), "mode": m.group(5)}
        exits = parse_exits_line(run.lines, "blkperf", "rand")
        if exits:
            exits["per_read"] = per_unit(exits, reads)
        rec["rand"]["exits"] = exits
    reports = parse_vm_reports(run.lines)
    rec["vm_report"] = reports[-1] if reports else None
    problem = run_problem(run)
    if problem is None:
        for kind in ("seq", "rand"):
            if rec[kind] is None:
                problem = "no blkperf %s result line" % kind
                break
            if rec[kind]["exits"] is None:
                problem = "no 'blkperf: exits %s' line" % kind
                break
        else:
            if rec["vm_report"] is None:
                problem = "simple_vmm's end-of-run report is missing"
            elif rec["vm_report"]["end"] != "powered off":
                problem = "the guest %s instead of powering off" % rec["vm_report"]["end"]
    rec["ok"] = problem is None
    rec["problem"] = problem
    return rec


def table(results):
    fmt = "%-8s  %-9s  %10s  %10s  %9s  %10s  %s"
    out = [fmt % ("emulator", "backend", "seq MiB/s", "exits/MiB", "rand IOPS", "exits/read",
                  "mode")]
    for r in results:
        seq, rnd = r.get("seq") or {}, r.get("rand") or {}
        out.append(fmt % (
            r["emulator"], r["backend"] or "?",
            "%.2f" % seq["host_mib_s"] if seq.get("host_mib_s") else "-",
            seq["exits"]["per_mib"] if seq.get("exits") else "-",
            rnd["host_iops"] if rnd.get("host_iops") else "-",
            rnd["exits"]["per_read"] if rnd.get("exits") else "-",
            "/".join(sorted({x["mode"] for x in (seq, rnd) if x.get("mode")})) or "-"))
    return "\n".join(out)


def run(args):
    """`cos bench blk`."""
    positive(args.reads, "--reads")
    reads = args.reads or DEFAULT_READS
    guest_program("blkperf")
    host = host_info()
    results, status = run_emulators(args, BLK_SCRIPT, BLK_SYSTEM, commands(reads), parse_blk_run,
                                    "bench blk")
    print_intro("Block benchmark", BLK_SCRIPT, "Linux in simple_vmm, virtio-blk served by blk_ram",
                BLK_SYSTEM, [
                    "  seq MiB/s:  O_DIRECT 1 MiB reads of all of %s, host seconds between\n"
                    "              blkperf's start and result lines" % DEVICE,
                    "  rand IOPS:  %d O_DIRECT 4 KiB reads at fixed pseudo-random offsets, host time"
                    % reads,
                    "  exits/...:  the VM's exits from just before to just after the reads (read from\n"
                    "              simple_vmm's counters by blkperf), per MiB / per random read"])
    print(table(results))
    for r in results:
        x = r.get("seq")
        if x:
            print("%s seq: %d bytes in %.3f host s; guest clock %.3f s (%.2f MiB/s); exits %s"
                  % (r["emulator"], x["bytes"], x["host_s"], x["guest_s"], x["guest_mib_s"],
                     _exits_text(x["exits"])))
        x = r.get("rand")
        if x:
            print("%s rand: %d reads in %.3f host s; guest clock %.3f s (%d IOPS); exits %s"
                  % (r["emulator"], x["reads"], x["host_s"], x["guest_s"], x["guest_iops"],
                     _exits_text(x["exits"])))
    record = {
        "benchmark": "blk",
        "system": BLK_SYSTEM,
        "script": rel(BLK_SCRIPT),
        "device": DEVICE,
        "random_reads": reads,
        "timeout_s": args.timeout,
        "overrides": list(args.set),
        "figures": BLK_MEANING,
        "exits": EXITS_MEANING,
        "host": host,
        "date": now_iso(),
        "commit": git_commit(),
        "run_status": status,
        "emulators": results,
    }
    write_record("blk", record)
    return status


def _exits_text(exits):
    if not exits:
        return "-"
    return "%d (%s)" % (exits["total"], " ".join("%s=%d" % kv for kv in exits["by_reason"].items()))
