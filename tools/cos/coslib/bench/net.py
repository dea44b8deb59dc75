"""`cos bench net`: two Linux guests on the native switch
(composition_scripts/bench_net.toml, two_vms.toml with the benchmark's
programs, composed into system_binaries/bench-net/), booted once with
`./cos run bench-net` under QEMU TCG without -icount (or Bochs). vm_a's shell
gets `netbench BYTES PINGS; poweroff -f`: busybox ping of vm_b (round trip
min/avg/max, on the guest's clock) and /bin/netperf (guest/bench/netperf.c)
sending BYTES over TCP to vm_b's server, timed on the host between its
console lines and on the guest's clock. Both ends print the VM exits of the
transfer (simple_vmm's counters, read by the guest: guest/bench/cos_exits.h):
exits per MiB for each VM. A table, and build/x86_64/bench/net.json."""

import re

from ..common import SCRIPTS_DIR, rel
from .common import git_commit, now_iso, positive, write_record
from .guestrun import (EXITS_MEANING, guest_program, host_info, host_interval, parse_exits_line,
                       parse_vm_reports, per_unit, print_intro, run_emulators, run_problem)

NET_SCRIPT = SCRIPTS_DIR / "bench_net.toml"
NET_SYSTEM = "bench-net"
DEFAULT_MIB = 32
PINGS = 10
MIB = 1024 * 1024

PING_RE = re.compile(r"a\| round-trip min/avg/max = ([\d.]+)/([\d.]+)/([\d.]+) ms")
PING_COUNT_RE = re.compile(r"a\| (\d+) packets transmitted, (\d+) packets received")
SEND_START_RE = r"a\| netperf: send start \d+"
SENT_RE = (r"a\| netperf: sent (\d+) bytes in ([\d.]+) s, ([\d.]+) MiB/s; "
           r"peer received (\d+)")
RECEIVED_RE = re.compile(r"b\| netperf: received (\d+) bytes in ([\d.]+) s")
DONE_MARKER = "a| netbench: done"

NET_MEANING = (
    "ping: busybox `ping -c %d -i 0.2 10.0.0.2` in vm_a, round trips in ms on the guest's "
    "clock (under QEMU TCG without -icount the guest's TSC follows the host's clock; under "
    "Bochs it follows emulated instructions). throughput: /bin/netperf sends BYTES over TCP "
    "from vm_a to vm_b's server (64 KiB writes, then waits for the server's byte count); "
    "host_s: host wall-clock seconds between vm_a's console lines 'netperf: send start' "
    "and 'netperf: sent' as they reached cos bench (includes the TCP connect and the final "
    "acknowledgement); guest_s: the same interval on vm_a's CLOCK_MONOTONIC. Noisy, it "
    "depends on the host and its load: a benchmark, not a test" % PINGS)


def commands(nbytes):
    """What vm_a's shell gets (files/bench_net/netbench)."""
    return "netbench %d %d; poweroff -f\n" % (nbytes, PINGS)


