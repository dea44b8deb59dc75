"""`cos bench guestfuzz`: the guest-code fuzzer (composition_scripts/
guest_fuzz.toml) with --programs random guest programs from --seed, under
QEMU (TCG, or KVM with nested virtualization; the programs' 2 ms budgets
follow the host clock, as on hardware) or Bochs. --icount runs QEMU TCG
with -icount shift=0 instead: time follows executed instructions, so the
budgets end at the same instructions in every run, but a guest that loops
through exceptions without retiring an instruction (a #GP handler whose
first instruction raises #GP: seed 11, program 28691) stops QEMU's clock,
the kernel's timer never fires and the run stalls. Passes
when every program ran without a vcpu_run or VMM failure, every VM gave its
memory back, the canary component's memory and capabilities are intact and
the kernel did not panic."""

import re

from ..common import SCRIPTS_DIR, CosError, rel
from ..outcome import EXIT_FAILED, EXIT_OK
from ..systems import System
from .common import compose_and_boot, positive

SCRIPT = SCRIPTS_DIR / "guest_fuzz.toml"
DEFAULT_PROGRAMS = 100000


def parse(serial):
    """What the fuzzer's console says: a dict with seed, programs, exits,
    failures, passed (bool), the FAIL lines and whether the canary was
    verified intact and whether it faulted; None for lines that are missing."""
    out = {"seed": None, "programs": None, "exits": None, "failures": None, "passed": False,
           "fail_lines": re.findall(r"^guest_fuzz: FAIL .*$", serial, re.M),
           "canary_ok": bool(re.search(r"^guest_fuzz: canary memory and capabilities intact", serial,
                                       re.M)),
           "canary_fault": bool(re.search(r"cos: fault: component 'fuzz_canary'", serial)),
           "elapsed_ms": None}
    start = re.search(r"^guest_fuzz: seed (\d+), (\d+) programs from (\d+)", serial, re.M)
    if start:
        out["seed"] = int(start.group(1))
    end = re.search(r"^guest_fuzz: (\d+) programs, seed (\d+), (\d+) exits, (\d+) failures: (passed|FAILED)$",
                    serial, re.M)
    if end:
        out["programs"], out["seed"], out["exits"], out["failures"] = (
            int(end.group(1)), int(end.group(2)), int(end.group(3)), int(end.group(4)))
        out["passed"] = end.group(5) == "passed"
    elapsed = re.search(r"^guest_fuzz: (\d+) programs in (\d+) ms$", serial, re.M)
    if elapsed:
        out["elapsed_ms"] = int(elapsed.group(2))
    return out


def run(args):
    """`cos bench guestfuzz`."""
    programs = args.programs if args.programs is not None else DEFAULT_PROGRAMS
    positive(programs, "--programs")
    if args.seed is not None and args.seed < 0:
        raise CosError("--seed must be >= 0", status=2)
    overrides = ["guest_fuzz.params.programs=%d" % programs,
                 # progress every tenth of the run, at least every 1000 programs
                 "guest_fuzz.params.progress=%d" % max(1, min(10000, programs // 10 or 1))]
    if args.seed is not None:
        overrides.append("guest_fuzz.params.seed=%d" % args.seed)
    overrides += args.set
    icount = args.emulator == "qemu" and args.icount
    verdict, serial = compose_and_boot(SCRIPT, "bench-guestfuzz", overrides, args.emulator, args.timeout,
                                       icount)
    status = verdict.report()
    r = parse(serial)
    problems = []
    if status != EXIT_OK:
        problems.append("the run failed (%s)" % verdict.reason)
    if r["programs"] is None:
        problems.append("the fuzzer did not finish (no final 'guest_fuzz: N programs' line)")
    elif not r["passed"]:
        problems.append("%d failures" % r["failures"])
    if r["fail_lines"]:
        problems.append("first: %s" % r["fail_lines"][0])
    if not r["canary_ok"]:
        problems.append("the canary was not verified intact")
    if r["canary_fault"]:
        problems.append("the canary faulted")
    print()
    seed = r["seed"] if r["seed"] is not None else (args.seed if args.seed is not None else 1)
    what = "seed %d, %d programs" % (seed, r["programs"] if r["programs"] is not None else programs)
    if problems:
        print("guestfuzz: FAILED (%s): %s" % (what, "; ".join(problems)))
        print("reproduce: ./cos bench guestfuzz --programs %d --seed %d%s%s" % (
            programs, seed, " --emulator bochs" if args.emulator == "bochs" else "",
            " --icount" if icount else ""))
        print("console: %s" % rel(System("bench-guestfuzz").dir / "serial.log"))
        return EXIT_FAILED
    print("guestfuzz: PASSED (%s, %d exits%s): no kernel panic, no VMM failure, every VM's memory "
          "back, canary memory and capabilities intact" % (
              what, r["exits"], ", %.1f s guest time" % (r["elapsed_ms"] / 1000.0)
              if r["elapsed_ms"] is not None else ""))
    if icount:
        print("QEMU TCG with -icount shift=0: program i depends only on the seed and i, and the "
              "time budgets follow executed instructions")
    elif args.emulator == "qemu":
        print("QEMU without -icount: program i's code and state depend only on the seed and i; "
              "its 2 ms budget follows the host clock (--icount: instruction-driven time)")
    return EXIT_OK
