"""`cos bench`: benchmarks and long runs that are not tests, one module each.

  ipc     composition_scripts/ipc_bench.toml: IPC costs in cycles (ipc.py)
  vmexit  composition_scripts/vm_exit_bench.toml: VM-exit round trips in
          cycles, or with --host-time in exits per host second next to the
          KVM baseline's (vmexit.py)
  fuzz    composition_scripts/syscall_fuzz.toml: the syscall fuzzer (fuzz.py)
  guestfuzz composition_scripts/guest_fuzz.toml: the guest-code fuzzer
          (guestfuzz.py)
  boot    Linux in simple_vmm, host seconds to init and to shutdown (boot.py)
  net     composition_scripts/bench_net.toml: ping and TCP throughput between
          two Linux guests on netswitch, exits per MiB (net.py)
  blk     composition_scripts/bench_blk.toml: sequential MiB/s and 4 KiB
          random-read IOPS of a guest's virtio-blk disk on blk_ram, exits
          per MiB / per read (blk.py; guestrun.py has what net and blk share)
  smp     composition_scripts/vm_smp.toml with 1 and 2 vCPUs on 2 CPUs: a
          CPU-bound guest workload's host time and the speedup (smp.py)

Each composes its script into system_binaries/bench-<what>/, varying it with
the composer's `--set TARGET.KEY=VALUE` overrides (its own, e.g.
--iterations, then the user's --set), shows the console as the system runs,
and writes build/x86_64/bench/<what>.json (common.py has what they share).
"""

from ..common import CosError
from . import blk, boot, fuzz, guestfuzz, ipc, net, smp, vmexit

DEFAULT_TIMEOUT_S = {"ipc": 600, "vmexit": 600, "fuzz": 3600, "guestfuzz": 7200, "boot": 1800,
                     "net": 1800, "blk": 1800, "smp": 1800}


def check_args(args):
    """Usage errors (exit status 2) for options that do not apply to `args.what`."""
    if args.timeout is None:
        args.timeout = DEFAULT_TIMEOUT_S[args.what]
    if args.timeout < 0:
        raise CosError("--timeout must be >= 0 (0 = no timeout)", status=2)
    if args.what != "fuzz" and args.calls != 1000000:
        raise CosError("--calls applies to 'bench fuzz' only", status=2)
    if args.what not in ("fuzz", "guestfuzz") and args.seed is not None:
        raise CosError("--seed applies to 'bench fuzz' and 'bench guestfuzz' only", status=2)
    if args.what != "guestfuzz" and getattr(args, "programs", None) is not None:
        raise CosError("--programs applies to 'bench guestfuzz' only", status=2)
    if args.what not in ("ipc", "vmexit", "smp") and args.iterations is not None:
        raise CosError("--iterations applies to 'bench ipc', 'bench vmexit' and 'bench smp' only",
                       status=2)
    if args.what != "boot" and args.runs is not None:
        raise CosError("--runs applies to 'bench boot' only", status=2)
    if args.what not in ("boot", "net", "blk") and args.emulator == "all":
        raise CosError("--emulator all applies to 'bench boot', 'bench net' and 'bench blk' "
                       "only", status=2)
    if args.what != "net" and getattr(args, "mib", None) is not None:
        raise CosError("--mib applies to 'bench net' only", status=2)
    if getattr(args, "icount", False) and (args.what != "guestfuzz" or args.emulator != "qemu"):
        raise CosError("--icount applies to 'bench guestfuzz' under QEMU only (the other QEMU "
                       "benchmarks choose it themselves)", status=2)
    if args.what == "smp" and args.emulator != "qemu":
        raise CosError("'bench smp' runs under QEMU only (under Bochs' VMX the kernel runs "
                       "guests on CPU 0 only)", status=2)
    if args.what != "smp" and getattr(args, "loops", None) is not None:
        raise CosError("--loops applies to 'bench smp' only", status=2)
    if args.what != "blk" and getattr(args, "reads", None) is not None:
        raise CosError("--reads applies to 'bench blk' only", status=2)
    if args.what != "vmexit" and (args.host_time or args.kvm_baseline):
        raise CosError("--host-time and --kvm-baseline apply to 'bench vmexit' only", status=2)


def cmd_bench(args):
    """`cos bench ipc|vmexit|fuzz|guestfuzz|boot|net|blk|smp`."""
    check_args(args)
    return {"ipc": ipc.run, "vmexit": vmexit.run, "fuzz": fuzz.run, "guestfuzz": guestfuzz.run,
            "boot": boot.run, "net": net.run, "blk": blk.run, "smp": smp.run}[args.what](args)
