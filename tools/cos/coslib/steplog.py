"""Quiet steps with one progress line each (the preparation of `cos run`).

Every command of a step writes its stdout and stderr to one log file in the
build tree instead of the terminal; stderr shows one line per step
(`cos: build [57/112]`, rewritten in place when stderr is a terminal,
otherwise printed when the step starts and when it ends). A failing step
raises CosError with the log's last lines and its path.
"""

import contextlib
import os
import re
import subprocess
import sys
import time

from . import common
from .common import CosError, rel

#: Ninja's default status line prefix, "[finished/total] " (NINJA_STATUS "[%f/%t] ").
NINJA_PROGRESS_RE = re.compile(rb"^\[(\d+)/(\d+)\] ")
#: Output of a build with nothing to do (CMake's check of globbed source
#: directories runs on every build).
IDLE_RE = re.compile(rb"^(\[\d+/\d+\] Re-checking globbed directories\.\.\.|"
                     rb"ninja: no work to do\.)\s*$")
TAIL_LINES = 40


def _duration(seconds):
    if seconds < 60:
        return "%.1f s" % seconds
    return "%dm%02ds" % (seconds // 60, seconds % 60)


def tail(path, lines=TAIL_LINES):
    """The last `lines` lines of the file at `path` (as text)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e.strerror)
    text = data.decode("utf-8", "replace").rstrip("\n").split("\n")
    return "\n".join(text[-lines:])


class StepLog:
    """One log file for a sequence of quiet steps (a context manager).

    path  the log file (created or truncated; its directory is created)

    On a terminal each step is one line rewritten in place (`cos: building
    ... [57/112]`, then `...: done (1m12s)`); otherwise each step prints one
    line when it starts.
    """

    def __init__(self, path):
        self.path = path
        self._log = None
        self._tty = sys.stderr.isatty()
        self._line_open = False

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.path, "wb")
        return self

    def __exit__(self, *exc):
        self._end_line()
        self._log.close()
        return False

    def write(self, text):
        """Append `text` (str or bytes) to the log."""
        self._log.write(text.encode() if isinstance(text, str) else text)
        self._log.flush()

    def _status(self, text):
        """A transient status line (terminal only)."""
        if self._tty:
            sys.stderr.write("\r\x1b[Kcos: " + text)
            sys.stderr.flush()
            self._line_open = True

    def _final(self, text):
        """The step's closing line: replaces the status line on a terminal."""
        if self._tty:
            sys.stderr.write("\r\x1b[Kcos: " + text + "\n")
            sys.stderr.flush()
            self._line_open = False

    def _start(self, label):
        if self._tty:
            self._status(label + " ...")
        else:
            sys.stderr.write("cos: %s (log: %s)\n" % (label, rel(self.path)))
            sys.stderr.flush()

    def _end_line(self):
        if self._line_open:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._line_open = False

    def fail(self, message, status=1):
        """Raise the CosError of a failed step: `message`, then the log's tail."""
        self._end_line()
        raise CosError("%s; the last lines of %s:\n%s\ncos: the full log: %s"
                       % (message, rel(self.path), tail(self.path), rel(self.path)),
                       status=status)

    @contextlib.contextmanager
    def step(self, label):
        """A step run as Python code in the block: the `info` lines it prints go
        to the log. It shows a line only if it printed something, i.e. did
        work (fetching or building guest images); an error propagates."""
        start = time.monotonic()
        logged = []

        def sink(text):
            logged.append(text)
            self.write(text)

        self._status(label + " ...")
        self.write("==== %s\n" % label)
        with common.info_sink(sink):
            try:
                yield
            except CosError as e:
                self.write("cos: error: %s\n" % e.message)
                self._end_line()
                raise
        if logged:
            text = "%s: done (%s)" % (label, _duration(time.monotonic() - start))
            if self._tty:
                self._final(text)
            else:
                sys.stderr.write("cos: %s\n" % text)
                sys.stderr.flush()
        elif self._line_open:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self._line_open = False

    def run(self, label, argv, cwd=common.REPO, env=None):
        """Run one command as a step, its output to the log; Ninja's `[n/m]`
        lines update the progress line. The step shows its line only once the
        command prints something that is not a no-op (IDLE_RE: Ninja finding
        nothing to do), so an up-to-date build stays silent. Returns True if
        it showed a line; raises CosError (with the log's tail and the
        command's exit status) when the command fails."""
        start = time.monotonic()
        shown_line = False
        self.write("==== %s\n$ %s\n" % (label, common.quote_cmd(argv)))
        try:
            proc = subprocess.Popen([str(a) for a in argv], cwd=str(cwd), env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
        except FileNotFoundError:
            raise CosError("cannot run %s: command not found" % argv[0])
        updated = 0.0
        with proc:
            for line in proc.stdout:
                self._log.write(line)
                if not shown_line and not IDLE_RE.match(line):
                    shown_line = True
                    self._start(label)
                m = NINJA_PROGRESS_RE.match(line)
                now = time.monotonic()
                if m and shown_line and self._tty and now - updated > 0.1:
                    updated = now
                    self._status("%s [%s/%s]" % (label, m.group(1).decode(),
                                                 m.group(2).decode()))
            rc = proc.wait()
        self._log.flush()
        if rc != 0:
            self.write("==== exit status %d\n" % rc)
            if not shown_line:
                self._start(label)
            self.fail("%s failed (exit status %d)" % (label, rc), status=rc)
        if shown_line:
            self._final("%s: done (%s)" % (label, _duration(time.monotonic() - start)))
        return shown_line
