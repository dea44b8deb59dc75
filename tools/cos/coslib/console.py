"""Serial console bridging between this terminal and an emulator.

One loop (`Session.run`) moves bytes both ways:

  guest serial output -> our stdout (as it is written) and a transcript file,
                         scanned line by line for the kernel's markers;
  our stdin           -> the guest's serial input (QEMU: a pipe to its
                         stdio chardev; Bochs: a pty its COM1 reads).

The emulator runs in its own session, so terminal signals reach only us.
When stdin is an interactive terminal we put it in a raw mode (no echo, no
line editing, no signal keys; output post-processing kept), so Ctrl-C,
Ctrl-Z and Ctrl-\\ are bytes for the guest, and Ctrl-A starts an escape
command (escape.py: Ctrl-A x ends the run, Ctrl-A h prints help); the mode is
restored on every way out. With stdin not a terminal nothing is decoded, and
SIGINT (a Ctrl-C on the terminal, or `kill -INT`) stops the run.

Input is held back until the guest is ready to read it: until the line
`cos: console input ready` for systems with a VMM guest (see
System.input_ready_marker), otherwise until the first complete, non-blank line
of serial output that is not GRUB's "Booting `...'" line. Bytes sent earlier would be eaten by GRUB or dropped when the kernel
resets the UART FIFOs.
"""

import errno
import os
import re
import select
import signal
import subprocess
import sys
import termios
import time

from .escape import HELP, HELP_TEXT, QUIT, EscapeDecoder, key_name

CLEAN_MARKER = "cos: shutdown: clean"
PANIC_RE = re.compile(r"cos: PANIC:.*")
#: The kernel's line when an essential component faulted or exited with a
#: non-zero status (kernel/comp_exit.cpp): component, status, reason.
STOPPED_RE = re.compile(r"cos: shutdown: essential component '([^']*)' stopped \(status (\d+)\): (.*)$")
ANSI_RE = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78DEHM])")


def clean_line(raw):
    """A serial line as text: decoded, without ANSI escapes, CRs and NULs."""
    text = raw.decode("utf-8", "replace")
    text = ANSI_RE.sub("", text)
    return text.replace("\r", "").replace("\0", "").rstrip()


class LineScanner:
    """Splits the serial byte stream into lines and notes the cos markers.

    Attributes: `clean` (the line `cos: shutdown: clean` was seen), `panic`
    (the first `cos: PANIC: ...` text, or None), `stopped` (the last
    `cos: shutdown: essential component ... stopped` line as (component,
    status, reason), or None: the kernel prints it last, so a component
    echoing such a line earlier does not decide the run), `last_stop`
    ("clean" or "stopped": which of the two shutdown lines came last, for
    Bochs, whose exit does not tell them apart) and `guest_ready` (the input
    gate described in the module docstring).
    """

    def __init__(self, ready_marker=None):
        self._partial = b""
        self.clean = False
        self.panic = None
        self.stopped = None
        self.last_stop = None
        self.guest_ready = False
        self._ready_marker = ready_marker

    def feed(self, data):
        """Consume a chunk of serial output."""
        buf = self._partial + data
        lines = buf.split(b"\n")
        self._partial = lines.pop()
        for raw in lines:
            self._line(clean_line(raw))

    def finish(self):
        """Process an unterminated last line (the machine stopped mid-line)."""
        if self._partial:
            self._line(clean_line(self._partial), complete=False)
            self._partial = b""

    def _line(self, text, complete=True):
        if CLEAN_MARKER in text:
            self.clean = True
            self.last_stop = "clean"
        if self.panic is None:
            m = PANIC_RE.search(text)
            if m:
                self.panic = m.group(0).strip()
        m = STOPPED_RE.search(text)
        if m:
            self.stopped = (m.group(1), int(m.group(2)), m.group(3).strip())
            self.last_stop = "stopped"
        if self.guest_ready or not complete:
            return
        if self._ready_marker is not None:
            if self._ready_marker in text:
                self.guest_ready = True
        elif text.strip() and "Booting `" not in text:
            self.guest_ready = True


