"""Serial console bridging between this terminal and an emulator.

One loop (`Session.run`) moves bytes both ways:

  guest serial output -> our stdout (as it is written) and a transcript file,
                         scanned line by line for the kernel's markers;
  our stdin           -> the guest's serial input (QEMU: a pipe to its
                         stdio chardev; Bochs: a pty its COM1 reads).

The emulator runs in its own session, so a Ctrl-C on the terminal reaches only
us; we then stop the emulator ourselves. When stdin is an interactive
terminal we put it in the same mode QEMU's stdio chardev uses (no echo, no
line editing, output post-processing kept) but keep Ctrl-C as a signal, and
restore it on the way out.

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

CLEAN_MARKER = "cos: shutdown: clean"
PANIC_RE = re.compile(r"cos: PANIC:.*")
ANSI_RE = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78DEHM])")


def clean_line(raw):
    """A serial line as text: decoded, without ANSI escapes, CRs and NULs."""
    text = raw.decode("utf-8", "replace")
    text = ANSI_RE.sub("", text)
    return text.replace("\r", "").replace("\0", "").rstrip()


class LineScanner:
    """Splits the serial byte stream into lines and notes the cos markers.

    Attributes: `clean` (the line `cos: shutdown: clean` was seen), `panic`
    (the first `cos: PANIC: ...` text, or None) and `guest_ready` (the input
    gate described in the module docstring).
    """

    def __init__(self, ready_marker=None):
        self._partial = b""
        self.clean = False
        self.panic = None
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
        if self.panic is None:
            m = PANIC_RE.search(text)
            if m:
                self.panic = m.group(0).strip()
        if self.guest_ready or not complete:
            return
        if self._ready_marker is not None:
            if self._ready_marker in text:
                self.guest_ready = True
        elif text.strip() and "Booting `" not in text:
            self.guest_ready = True


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

    The mode mirrors QEMU's stdio chardev with signal=on: raw input without
    echo, output post-processing kept (so "\\n" still starts a new line), and
    Ctrl-C still raising SIGINT. Ctrl-Z and Ctrl-\\ are passed to the guest
    instead of stopping or killing us with the terminal in this mode.
    """

    def __init__(self, fd):
        self.fd = fd
        self.saved = None

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
        lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.IEXTEN)
        lflag |= termios.ISIG
        cflag = (cflag & ~(termios.CSIZE | termios.PARENB)) | termios.CS8
        cc[termios.VMIN] = 1
        cc[termios.VTIME] = 0
        cc[termios.VSUSP] = 0  # 0 is _POSIX_VDISABLE on Linux
        cc[termios.VQUIT] = 0
        mode[0], mode[1], mode[2], mode[3], mode[6] = iflag, oflag, cflag, lflag, cc
        termios.tcsetattr(self.fd, termios.TCSANOW, mode)
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            except termios.error:
                pass
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
    interrupted  the signal number that made us stop it (Ctrl-C = SIGINT)
    stop_reason  a reason given by the emulator-specific `tick` hook
    elapsed      seconds from start to the end of the session
    """

    def __init__(self):
        self.returncode = None
        self.timed_out = False
        self.interrupted = None
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
        self._stdout_ok = True
        self._last_byte = b"\n"

    def _on_signal(self, signum, frame):
        if self._signal is None:
            self._signal = signum

    def _emit(self, data, log):
        """Deliver guest output to stdout, the transcript and the scanner."""
        self.scanner.feed(data)
        self._last_byte = data[-1:]
        if log is not None:
            log.write(data)
            log.flush()
        if self._stdout_ok:
            try:
                write_all(sys.stdout.fileno(), data)
            except (BrokenPipeError, OSError):
                self._stdout_ok = False  # e.g. `cos run x | head`: keep running

    def run(self):
        """Run until the emulator exits, the timeout expires, a tick hook stops
        it or we get SIGINT/SIGTERM/SIGHUP. Returns a SessionResult."""
        result = SessionResult()
        watched = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        old = {s: signal.signal(s, self._on_signal) for s in watched}
        infd = stdin_fd() if self.in_fd is not None else None
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
            with TerminalMode(infd):
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
                        if data:
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
                    result.stop_reason is None:
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
            if self._last_byte != b"\n" and self._stdout_ok and os.isatty(1):
                # The guest stopped mid-line: keep our verdict on a line of its own.
                write_all(1, b"\n")
        finally:
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
