"""`cos bench fuzz`: the syscall fuzzer (composition_scripts/syscall_fuzz.toml)
with --calls calls from --seed, under QEMU TCG with -icount shift=0 (a
deterministic run: the seed and count reproduce it) or Bochs. Passes when
every call returned, the kernel did not panic, the canary component's memory
and capabilities are intact and no ABI contract violation was seen."""

import re

from ..common import SCRIPTS_DIR, CosError, rel
from ..outcome import EXIT_FAILED, EXIT_OK
from ..systems import System
from .common import compose_and_boot, positive

SCRIPT = SCRIPTS_DIR / "syscall_fuzz.toml"

def run(args):
    """`cos bench fuzz`."""
    positive(args.calls, "--calls")
    if args.seed is not None and args.seed < 0:
        raise CosError("--seed must be >= 0", status=2)
    overrides = ["syscall_fuzz.params.calls=%d" % args.calls]
    if args.seed is not None:
        overrides.append("syscall_fuzz.params.seed=%d" % args.seed)
    overrides += args.set
    icount = args.emulator == "qemu"
    verdict, serial = compose_and_boot(SCRIPT, "bench-fuzz", overrides, args.emulator, args.timeout,
                                       icount)
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


