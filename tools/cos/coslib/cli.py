"""Argument parsing and dispatch for `cos`."""

import argparse
import sys
import textwrap

from . import bench, build, completion, guest, packages, run, systems, testing
from .common import DEFAULT_ARCH, CosError, info
from .outcome import EXIT_INTERRUPTED

QUICK_START = """\
Quick start (a fresh Debian 12 machine):
  ./cos run hello     set up, build, compose and boot the demo system in QEMU
  ./cos test          build and run every unit and integration test
"""

STEPS = """\
Typical workflow:
  ./cos setup
  ./cos init x86_64
  ./cos build
  ./cos compose composition_scripts/hello.toml hello   (or: ./cos compose hello)
  ./cos run hello [--emulator bochs]
  ./cos guest fetch | ./cos guest build      (guest kernel / initramfs; compose does it)
  ./cos bench ipc | ./cos bench vmexit [--host-time [--kvm-baseline PATH]]
  ./cos bench fuzz [--calls N] [--seed S]
  ./cos bench guestfuzz [--programs N] [--seed S]
  ./cos bench boot [--runs N] [--emulator qemu|bochs|all]
  ./cos bench net [--mib N] | ./cos bench blk [--reads N] | ./cos bench smp
"""


class UsageError(Exception):
    """A command line the parser rejects; `main` prints it and exits with 2."""

    def __init__(self, parser, message):
        super().__init__(message)
        self.parser = parser
        self.message = message

    def report(self):
        """Print the usage line and `cos <command>: error: <message>` on stderr."""
        self.parser.print_usage(sys.stderr)
        sys.stderr.write("%s: error: %s\n" % (self.parser.prog, self.message))


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors raise UsageError (exit status 2 in `main`)."""

    def error(self, message):
        raise UsageError(self, message)


def _timeout(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number of seconds: %r" % text)
    return value


def build_parser():
    """The parser for every subcommand; returns (parser, {name: subparser})."""
    parser = Parser(prog="cos", add_help=False, usage="cos <command> [options]",
                    description="cos: build, compose, run and test the cos microkernel.")
    sub = parser.add_subparsers(dest="command", metavar="<command>", parser_class=Parser)
    cmds = {}

    def add(name, summary, func, description=None):
        p = sub.add_parser(name, prog="cos " + name, help=summary,
                           description=description or summary,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func, summary=summary)
        cmds[name] = p
        return p

    add("setup", "install every missing Debian package (apt-get; root needed)",
        packages.cmd_setup,
        "Install every missing Debian package listed in tools/cos/packages.txt with\n"
        "apt-get. Not root: prints the exact sudo command and exits 1. Every other\n"
        "command runs the same check first and prints nothing when all is installed.")

    p = add("init", "configure the build tree build/<arch> (CMake + Ninja)", build.cmd_init,
            "Configure build/<arch> with CMake and Ninja (RelWithDebInfo) and link\n"
            "compile_commands.json at the repository root.")
    p.add_argument("arch", nargs="?", default=DEFAULT_ARCH,
                   help="target architecture (default and only choice: x86_64)")

    add("build", "build the kernel, components, composer and tests", build.cmd_build,
        "Build build/x86_64 incrementally with Ninja (runs 'init x86_64' first if\n"
        "needed).")

    p = add("compose", "turn a composition script into system_binaries/<name>/",
            systems.cmd_compose,
            "SCRIPT is a path, else a file in composition_scripts/ with or without\n"
            "'.toml' (cos compose simple_vmm.toml vm, cos compose hello); NAME defaults\n"
            "to the script's [system] name. A missing or ambiguous SCRIPT is an error\n"
            "(exit status 2) that lists the scripts there.\n\n"
            "Build (incrementally) the kernel, the composer and the images the script\n"
            "names, then run the composer:\n"
            "  cos-composer <script> system_binaries/<name> --images build/x86_64/images\n"
            "               --kernel build/x86_64/images/kernel.elf\n"
            "The output holds kernel.elf, the component images, manifest.bin, grub.cfg,\n"
            "system.json and cos.iso. For a script with [component.guest] tables it first\n"
            "fetches the guest kernel and builds the default initramfs if they are used\n"
            "(see 'cos guest') and passes them to the composer. Exit status is the\n"
            "composer's (2 = bad script).")
    p.add_argument("script", nargs="?",
                   help="composition script: a path, or a name in composition_scripts/")
    p.add_argument("name", nargs="?",
                   help="system name (output directory; default: the script's [system] name)")
    p.add_argument("--set", action="append", default=[], metavar="TARGET.KEY=VALUE",
                   help="override a key of the script: TARGET is 'system' or a component's "
                        "name (vm_exit_bench.params.iterations=100000, simple_vmm.priority=5, "
                        "simple_vmm.guest.ram=512M); checked like the script's own keys, "
                        "kept for recomposing (repeatable)")

    p = add("guest", "fetch the guest kernel or build the default initramfs",
            guest.cmd_guest,
            "Guest images for VMM components ([component.guest] in a composition\n"
            "script; 'cos compose' does this by itself when a script needs them):\n"
            "  fetch  the Debian cloud kernel (the bzImage of the package that\n"
            "         linux-image-cloud-amd64 depends on) with apt-get download,\n"
            "         cached in $XDG_CACHE_HOME/cos/guest (default ~/.cache/cos/guest)\n"
            "  build  the default initramfs (guest/initramfs/init.c and busybox)\n"
            "         into build/x86_64/guest/initramfs.cpio.gz\n"
            "See docs/guest.md.")
    p.add_argument("what", choices=("fetch", "build"), metavar="fetch|build",
                   help="fetch the kernel or build the initramfs")
    p.add_argument("--refresh", action="store_true",
                   help="fetch: download the kernel again even if it is cached")

    p = add("run", "boot a system with its serial console on this terminal", run.cmd_run,
            "Boot system_binaries/<name>/cos.iso with the guest's serial console on this\n"
            "terminal (stdin goes to the guest). If the system does not exist but\n"
            "composition_scripts/<name>.toml does, set up, build and compose it first;\n"
            "if the build or its script is newer than cos.iso, rebuild and recompose.\n"
            "Only what the system needs is built, quietly: one line per step, the\n"
            "output in build/x86_64/logs/run-<name>.log (its tail on failure).\n\n"
            "On a terminal every key goes to the guest, Ctrl-C, Ctrl-Z and Ctrl-\\\n"
            "included, except Ctrl-A: Ctrl-A x ends the run, Ctrl-A h lists the keys,\n"
            "Ctrl-A Ctrl-A sends Ctrl-A.\n\n"
            "Exit status: 0 clean shutdown ('cos: shutdown: clean' and the kernel's exit\n"
            "port); 1 with a one-line reason for a kernel panic, triple fault, guest\n"
            "reset, emulator crash or timeout; 130 after Ctrl-A x or SIGINT (Ctrl-C\n"
            "with piped input); 2 for usage errors.")
    p.add_argument("name", nargs="?", help="system name (system_binaries/<name>)")
    p.add_argument("--emulator", choices=("qemu", "bochs"), default="qemu",
                   help="emulator (default: qemu)")
    p.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto",
                   help="QEMU accelerator: auto = KVM only with nested virtualization, "
                        "else TCG (default: auto)")
    p.add_argument("--timeout", type=_timeout, default=0, metavar="S",
                   help="stop the emulator and fail after S seconds (default 0: none)")
    p.add_argument("--icount", action="store_true",
                   help="QEMU -icount shift=0: virtual time follows instructions (TCG)")

    p = add("debug", "boot a system paused under QEMU's gdb stub", run.cmd_debug,
            "Boot like 'run' under QEMU/TCG, paused before the first instruction with\n"
            "the gdb stub listening on 127.0.0.1:<port>, and print the gdb command\n"
            "line that connects and loads the kernel's and components' symbols.")
    p.add_argument("name", nargs="?", help="system name (system_binaries/<name>)")
    p.add_argument("--port", type=int, default=1234, help="gdb stub TCP port (default 1234)")
    p.add_argument("--timeout", type=_timeout, default=0, metavar="S",
                   help="stop QEMU after S seconds (default 0: none)")

    p = add("test", "build, then run all tests with ctest", testing.cmd_test,
            "Check packages, initialise and build if needed, then run\n"
            "  ctest --test-dir build/x86_64 --output-on-failure -j<cpus>\n"
            "Exit status is ctest's. Labels: 'unit', 'integration'.")
    p.add_argument("-L", "--label", help="only tests with this ctest label")
    p.add_argument("-R", "--regex", help="only tests whose name matches this regex")
    p.add_argument("-j", "--jobs", type=int, help="parallel tests (default: CPU count)")
    p.add_argument("ctest_args", nargs="*", metavar="-- CTEST-ARGS",
                   help="further ctest arguments, after '--'")

    p = add("bench", "run a benchmark or long run: ipc (IPC costs), vmexit (VM-exit costs), "
            "fuzz (syscall fuzzer), guestfuzz (guest-code fuzzer), boot (Linux boot time), "
            "net (network between two guests), blk (a guest's disk) or smp (1 vs 2 vCPUs)",
            bench.cmd_bench,
            "Benchmarks and long runs, not tests: each composes its script into\n"
            "system_binaries/bench-<what>/ (varied with the composer's --set overrides:\n"
            "its own options first, then yours), boots it with its console on stdout,\n"
            "then summarises.\n\n"
            "  ipc   composition_scripts/ipc_bench.toml: null syscall, sinv/sret round\n"
            "        trip, asnd->rcv round trip and thread switch, median and minimum\n"
            "        TSC cycles over --iterations samples each. QEMU runs TCG with\n"
            "        -icount shift=0, so cycles follow executed instructions and the\n"
            "        numbers are deterministic. Prints a table (and the ratio sinv round\n"
            "        trip / null syscall) and writes build/x86_64/bench/ipc.json.\n"
            "  vmexit composition_scripts/vm_exit_bench.toml: a guest's port-I/O, CPUID\n"
            "        and hypercall exits handled by a VMM component; mean TSC cycles per\n"
            "        round trip and exits per second for each kind over --iterations\n"
            "        round trips. QEMU (TCG, -icount shift=0) uses the AMD SVM backend,\n"
            "        --emulator bochs the Intel VMX one. Writes\n"
            "        build/x86_64/bench/vmexit.json (with the emulator and backend).\n"
            "        --host-time: QEMU TCG without -icount, 100000 round trips per kind:\n"
            "        exits per host second, timed between the VMM's console lines (the\n"
            "        KVM baseline's method) and by the kernel's clock; with\n"
            "        --kvm-baseline PATH (../shared/baselines/kvm-tcg-baseline) it runs\n"
            "        that next and prints cos/KVM ratios. Writes vmexit-host.json.\n"
            "  fuzz  composition_scripts/syscall_fuzz.toml with --calls pseudo-random\n"
            "        system calls (default 1000000) from --seed; passes when every call\n"
            "        returned, the kernel did not panic, the canary component's memory and\n"
            "        capabilities are intact and no ABI contract violation was seen.\n"
            "        QEMU runs TCG with -icount shift=0 here too: the same seed and count\n"
            "        reproduce a run exactly.\n"
            "  guestfuzz composition_scripts/guest_fuzz.toml with --programs random guest\n"
            "        programs (default 100000: random bytes or random valid encodings, in\n"
            "        real, protected and long mode, with random register, segment and\n"
            "        control state) from --seed, each for at most 64 exits or 2 ms; passes\n"
            "        when no program made vcpu_run or the VMM fail, every VM gave its\n"
            "        memory back, the canary component is intact and the kernel did not\n"
            "        panic. Program i depends only on the seed and i (--set\n"
            "        guest_fuzz.params.first=I --programs 1 reruns it); its 2 ms follow the\n"
            "        host clock. --icount: QEMU TCG with -icount shift=0, time follows\n"
            "        executed instructions (exact replays; a guest looping through\n"
            "        exceptions without retiring an instruction stalls QEMU's clock).\n"
            "  boot  system 'vm' (composition_scripts/simple_vmm.toml, made current as by\n"
            "        'cos run vm'), then --runs times per emulator './cos run vm' with\n"
            "        'poweroff -f' piped in: host wall-clock seconds (time.monotonic) from\n"
            "        its start to the guest init's 'Hello Initramfs in special\n"
            "        bootloader!' line and to 'cos: shutdown: clean', read from its output\n"
            "        as it streams; median/min/max to init, median to shutdown, and the\n"
            "        VM exits (total and by reason) of the median run. QEMU runs TCG\n"
            "        without -icount (AMD SVM backend), Bochs the Intel VMX one;\n"
            "        --emulator all does both. Wall-clock times under emulation are noisy.\n"
            "        Writes build/x86_64/bench/boot.json.\n"
            "  net   composition_scripts/bench_net.toml (two Linux guests on netswitch;\n"
            "        guest/bench/netperf.c compiled into build/x86_64/guest/bench/):\n"
            "        busybox ping vm_a -> vm_b (min/avg/max ms, guest clock) and --mib MiB\n"
            "        (default 32) over TCP vm_a -> vm_b, MiB/s on the host's clock between\n"
            "        the sender's console lines; then a baseline boot without the\n"
            "        transfer: exits per MiB for each VM. QEMU TCG without -icount.\n"
            "        Writes build/x86_64/bench/net.json.\n"
            "  blk   composition_scripts/bench_blk.toml (a 64 MiB blk_ram disk;\n"
            "        guest/bench/blkperf.c): O_DIRECT sequential 1 MiB reads of /dev/vda\n"
            "        (MiB/s) and --reads 4 KiB random reads (default 2000, IOPS), host\n"
            "        clock, one boot each, then a baseline boot: exits per MiB and per\n"
            "        read. QEMU TCG without -icount. Writes build/x86_64/bench/blk.json.\n"
            "  smp   composition_scripts/vm_smp.toml ([system] cpus = 2) with vcpus = 1,\n"
            "        then 2 (vCPU i on CPU i): --loops busybox sh loops (default 2) of\n"
            "        --iterations steps (default 200000) in parallel in the guest; host\n"
            "        seconds between the guest's markers and the speedup 1 vCPU / 2\n"
            "        vCPUs (target >= 1.7 with two idle host cores). QEMU TCG without\n"
            "        -icount. Writes build/x86_64/bench/smp.json.\n\n"
            "Exit status: 0 success, 1 failure (run failed, results missing or a fuzz\n"
            "check failed), 2 usage error.")
    p.add_argument("what", choices=("ipc", "vmexit", "fuzz", "guestfuzz", "boot", "net", "blk", "smp"),
                   metavar="ipc|vmexit|fuzz|guestfuzz|boot|net|blk|smp", help="which benchmark")
    p.add_argument("--emulator", choices=("qemu", "bochs", "all"), default="qemu",
                   help="emulator (default: qemu: TCG with -icount shift=0, for boot "
                        "without -icount); all = qemu then bochs (boot, net, blk)")
    p.add_argument("--timeout", type=_timeout, default=None, metavar="S",
                   help="stop the emulator and fail after S seconds (default: ipc and "
                        "vmexit 600, fuzz 3600, guestfuzz 7200, boot, net, blk and smp 1800 per "
                        "run; 0: none)")
    p.add_argument("--runs", type=int, metavar="N",
                   help="boot: timed boots per emulator (default 3)")
    p.add_argument("--iterations", type=int, metavar="N",
                   help="ipc: timed iterations per benchmark; vmexit: round trips per "
                        "exit kind (default: the script's, 10000); smp: steps per guest "
                        "loop (default 200000)")
    p.add_argument("--loops", type=int, metavar="N",
                   help="smp: guest shell loops run in parallel (default 2)")
    p.add_argument("--mib", type=int, metavar="N",
                   help="net: MiB sent over TCP from vm_a to vm_b (default 32)")
    p.add_argument("--reads", type=int, metavar="N",
                   help="blk: 4 KiB random reads (default 2000)")
    p.add_argument("--calls", type=int, default=1000000, metavar="N",
                   help="fuzz: number of system calls (default 1000000)")
    p.add_argument("--seed", type=int, metavar="S",
                   help="fuzz, guestfuzz: PRNG seed (default: the script's, 1)")
    p.add_argument("--programs", type=int, metavar="N",
                   help="guestfuzz: number of guest programs (default 100000)")
    p.add_argument("--set", action="append", default=[], metavar="TARGET.KEY=VALUE",
                   help="override a key of the benchmark's script, as 'cos compose --set' "
                        "(e.g. vm_exit_bench.params.own_thread=1; repeatable)")
    p.add_argument("--icount", action="store_true",
                   help="guestfuzz: QEMU TCG with -icount shift=0 (deterministic time budgets; "
                        "a guest looping through exceptions stalls it)")
    p.add_argument("--host-time", action="store_true",
                   help="vmexit: exits per host second under QEMU TCG without -icount "
                        "(default --iterations 100000)")
    p.add_argument("--kvm-baseline", metavar="PATH",
                   help="vmexit --host-time: run this KVM baseline script "
                        "(kvm-tcg-baseline) right after and print cos/KVM ratios")

    add("clean", "remove build/, system_binaries/ and the compile_commands.json link",
        cmd_clean)

    p = add("help", "show this help, or one command's help", None)
    p.add_argument("topic", nargs="?", help="a command")
    return parser, cmds


def full_help(cmds):
    """The text of `cos help`: every command with its options."""
    out = ["usage: cos <command> [options]", "",
           "cos builds, composes, runs and tests the cos component-based microkernel.",
           "", QUICK_START, "Commands:"]
    for name, p in cmds.items():
        usage = " ".join(p.format_usage().replace("usage: ", "").split())
        usage = usage.replace(" [-h]", "")
        out.append("  " + usage)
        out.append("      " + p.get_default("summary"))
        for action in p._actions:
            if not action.option_strings or action.dest == "help":
                continue
            flag = ", ".join(action.option_strings)
            if action.choices:
                flag += " " + "|".join(action.choices)
            elif action.nargs != 0:
                flag += " " + (action.metavar or action.dest.upper())
            text = textwrap.wrap(action.help or "", 50)
            out.append("        %-26s %s" % (flag, text[0] if text else ""))
            out.extend("        %-26s %s" % ("", t) for t in text[1:])
    out += ["", STEPS, "'cos <command> --help' describes one command in detail."]
    return "\n".join(out) + "\n"


def cmd_clean(args):
    """`cos clean`: remove build products and composed systems."""
    import shutil
    from .common import BUILD_ROOT, COMPILE_COMMANDS_LINK, SYSTEMS_DIR, rel
    for path in (BUILD_ROOT, SYSTEMS_DIR):
        if path.exists():
            shutil.rmtree(path)
            info("removed %s/" % rel(path))
    if COMPILE_COMMANDS_LINK.is_symlink():
        COMPILE_COMMANDS_LINK.unlink()
        info("removed compile_commands.json")
    return 0


NO_PACKAGE_CHECK = {"help", "clean", "setup"}


def parse(argv):
    """Parse a command line (the words after `cos`) the way `main` does.

    Returns the argparse namespace with `.command` set; `cos` alone and
    `cos -h` become `help`. Raises UsageError for a line the CLI rejects
    (tests/integration/docs_test.py checks README commands with this).
    """
    parser, cmds = build_parser()
    if not argv or argv[0] in ("-h", "--help"):
        argv = ["help"] + list(argv[1:])
    if argv[0] not in cmds:
        parser.error("unknown command '%s' (commands: %s)" % (argv[0], ", ".join(cmds)))
    args = cmds[argv[0]].parse_args(argv[1:])
    args.command = argv[0]
    if args.command == "help" and args.topic and args.topic not in cmds:
        parser.error("unknown command '%s'" % args.topic)
    return args


def main(argv):
    """Parse `argv`, run the command, and return the exit status."""
    parser, cmds = build_parser()
    if argv and argv[0] == "__complete":  # tools/cos/completion.bash
        return completion.main(argv[1:], cmds)
    if not argv:
        sys.stderr.write(full_help(cmds))
        return 2
    try:
        args = parse(argv)
    except UsageError as e:
        e.report()
        return 2
    try:
        if args.command == "help":
            if args.topic:
                cmds[args.topic].print_help()
            else:
                sys.stdout.write(full_help(cmds))
            return 0
        if args.command not in NO_PACKAGE_CHECK:
            # run/debug keep stdout for the guest console: apt output to stderr.
            packages.ensure_packages(stdout_to_stderr=args.command in ("run", "debug", "bench"))
        return args.func(args)
    except CosError as e:
        sys.stdout.flush()
        info("error: " + e.message)
        return e.status
    except KeyboardInterrupt:
        sys.stdout.flush()
        info("interrupted")
        return EXIT_INTERRUPTED