#: ECMA-48 DSR 6 (device status report: cursor position); a terminal answers
#: it with ESC [ row ; col R on its input.
CURSOR_QUERY = b"\x1b[6n"


class CursorQueryFilter:
    """Removes the cursor-position query from guest output on its way to a
    terminal that is not our input.

    busybox's line editor asks the terminal where the cursor is (ESC [6n)
    after each prompt and goes on without waiting when no answer comes. With
    `printf ... | cos run vm` in a terminal, the terminal would answer on its
    own input, which nobody reads during the run, and the shell that started
    `cos` would then read the answer as typed text (`^[[24;5R`). `feed`
    returns the data without the query, holding back a possible beginning of
    one at the end until the next chunk; `flush` returns what is held.
    """

    def __init__(self):
        self._held = b""

    def feed(self, data):
        data = (self._held + data).replace(CURSOR_QUERY, b"")
        self._held = b""
        for n in range(len(CURSOR_QUERY) - 1, 0, -1):
            if data.endswith(CURSOR_QUERY[:n]):
                self._held, data = data[-n:], data[:-n]
                break
        return data

    def flush(self):
        held, self._held = self._held, b""
        return held


def write_all(fd, data):
    """Write all of `data` to `fd`, waiting if the fd is non-blocking and full."""
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [], 1.0)
            continue
        view = view[n:]


class TerminalMode:
    """Context manager: put an interactive stdin into serial-console mode.

    Raw input (no echo, no line editing, no CR/NL translation, 8 bits, no
    XON/XOFF) and no signal keys (ISIG off): every byte typed, Ctrl-C (0x03),
    Ctrl-Z (0x1a) and Ctrl-\\ (0x1c) included, is read by us. Output
    post-processing stays on, so "\\n" from us or the guest still starts a new
    line. `active` tells whether the terminal was switched; `suspend()` and
    `resume()` put the saved mode back and forth (job control, SIGTSTP).
    """

    def __init__(self, fd):
        self.fd = fd
        self.saved = None
        self.raw = None

    @property
    def active(self):
        return self.saved is not None

    def __enter__(self):
        if self.fd is None or not os.isatty(self.fd):
            return self
        try:
            self.saved = termios.tcgetattr(self.fd)
        except termios.error:
            return self
        mode = termios.tcgetattr(self.fd)
        iflag, oflag, cflag, lflag, cc = mode[0], mode[1], mode[2], mode[3], mode[6]
        iflag &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP
                   | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON)
        oflag |= termios.OPOST
        lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.IEXTEN
                   | termios.ISIG)
        cflag = (cflag & ~(termios.CSIZE | termios.PARENB)) | termios.CS8
        cc[termios.VMIN] = 1
        cc[termios.VTIME] = 0
        mode[0], mode[1], mode[2], mode[3], mode[6] = iflag, oflag, cflag, lflag, cc
        self.raw = mode
        self.resume()
        return self

    def suspend(self):
        """Put the terminal back as it was (before we stop or exit)."""
        if self.saved is not None:
            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            except termios.error:
                pass

    def resume(self):
        """Switch the terminal (back) to console mode."""
        if self.raw is not None:
            try:
                termios.tcsetattr(self.fd, termios.TCSANOW, self.raw)
            except termios.error:
                pass

    def __exit__(self, *exc):
        self.suspend()
        return False


def stdin_fd():
    """Our stdin as an fd to forward to the guest, or None.

    None when there is no stdin at all, or when we are a background job of an
    interactive shell (reading the terminal would stop us with SIGTTIN).
    """
    try:
        os.fstat(0)
    except OSError:
        return None
    if os.isatty(0):
        try:
            if os.tcgetpgrp(0) != os.getpgrp():
                return None
        except OSError:
            return None
    return 0


def stop_process(proc, grace=3.0):
    """Terminate `proc` (SIGTERM, then SIGKILL after `grace` seconds)."""
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except ProcessLookupError:
        pass


