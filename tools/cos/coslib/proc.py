"""Child-process helpers: make sure no emulator outlives a killed `cos`.

Two independent mechanisms, because either may be missing:
  * PR_SET_PDEATHSIG in the emulator (the kernel sends it SIGKILL when `cos`
    dies) - not delivered on every kernel (e.g. some sandboxes);
  * a tiny forked watchdog that holds the read end of a pipe whose write end
    only `cos` has: if `cos` dies without disarming it, the pipe reaches EOF
    and the watchdog kills the emulator.
"""

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent():
    """Run in a child between fork and exec: ask Linux to SIGKILL it when its
    parent dies. Best effort: silently does nothing where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read()
    except OSError:
        return b""


class Watchdog:
    """Kills process `pid` if this process dies before calling `disarm()`."""

    def __init__(self, pid):
        self.pid = pid
        self._fd = None
        signature = _cmdline(pid)
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # the watchdog
            try:
                os.setsid()  # terminal signals are not for us
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                os.closerange(3, read_end)
                os.closerange(read_end + 1, 65536)
                for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    signal.signal(s, signal.SIG_IGN)
                data = b""
                try:
                    data = os.read(read_end, 1)
                except OSError:
                    pass
                if not data and signature and _cmdline(pid) == signature:
                    os.kill(pid, signal.SIGKILL)
            finally:
                os._exit(0)
        os.close(read_end)
        self._fd = write_end
        self._child = child

    def disarm(self):
        """The emulator is gone (or handled): let the watchdog exit quietly."""
        if self._fd is None:
            return
        try:
            os.write(self._fd, b"x")
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None
        try:
            os.waitpid(self._child, 0)
        except ChildProcessError:
            pass
