"""How a run is judged.

The kernel's conventions (serial COM1, 115200 8N1):
  clean power-off: the line `cos: shutdown: clean`, then outl(0xf4, 0x10)
                   (QEMU isa-debug-exit: status (0x10 << 1) | 1 = 33) and the
                   string "Shutdown" on port 0x8900 (Bochs);
  panic:           a line `cos: PANIC: <reason>`, then outl(0xf4, 0x11)
                   (status 35) and the same 0x8900 write;
  essential component stopped (it faulted, or ended with comp_exit and a
                   non-zero status): a line `cos: shutdown: essential
                   component '<name>' stopped (status <s>): <reason>`, then
                   outl(0xf4, 0x12) (status 37) and the same 0x8900 write.

A run succeeds only when the marker was printed AND the emulator stopped the
way the kernel's clean path stops it. An essential component's stop makes the
run exit with that component's status <s> (cos/exit_status.hpp: 4 failed, 6
guest reset, 8 guest triple fault, 10 guest panic, odd values a guest's
isa-debug-exit), reported as `cos: run failed: <name>: <reason>`. Every
failure is reported as a single `cos: run failed: <reason>` line on stderr.
"""

import signal

from .common import info

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class Verdict:
    """The result of a run: an exit status and a one-line explanation."""

    def __init__(self, status, reason):
        self.status = status
        self.reason = reason

    def report(self):
        """Print the one-line verdict on stderr and return the exit status."""
        if self.status in (EXIT_OK, EXIT_INTERRUPTED):
            info(self.reason)
        else:
            info("run failed: " + self.reason)
        return self.status


def signal_name(signum):
    """'SIGINT' for 2, etc."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return "signal %d" % signum


def judge_common(result, scanner, emulator, timeout):
    """Verdicts that do not depend on the emulator; None if undecided.

    Order matters: the user ending the run (Ctrl-A x, a signal) wins, then a kernel panic (the root cause
    even if the machine then hung or reset), then our own stop reasons.
    """
    if result.quit_key:
        return Verdict(EXIT_INTERRUPTED, "run ended with Ctrl-A x; %s stopped" % emulator)
    if result.interrupted is not None:
        return Verdict(EXIT_INTERRUPTED, "interrupted (%s); %s stopped"
                       % (signal_name(result.interrupted), emulator))
    if scanner.panic:
        return Verdict(EXIT_FAILED, "kernel panic: " + scanner.panic)
    if result.timed_out:
        extra = ""
        if scanner.clean:
            extra = " ('%s' was printed but %s did not stop)" % (
                "cos: shutdown: clean", emulator)
        elif scanner.stopped:
            extra = " (essential component '%s' stopped but %s did not)" % (
                scanner.stopped[0], emulator)
        return Verdict(EXIT_FAILED, "timeout after %g s%s" % (timeout, extra))
    if result.stop_reason:
        return Verdict(EXIT_FAILED, result.stop_reason)
    return None


def stopped_verdict(scanner):
    """The verdict for an essential component's stop (the kernel's line and
    its exit path both seen): the component's status and reason."""
    name, status, reason = scanner.stopped
    if status == EXIT_OK:  # the kernel never stops the machine for status 0
        return Verdict(EXIT_FAILED, "%s: %s (stopped with status 0)" % (name, reason))
    return Verdict(status, "%s: %s" % (name, reason))


def clean_verdict(emulator, result):
    """The success verdict."""
    return Verdict(EXIT_OK, "clean shutdown (%s, %.1f s)" % (emulator, result.elapsed))