def parse_net_run(run, nbytes):
    """The record of one session (a StreamRun-like object: lines, line_times,
    stderr_lines, status, killed): ping figures, the transfer with the exits
    each VM counted during it (sender vm_a, receiver vm_b) per MiB, the VMs'
    end-of-run reports in the order printed (vm_b powers off first), and
    `problem` (None when all is there)."""
    rec = {"bytes": nbytes, "ping": None, "transfer": None, "exits": {}}
    for line in run.lines:
        m = PING_RE.search(line)
        if m:
            rec["ping"] = dict(rec["ping"] or {}, min_ms=float(m.group(1)),
                               avg_ms=float(m.group(2)), max_ms=float(m.group(3)))
        m = PING_COUNT_RE.search(line)
        if m:
            rec["ping"] = dict(rec["ping"] or {}, transmitted=int(m.group(1)),
                               received=int(m.group(2)))
    host_s, m = host_interval(run, SEND_START_RE, SENT_RE)
    if m:
        sent = int(m.group(1))
        rec["transfer"] = {
            "bytes": sent, "peer_received": int(m.group(4)),
            "host_s": host_s, "guest_s": float(m.group(2)),
            "host_mib_s": round(sent / MIB / host_s, 2) if host_s else None,
            "guest_mib_s": float(m.group(3)),
        }
        for line in run.lines:
            r = RECEIVED_RE.search(line)
            if r:
                rec["transfer"]["server_s"] = float(r.group(2))
    for vm, prefix, what in (("vm_a", "a| netperf", "send"), ("vm_b", "b| netperf", "receive")):
        exits = parse_exits_line(run.lines, prefix, what)
        if exits:
            exits["per_mib"] = per_unit(exits, nbytes / MIB)
            rec["exits"][vm] = exits
    rec["vm_reports"] = parse_vm_reports(run.lines)
    rec["done"] = any(DONE_MARKER in l for l in run.lines)
    problem = run_problem(run)
    if problem is None:
        if not rec["ping"] or "min_ms" not in rec["ping"]:
            problem = "no ping summary from vm_a"
        elif not rec["transfer"]:
            problem = "no 'netperf: sent' line from vm_a"
        elif rec["transfer"]["peer_received"] != nbytes:
            problem = "vm_b received %d of %d bytes" % (rec["transfer"]["peer_received"], nbytes)
        elif len(rec["exits"]) != 2:
            problem = "no 'netperf: exits' line from %s" % (
                "vm_a" if "vm_a" not in rec["exits"] else "vm_b")
        elif not rec["done"]:
            problem = "vm_a's netbench did not finish"
    rec["ok"] = problem is None
    rec["problem"] = problem
    return rec


def table(results):
    fmt = "%-8s  %-9s  %-20s  %5s  %10s  %11s  %11s"
    out = [fmt % ("emulator", "backend", "ping min/avg/max ms", "MiB", "MiB/s host",
                  "exits/MiB a", "exits/MiB b")]
    for r in results:
        p = r.get("ping") or {}
        t = r.get("transfer") or {}
        e = r.get("exits") or {}
        out.append(fmt % (
            r["emulator"], r["backend"] or "?",
            "%.2f/%.2f/%.2f" % (p["min_ms"], p["avg_ms"], p["max_ms"]) if "min_ms" in p else "-",
            "%g" % (r["bytes"] / MIB),
            "%.2f" % t["host_mib_s"] if t.get("host_mib_s") else "-",
            e["vm_a"]["per_mib"] if e.get("vm_a") else "-",
            e["vm_b"]["per_mib"] if e.get("vm_b") else "-"))
    return "\n".join(out)


def run(args):
    """`cos bench net`."""
    positive(args.mib, "--mib")
    nbytes = (args.mib or DEFAULT_MIB) * MIB
    guest_program("netperf")
    host = host_info()
    results, status = run_emulators(args, NET_SCRIPT, NET_SYSTEM, commands(nbytes),
                                    lambda s: parse_net_run(s, nbytes), "bench net")
    print_intro("Network benchmark", NET_SCRIPT, "two Linux guests in simple_vmm on the native switch",
                NET_SYSTEM, [
                    "  ping:      %d busybox pings vm_a -> vm_b, guest clock" % PINGS,
                    "  MiB/s:     TCP vm_a -> vm_b (/bin/netperf), host seconds between its start and\n"
                    "             end lines on vm_a's console",
                    "  exits/MiB: each VM's exits from just before to just after the transfer (read\n"
                    "             from simple_vmm's counters by netperf), per MiB; a sends, b receives"])
    print(table(results))
    for r in results:
        t = r.get("transfer")
        if t:
            print("%s: %d bytes in %.3f host s (%.2f MiB/s); guest clock %.3f s (%.2f MiB/s)"
                  % (r["emulator"], t["bytes"], t["host_s"], t["host_mib_s"], t["guest_s"],
                     t["guest_mib_s"]))
        for vm, e in sorted((r.get("exits") or {}).items()):
            print("%s %s exits during the transfer: %d (%s)" % (
                r["emulator"], vm, e["total"],
                " ".join("%s=%d" % kv for kv in e["by_reason"].items())))
    record = {
        "benchmark": "net",
        "system": NET_SYSTEM,
        "script": rel(NET_SCRIPT),
        "timeout_s": args.timeout,
        "overrides": list(args.set),
        "figures": NET_MEANING,
        "exits": EXITS_MEANING,
        "host": host,
        "date": now_iso(),
        "commit": git_commit(),
        "run_status": status,
        "emulators": results,
    }
    write_record("net", record)
    return status