class SessionResult:
    """What happened to the emulator during a console session.

    returncode   the emulator's exit status (negative: killed by that signal),
                 None if we stopped it
    timed_out    the --timeout expired and we stopped the emulator
    interrupted  the signal number that made us stop it (SIGINT, SIGTERM, ...)
    quit_key     the run was ended with the console escape Ctrl-A x
    stop_reason  a reason given by the emulator-specific `tick` hook
    elapsed      seconds from start to the end of the session
    """

    def __init__(self):
        self.returncode = None
        self.timed_out = False
        self.interrupted = None
        self.quit_key = False
        self.stop_reason = None
        self.elapsed = 0.0


class Session:
    """Bridge one running emulator's serial console to this process.

    proc        the emulator (subprocess.Popen, in its own session)
    out_fd      fd delivering the guest's serial output
    in_fd       fd accepting the guest's serial input (or None)
    scanner     a LineScanner fed with all output
    timeout     seconds before the emulator is stopped (0 = never)
    transcript  path of a file that receives a copy of the output
    aux         {fd: callback(bytes)} extra emulator pipes (e.g. stderr)
    tick        callable run about every 0.25 s; a non-None return value
                stops the emulator and becomes `stop_reason`
    pace        (bytes, seconds): deliver input at most this fast (for
                emulators whose UART has no flow control), or None
    """

    def __init__(self, proc, out_fd, in_fd, scanner, timeout=0, transcript=None,
                 aux=None, tick=None, pace=None):
        self.proc = proc
        self.out_fd = out_fd
        self.in_fd = in_fd
        self.scanner = scanner
        self.timeout = timeout or 0
        self.transcript = transcript
        self.aux = dict(aux or {})
        self.tick = tick
        self.pace = pace
        self._signal = None
        self._terminal = None
        self._query_filter = None
        self._stdout_ok = True
        self._last_byte = b"\n"

    def _on_signal(self, signum, frame):
        if self._signal is None:
            self._signal = signum

    def _on_stop(self, signum, frame):
        """SIGTSTP (e.g. `kill -TSTP`; the Ctrl-Z key goes to the guest): give
        the terminal back, stop, and take it again when continued."""
        terminal = self._terminal
        if terminal is not None:
            terminal.suspend()
        os.kill(os.getpid(), signal.SIGSTOP)
        if terminal is not None:
            terminal.resume()

    def _say(self, text):
        """A message of ours on stderr, on a line of its own."""
        sys.stdout.flush()
        if self._last_byte != b"\n" and os.isatty(2):
            text = "\n" + text
            self._last_byte = b"\n"
        sys.stderr.write(text)
        sys.stderr.flush()

    def _emit(self, data, log):
        """Deliver guest output to stdout, the transcript and the scanner."""
        self.scanner.feed(data)
        self._last_byte = data[-1:]
        if log is not None:
            log.write(data)
            log.flush()
        if self._query_filter is not None:
            data = self._query_filter.feed(data)
        if self._stdout_ok and data:
            try:
                write_all(sys.stdout.fileno(), data)
            except (BrokenPipeError, OSError):
                self._stdout_ok = False  # e.g. `cos run x | head`: keep running

    def run(self):
        """Run until the emulator exits, the timeout expires, a tick hook stops
        it, the user types Ctrl-A x or we get SIGINT/SIGTERM/SIGHUP/SIGQUIT.
        Returns a SessionResult."""
        result = SessionResult()
        watched = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
        old = {s: signal.signal(s, self._on_signal) for s in watched}
        infd = stdin_fd() if self.in_fd is not None else None
        escapes = EscapeDecoder()
        if os.isatty(1) and not (infd is not None and os.isatty(infd)):
            self._query_filter = CursorQueryFilter()  # see its docstring
        if self.in_fd is not None:
            os.set_blocking(self.in_fd, False)
        os.set_blocking(self.out_fd, False)
        for fd in self.aux:
            os.set_blocking(fd, False)
        aux_done = {}
        pending = b""
        last_input = 0.0
        next_tick = 0.0
        out_open = True
        start = time.monotonic()
        log = open(self.transcript, "wb") if self.transcript else None
        try:
            with TerminalMode(infd) as terminal:
                if terminal.active:
                    self._terminal = terminal
                    old[signal.SIGTSTP] = signal.signal(signal.SIGTSTP, self._on_stop)
                while True:
                    now = time.monotonic()
                    if self._signal is not None:
                        result.interrupted = self._signal
                        break
                    if self.timeout and now - start >= self.timeout:
                        result.timed_out = True
                        break
                    if self.tick is not None and now >= next_tick:
                        next_tick = now + 0.25
                        reason = self.tick()
                        if reason:
                            result.stop_reason = reason
                            break
                    if self.proc.poll() is not None:
                        break
                    rlist = list(self.aux)
                    if out_open:
                        rlist.append(self.out_fd)
                    if infd is not None and len(pending) < 65536:
                        rlist.append(infd)
                    wlist = []
                    wait = 0.1
                    if pending and self.in_fd is not None and self.scanner.guest_ready:
                        if self.pace and now - last_input < self.pace[1]:
                            wait = min(wait, self.pace[1])
                        else:
                            wlist.append(self.in_fd)
                    try:
                        r, w, _ = select.select(rlist, wlist, [], wait)
                    except InterruptedError:
                        continue
                    if self.out_fd in r:
                        data = self._read(self.out_fd)
                        if data:
                            self._emit(data, log)
                        elif data is not None:
                            out_open = False
                    for fd in [fd for fd in self.aux if fd in r]:
                        data = self._read(fd)
                        if data:
                            self.aux[fd](data)
                        elif data is not None:
                            aux_done[fd] = self.aux.pop(fd)  # EOF
                    if infd is not None and infd in r:
                        try:
                            data = os.read(infd, 4096)
                        except OSError:
                            data = b""
                        if data and terminal.active:
                            for event in escapes.feed(data):
                                if isinstance(event, bytes):
                                    pending += event
                                elif event == QUIT:
                                    result.quit_key = True
                                elif event == HELP:
                                    self._say(HELP_TEXT)
                                else:
                                    self._say("cos: Ctrl-A %s is no console command "
                                              "(Ctrl-A h for help)\n" % key_name(event.byte))
                            if result.quit_key:
                                break
                        elif data:
                            pending += data
                        else:
                            infd = None  # EOF: the guest simply gets no more input
                    if self.in_fd in w:
                        chunk = pending[:self.pace[0]] if self.pace else pending
                        try:
                            n = os.write(self.in_fd, chunk)
                            pending = pending[n:]
                            last_input = time.monotonic()
                        except BlockingIOError:
                            pass
                        except OSError:
                            pending = b""  # the emulator closed its input
            if result.interrupted is None and not result.timed_out and \
                    result.stop_reason is None and not result.quit_key:
                result.returncode = self.proc.wait()
            else:
                stop_process(self.proc)
            # Whatever the emulator wrote before it went away.
            while out_open:
                data = self._read(self.out_fd)
                if not data:
                    break
                self._emit(data, log)
            for fd, callback in self.aux.items():
                data = self._read(fd)
                while data:
                    callback(data)
                    data = self._read(fd)
            self.aux.update(aux_done)
            self.scanner.finish()
            if self._query_filter is not None and self._stdout_ok:
                write_all(1, self._query_filter.flush())
            if self._last_byte != b"\n" and self._stdout_ok and os.isatty(1):
                # The guest stopped mid-line: keep our verdict on a line of its own.
                write_all(1, b"\n")
        finally:
            self._terminal = None
            if log is not None:
                log.close()
            for s, handler in old.items():
                signal.signal(s, handler)
            if self.proc.poll() is None:
                stop_process(self.proc)
        result.elapsed = time.monotonic() - start
        return result

    @staticmethod
    def _read(fd):
        """Read what is available: bytes, b"" at EOF, None if nothing yet."""
        try:
            return os.read(fd, 65536)
        except BlockingIOError:
            return None
        except OSError as e:
            if e.errno == errno.EIO:  # pty whose other side is gone
                return b""
            raise
