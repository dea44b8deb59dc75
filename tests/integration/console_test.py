#!/usr/bin/env python3
"""`./cos run` on an interactive terminal: a pseudo-terminal (python pty)
stands in for the user's terminal and types keys.

Scenarios (one per ctest; each composes its own system first):
  signals   Linux in simple_vmm (composition_scripts/simple_vmm.toml): at the
            busybox prompt, Ctrl-C interrupts `sleep 1000`, Ctrl-Z stops one
            (the shell reports it; `kill -9 %1` ends it), Ctrl-\\ quits one;
            then `echo ALIVE_$((6*7))` must print ALIVE_42 and `poweroff -f`
            ends the run with status 0.
  escape    the same system: Ctrl-A h prints the escape help, Ctrl-A x ends
            the run with status 130 and one line saying so, and no emulator
            is left running.
  keys      any system under any emulator (e.g. hello under Bochs): Ctrl-C,
            Ctrl-Z and Ctrl-\\ typed as soon as input is accepted go to the
            guest and must not disturb the run, which ends cleanly (status 0).
  sigint    the same Linux system with stdin a pipe (not a terminal): SIGINT
            sent to `cos` stops the run with status 130 and no emulator left.
In every terminal scenario the terminal's mode must be what it was before.

  console_test.py signals --script composition_scripts/simple_vmm.toml \\
      --name itest-console-signals --emulator qemu --timeout 300

Exit status 0 = pass, 1 = fail.
"""

import argparse
import fcntl
import os
import re
import select
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COS = REPO / "cos"
sys.path.insert(0, str(REPO / "tools" / "cos"))
from coslib.console import clean_line  # noqa: E402
from coslib.proc import die_with_parent  # noqa: E402

CTRL_A, CTRL_C, CTRL_Z, CTRL_BACKSLASH = b"\x01", b"\x03", b"\x1a", b"\x1c"
PROMPT = "~ # "  # PS1 of guest/initramfs/init.c


class Failure(Exception):
    pass


