"""`cos bench smp`: a CPU-bound guest workload with one and with two vCPUs
on a two-CPU system (composition_scripts/vm_smp.toml: Linux in simple_vmm,
`[system] cpus = 2`, vCPU i on CPU i), QEMU TCG without -icount (SVM; QEMU
runs each emulated CPU on a host thread of its own: multi-threaded TCG).

The workload is --loops independent busybox shell loops of --iterations
arithmetic steps each, started in the background at once; the figure is the
host wall-clock time between the guest's start and end markers on the
console. Speedup = time with 1 vCPU / time with 2 vCPUs (target: >= 1.7 on a
host with two idle cores). A table, and build/x86_64/bench/smp.json."""

from ..common import SCRIPTS_DIR, rel
from .common import git_commit, now_iso, positive, write_record
from .guestrun import host_info, host_interval, parse_vm_reports, run_problem, session, virtualization, prepare_system

SMP_SCRIPT = SCRIPTS_DIR / "vm_smp.toml"
DEFAULT_LOOPS = 2
DEFAULT_ITERATIONS = 200000
START_RE = r"^SMPBENCH start\r?$"
END_RE = r"^SMPBENCH end\r?$"

SMP_MEANING = (
    "host_s: host wall-clock seconds between the guest's 'SMPBENCH start' and 'SMPBENCH end' "
    "console lines as they reached cos bench; between them the guest's shell runs `loops` "
    "busybox sh loops of `iterations` `i=$((i+1))` steps in the background and waits for "
    "them. The same system with vcpus = 1 and 2 ([system] cpus = 2 both times), QEMU TCG "
    "without -icount. speedup = host_s(1 vCPU) / host_s(2 vCPUs). Noisy, it depends on the "
    "host and its load (two idle host cores are needed for a real speedup): a benchmark, "
    "not a test")


def commands(loops, iterations):
    """What the guest's shell gets: the markers are printed with quotes
    split, so the echoed command line never matches them."""
    loop = "(i=0; while [ $i -lt %d ]; do i=$((i+1)); done) &" % iterations
    return ("echo SMPB''ENCH start; %s wait; echo SMPB''ENCH end; poweroff -f\n"
            % (" ".join([loop] * loops)))


def parse_run(run, vcpus):
    rec = {"vcpus": vcpus}
    host_s, m = host_interval(run, START_RE, END_RE)
    rec["host_s"] = host_s
    reports = parse_vm_reports(run.lines)
    rec["vm_report"] = reports[-1] if reports else None
    rec["backend"], rec["virtualization"] = virtualization(run.lines)
    rec["placement"] = [l.split("simple_vmm: ", 1)[1] for l in run.lines if "simple_vmm: vCPU " in l
                        and " on CPU " in l or "simple_vmm: all vCPUs on CPU 0" in l]
    problem = run_problem(run)
    if problem is None and host_s is None:
        problem = "no 'SMPBENCH start' / 'SMPBENCH end' lines"
    rec["ok"] = problem is None
    rec["problem"] = problem
    return rec


def run(args):
    """`cos bench smp`."""
    positive(args.loops, "--loops")
    positive(args.iterations, "--iterations")
    loops = args.loops or DEFAULT_LOOPS
    iterations = args.iterations or DEFAULT_ITERATIONS
    host = host_info()
    results, status = [], 0
    for vcpus in (1, 2):
        name = "bench-smp-%d" % vcpus
        prepare_system(SMP_SCRIPT, name, ["simple_vmm.params.vcpus=%d" % vcpus] + list(args.set))
        s = session(name, "qemu", args.timeout, commands(loops, iterations), "bench smp: %d vCPU(s)" % vcpus)
        rec = parse_run(s, vcpus)
        if not rec["ok"]:
            print("bench smp: %d vCPU(s): %s (console: %s)" % (vcpus, rec["problem"], rel(s_dir(name))))
            status = 1
        results.append(rec)
    one, two = results[0].get("host_s"), results[1].get("host_s")
    speedup = round(one / two, 2) if one and two else None
    print()
    print("SMP benchmark: %s (Linux in simple_vmm, [system] cpus = 2), %d busybox sh loops of %d\n"
          "steps in parallel; host wall-clock seconds between the guest's markers under QEMU TCG\n"
          "without -icount. Noisy: needs two idle host cores. Not a test."
          % (rel(SMP_SCRIPT), loops, iterations))
    print("%-6s  %9s  %s" % ("vCPUs", "host s", "placement"))
    for r in results:
        print("%-6d  %9s  %s" % (r["vcpus"], "%.2f" % r["host_s"] if r.get("host_s") else "-",
                                 "; ".join(r["placement"]) or "vCPU 0 on CPU 0"))
    print("speedup (1 vCPU / 2 vCPUs): %s (target >= 1.7)" % (speedup if speedup else "-"))
    write_record("smp", {
        "benchmark": "smp",
        "script": rel(SMP_SCRIPT),
        "loops": loops,
        "iterations": iterations,
        "speedup": speedup,
        "figures": SMP_MEANING,
        "overrides": list(args.set),
        "timeout_s": args.timeout,
        "host": host,
        "date": now_iso(),
        "commit": git_commit(),
        "run_status": status,
        "runs": results,
    })
    return status


def s_dir(name):
    from ..systems import System
    return System(name).dir
