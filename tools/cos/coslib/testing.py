"""`cos test`: set up, build, and run every test with ctest."""

import os

from . import build as buildmod
from .common import build_dir, run_command


def ctest_command(args):
    """The ctest command line for `cos test` with its options."""
    jobs = args.jobs or os.cpu_count() or 2
    argv = ["ctest", "--test-dir", str(build_dir()), "--output-on-failure",
            "-j", str(jobs)]
    if args.label:
        argv += ["-L", args.label]
    if args.regex:
        argv += ["-R", args.regex]
    return argv + list(args.ctest_args or [])


def cmd_test(args):
    """Init if needed, build, then ctest; returns ctest's status. (The package
    check has already run, as for every command.)

    Nothing is printed after ctest, so its summary line ends the output.
    """
    buildmod.ensure_initialised()
    buildmod.build()
    return run_command(ctest_command(args))
