"""What the benchmarks share: where results go, composing a benchmark system
with `--set` overrides (the composer checks them like the script's own keys)
and booting it, streaming a `./cos run` while timing its console lines,
the guest's JSON result line, the record every benchmark writes."""

import datetime
import json
import os
import re
import select
import subprocess
import sys
import time

from .. import bochs, qemu
from .. import build as buildmod
from ..common import REPO, CosError, build_dir, info, rel
from ..console import clean_line, write_all
from ..proc import die_with_parent
from ..systems import System, compose

CYCLES_MEANING = {
    "qemu": "QEMU TCG with -icount shift=0: cycles are instruction-driven virtual time, "
            "deterministic (one TSC tick per emulated instruction)",
    "bochs": "Bochs: cycles are Bochs' emulated TSC, which advances once per emulated "
             "instruction (clock sync=none, the default), so they are deterministic too and "
             "close to QEMU's; small differences come from how each emulator counts some "
             "instructions",
}


def bench_dir():
    """Where benchmark results go (build/x86_64/bench)."""
    return build_dir() / "bench"


def positive(value, what):
    """A usage error unless `value` (an option) is unset or positive."""
    if value is not None and value <= 0:
        raise CosError("%s must be positive" % what, status=2)


def compose_system(script, name, overrides):
    """Build, then compose `script` into system_binaries/<name> with the
    `--set` `overrides` (TARGET.KEY=VALUE strings). Returns the System."""
    buildmod.ensure_initialised(stdout_to_stderr=True)
    info("building...")
    buildmod.build(stdout_to_stderr=True, targets=buildmod.script_targets(script))
    info("composing %s -> system_binaries/%s%s" % (
        rel(script), name, "".join(" --set " + o for o in overrides)))
    rc = compose(os.path.relpath(script, REPO), name, cwd=REPO, stdout_to_stderr=True,
                 build_first=False, overrides=overrides)
    if rc != 0:
        raise CosError("composing %s failed (composer exit status %d)" % (rel(script), rc),
                       status=rc)
    return System(name)


def compose_and_boot(script, name, overrides, emulator, timeout, icount):
    """compose_system, then boot it with its console on stdout; return
    (verdict, serial text)."""
    system = compose_system(script, name, overrides)
    if emulator == "bochs":
        verdict = bochs.boot(system, timeout=timeout)
    else:
        verdict = qemu.boot(system, accel="tcg" if icount else "auto", timeout=timeout,
                            icount=icount)
    try:
        serial = (system.dir / "serial.log").read_bytes().decode("utf-8", "replace")
    except OSError:
        serial = ""
    return verdict, serial.replace("\r", "").replace("\0", "")


def parse_guest_json(serial, prefix):
    """The object on the guest's `<prefix>: json {...}` line, or None."""
    for line in serial.splitlines():
        m = re.search(re.escape(prefix) + r": json (\{.*\})\s*$", line)
        if m:
            try:
                return json.loads(m.group(1))
            except ValueError:
                return None
    return None


def git_commit():
    """The short commit (with -dirty) the benchmark ran on, or None."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=str(REPO),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        commit = out.stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=str(REPO), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True).stdout.strip()
        return commit + ("-dirty" if dirty else "") if commit else None
    except OSError:
        return None


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def write_record(name, record):
    """Writes build/x86_64/bench/<name>.json."""
    out = bench_dir() / ("%s.json" % name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    info("wrote %s" % rel(out))


class StreamRun:
    """One `./cos run ...` whose console streams through us: the lines, and
    when (seconds since the start) each of `markers` (key -> substring)
    first appeared."""

    def __init__(self, markers):
        self.markers = markers
        self.start = None
        self.lines = []
        self.times = {}
        self.line_times = []   # seconds since start of each line in `lines`
        self.stderr_lines = []
        self._partial = b""
        self._err_partial = b""
        self._stdout_ok = True
        self.status = None     # ./cos run's exit status
        self.killed = False    # we stopped it (it overran its time)

    def _mark(self, text, now):
        for key, marker in self.markers.items():
            if key not in self.times and marker in text:
                self.times[key] = now - self.start

    def out(self, data, now):
        """Guest console bytes: echo them, split lines, time the markers."""
        if self._stdout_ok:
            try:
                write_all(sys.stdout.fileno(), data)
            except OSError:
                self._stdout_ok = False  # e.g. `cos bench boot | head`: keep measuring
        parts = (self._partial + data).split(b"\n")
        self._partial = parts.pop()
        for raw in parts:
            text = clean_line(raw)
            self.lines.append(text)
            self.line_times.append(now - self.start)
            self._mark(text, now)
        if self._partial:  # a marker may be visible before its newline arrives
            self._mark(clean_line(self._partial), now)

    def err(self, data, now=None):
        """./cos run's own messages: relay them, keep the lines and time the
        markers among them (e.g. the line it prints as it starts the emulator)."""
        sys.stderr.buffer.write(data)
        sys.stderr.flush()
        parts = (self._err_partial + data).split(b"\n")
        self._err_partial = parts.pop()
        for p in parts:
            text = p.decode("utf-8", "replace").rstrip()
            self.stderr_lines.append(text)
            if now is not None:
                self._mark(text, now)

    def finish(self):
        if self._partial:
            self.lines.append(clean_line(self._partial))
            self.line_times.append(time.monotonic() - self.start)
            self._partial = b""
        if self._err_partial:
            self.stderr_lines.append(self._err_partial.decode("utf-8", "replace").rstrip())
            self._err_partial = b""


def stop(proc):
    """Stop ./cos run: on SIGTERM it stops its emulator and exits."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_streaming(argv, stdin_text, limit_s, markers):
    """Runs `argv` (./cos run ...) with `stdin_text` on its stdin, streaming
    its console; stops it after `limit_s` seconds (0: never). Returns the
    StreamRun."""
    run = StreamRun(markers)
    sys.stdout.flush()
    sys.stderr.flush()
    run.start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=str(REPO), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=die_with_parent)
    try:
        try:
            # ./cos run holds input back until the guest prints (docs/running.md).
            proc.stdin.write(stdin_text.encode())
            proc.stdin.close()
        except OSError:
            pass
        handlers = {proc.stdout.fileno(): run.out, proc.stderr.fileno(): None}
        limit = run.start + limit_s
        while handlers:
            wait = 1.0
            if limit_s:
                left = limit - time.monotonic()
                if left <= 0:
                    run.killed = True
                    stop(proc)
                    break
                wait = min(wait, left)
            try:
                ready, _, _ = select.select(list(handlers), [], [], wait)
            except InterruptedError:
                continue
            now = time.monotonic()
            for fd in ready:
                data = os.read(fd, 65536)
                if not data:
                    del handlers[fd]
                elif handlers[fd] is None:
                    run.err(data, now)
                else:
                    handlers[fd](data, now)
        run.status = proc.wait()
        run.times["exit"] = time.monotonic() - run.start
    except BaseException:  # Ctrl-C (which ./cos run also gets) or an error of ours
        stop(proc)
        raise
    finally:
        for pipe in (proc.stdout, proc.stderr):
            pipe.close()
        run.finish()
    return run
