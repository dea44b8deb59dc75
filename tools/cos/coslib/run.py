"""`cos run` and `cos debug`: boot a composed system in an emulator."""

import os
import socket
import sys

from . import bochs, qemu
from .common import REPO, CosError, info, quote_cmd, rel
from .systems import missing_name_error, prepare_for_run


def _check_timeout(value):
    if value < 0:
        raise CosError("--timeout must be >= 0 (0 = no timeout)", status=2)


def cmd_run(args):
    """`cos run <name>`: compose on demand, boot, bridge the console, judge the run."""
    if not args.name:
        raise missing_name_error()
    _check_timeout(args.timeout)
    if args.emulator == "bochs" and (args.accel != "auto" or args.icount):
        raise CosError("--accel and --icount apply to QEMU only", status=2)
    system = prepare_for_run(args.name)
    if args.emulator == "bochs":
        verdict = bochs.boot(system, timeout=args.timeout)
    else:
        verdict = qemu.boot(system, accel=args.accel, timeout=args.timeout,
                            icount=args.icount)
    return verdict.report()


def _port_free(port):
    """True if nothing listens on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def gdb_command(system, port):
    """The gdb command line that connects to the stub and loads all symbols."""
    argv = ["gdb", "-q", "-ex", "set confirm off", "-ex", "target remote :%d" % port,
            "-ex", "symbol-file " + rel(system.kernel_elf())]
    for _, image in system.component_images():
        argv += ["-ex", "add-symbol-file " + rel(image)]
    return argv


def cmd_debug(args):
    """`cos debug <name>`: boot paused under QEMU's gdb stub and explain how to attach."""
    if not args.name:
        raise missing_name_error()
    _check_timeout(args.timeout)
    if not 1 <= args.port <= 65535:
        raise CosError("--port must be a TCP port number", status=2)
    system = prepare_for_run(args.name)
    if not _port_free(args.port):
        raise CosError("TCP port %d is in use (another debug session?); pick one with "
                       "--port" % args.port, status=2)
    components = system.component_images()
    where = "" if os.path.realpath(os.getcwd()) == str(REPO) else "cd %s && " % REPO
    info("QEMU starts paused before the first instruction; gdb stub on 127.0.0.1:%d"
         % args.port)
    info("attach from another terminal with:")
    sys.stderr.write("  " + where + quote_cmd(gdb_command(system, args.port)) + "\n")
    if components:
        info("note: components are separate address spaces linked at the same user "
             "addresses, so their symbols overlap; keep only the add-symbol-file of "
             "the component you are debugging (%s)"
             % ", ".join(name for name, _ in components))
    info("then 'continue' in gdb; Ctrl-A x here stops QEMU (Ctrl-A h: console keys)")
    verdict = qemu.boot(system, timeout=args.timeout, gdb_port=args.port)
    return verdict.report()