class Terminal:
    """`./cos run` with a pty as its controlling terminal (stdin, stdout and
    stderr), like a shell would start it in the foreground."""

    def __init__(self, argv, deadline):
        self.master, self.slave = os.openpty()
        self.initial_mode = termios.tcgetattr(self.slave)
        self.output = b""
        self.deadline = deadline

        def controlling_tty():
            die_with_parent()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen([str(a) for a in argv], cwd=str(REPO),
                                     stdin=self.slave, stdout=self.slave, stderr=self.slave,
                                     start_new_session=True, preexec_fn=controlling_tty)
        print("$ " + " ".join(str(a) for a in argv), flush=True)

    def _pump(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:
            data = b""
        if data:
            self.output += data
            sys.stdout.write(data.decode("utf-8", "replace"))
            sys.stdout.flush()
        return bool(data)

    def text(self, start=0):
        """The output from byte offset `start` as clean text lines."""
        return "\n".join(clean_line(l) for l in self.output[start:].split(b"\n"))

    def expect(self, pattern, start=0, what=None):
        """Wait until `pattern` (a regex) appears in the output after byte
        offset `start`; returns the byte offset of the line after the match
        (or the end of the output when the match is on its last line), so
        that what came in the same read after the match (a prompt printed
        right after a job report) is still there for the next expect."""
        regex = re.compile(pattern, re.M)
        while True:
            m = regex.search(self.text(start))
            if m:
                break
            if self.proc.poll() is not None:
                self._pump(0.2)
                if regex.search(self.text(start)):
                    continue
                raise Failure("cos exited with status %d before %s"
                              % (self.proc.returncode, what or repr(pattern)))
            if time.monotonic() > self.deadline:
                raise Failure("timed out waiting for %s" % (what or repr(pattern)))
            self._pump(0.5)
        # text() keeps one cleaned line per raw line: the match's line number
        # is the same in the raw bytes.
        lines = self.text(start)[:m.end()].count("\n") + 1
        offset = start
        for _ in range(lines):
            nl = self.output.find(b"\n", offset)
            if nl < 0:
                return len(self.output)
            offset = nl + 1
        return offset

    def prompt(self, start, what):
        """Wait for a fresh shell prompt after `start`."""
        return self.expect(re.escape(PROMPT.rstrip()) + r"\s*$", start, what)

    def type(self, data):
        print("\n[typing %r]" % data, flush=True)
        os.write(self.master, data)

    def wait(self):
        """Wait for cos to exit (reading its output); returns its status."""
        while self.proc.poll() is None:
            if time.monotonic() > self.deadline:
                raise Failure("cos did not exit in time")
            self._pump(0.5)
        while self._pump(0.2):
            pass
        return self.proc.returncode

    def wait_console_mode(self):
        """Wait until cos has switched the terminal to console mode (ISIG off)."""
        while termios.tcgetattr(self.slave)[3] & termios.ISIG:
            if self.proc.poll() is not None or time.monotonic() > self.deadline:
                raise Failure("cos never put the terminal in console mode")
            self._pump(0.05)

    def check_mode_restored(self):
        mode = termios.tcgetattr(self.slave)
        if mode != self.initial_mode:
            raise Failure("the terminal mode was not restored: before %r, after %r"
                          % (self.initial_mode, mode))
        print("terminal mode restored")

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


def compose(script, name):
    proc = subprocess.run([str(COS), "compose", script, name], cwd=str(REPO),
                          stdin=subprocess.DEVNULL, timeout=900)
    if proc.returncode != 0:
        raise Failure("./cos compose %s %s failed with status %d"
                      % (script, name, proc.returncode))


def run_argv(args):
    return [COS, "run", args.name, "--emulator", args.emulator, "--timeout", str(args.timeout)]


def no_emulator_left(name):
    """Fail if an emulator still runs the system `name` (its ISO/bochsrc path)."""
    marker = str(REPO / "system_binaries" / name)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path("/proc", pid, "cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if marker + "/" in cmdline and ("qemu" in cmdline or "bochs" in cmdline):
            raise Failure("an emulator is still running: pid %s: %s"
                          % (pid, cmdline.replace("\0", " ")))


def scenario_signals(args):
    term = Terminal(run_argv(args), time.monotonic() + args.timeout + 60)
    try:
        at = term.prompt(0, "the first shell prompt")
        for key, name, report in ((CTRL_C, "Ctrl-C", None),
                                  (CTRL_Z, "Ctrl-Z", r"Stopped"),
                                  (CTRL_BACKSLASH, "Ctrl-\\", r"Quit")):
            # The shell prints STARTED_5 (not in the echoed command line) just
            # before it starts `sleep 1000`; give it a moment to become the
            # terminal's foreground job. (`sh -c '...; exec sleep'` would be
            # exact, but busybox's `sh -c` leaves SIGQUIT ignored.)
            term.type(b"echo STARTED_$((2+3)); sleep 1000\r")
            at = term.expect(r"^STARTED_5\s*$", at, "STARTED_5 before the job")
            time.sleep(2)
            term.type(key)
            if report:
                at = term.expect(report, at, "the shell's '%s' report after %s" % (report, name))
            at = term.prompt(at, "a prompt after %s reached 'sleep 1000'" % name)
            if key == CTRL_Z:
                # End the stopped job. (ash reports `Killed` when it reaps
                # it, which may be only at a later prompt: not waited for.)
                term.type(b"kill -9 %1\r")
                at = term.expect(r"kill -9 %1\s*$", at, "the echo of 'kill -9 %1'")
                at = term.prompt(at, "a prompt after kill -9 %1")
        term.type(b"echo ALIVE_$((6*7))\r")
        at = term.expect(r"^ALIVE_42\s*$", at, "ALIVE_42")
        term.type(b"poweroff -f\r")
        rc = term.wait()
        if rc != 0:
            raise Failure("cos run exited with status %d after poweroff -f, expected 0" % rc)
        term.check_mode_restored()
    finally:
        term.close()


def scenario_escape(args):
    term = Terminal(run_argv(args), time.monotonic() + args.timeout + 60)
    try:
        at = term.prompt(0, "the first shell prompt")
        term.type(CTRL_A + b"h")
        at = term.expect(r"Ctrl-A x\s+end the run", at, "the escape help")
        term.type(CTRL_A + b"x")
        rc = term.wait()
        if rc != 130:
            raise Failure("cos run exited with status %d after Ctrl-A x, expected 130" % rc)
        lines = [l for l in term.text(at).split("\n") if "Ctrl-A x" in l]
        if len(lines) != 1 or not lines[0].startswith("cos: "):
            raise Failure("expected one 'cos: ... Ctrl-A x ...' line, got %r" % lines)
        term.check_mode_restored()
        no_emulator_left(args.name)
    finally:
        term.close()


def scenario_keys(args):
    term = Terminal(run_argv(args), time.monotonic() + args.timeout + 60)
    try:
        # Once cos has put the terminal in console mode (before that, Ctrl-C
        # is a signal that stops the build or compose step), typically before
        # the guest is ready: the keys are held back, then delivered in order.
        term.wait_console_mode()
        term.type(CTRL_C + CTRL_Z + CTRL_BACKSLASH)
        rc = term.wait()
        if rc != 0:
            raise Failure("cos run exited with status %d with Ctrl-C/Ctrl-Z/Ctrl-\\ typed, "
                          "expected 0" % rc)
        term.check_mode_restored()
    finally:
        term.close()


def scenario_sigint(args):
    argv = [str(a) for a in run_argv(args)]
    print("$ " + " ".join(argv) + "   (stdin: a pipe)", flush=True)
    proc = subprocess.Popen(argv, cwd=str(REPO), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    deadline = time.monotonic() + args.timeout + 60
    output = b""
    try:
        while b"Hello Initramfs" not in output:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise Failure("the guest's init never started (status %s)" % proc.poll())
            r, _, _ = select.select([proc.stdout], [], [], 0.5)
            if r:
                data = os.read(proc.stdout.fileno(), 65536)
                output += data
                sys.stdout.write(data.decode("utf-8", "replace"))
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        sys.stdout.write(rest.decode("utf-8", "replace"))
        if proc.returncode != 130:
            raise Failure("cos run exited with status %d after SIGINT, expected 130"
                          % proc.returncode)
        no_emulator_left(args.name)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


SCENARIOS = {"signals": scenario_signals, "escape": scenario_escape,
             "keys": scenario_keys, "sigint": scenario_sigint}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--script", required=True, help="composition script (repo-relative)")
    p.add_argument("--name", required=True, help="system name (distinct per test)")
    p.add_argument("--emulator", choices=("qemu", "bochs"), default="qemu")
    p.add_argument("--timeout", type=float, default=300, help="./cos run --timeout")
    args = p.parse_args(argv)
    try:
        compose(args.script, args.name)
        SCENARIOS[args.scenario](args)
    except Failure as e:
        print("\nFAIL: %s: %s" % (args.scenario, e))
        return 1
    print("\nPASS: %s" % args.scenario)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
