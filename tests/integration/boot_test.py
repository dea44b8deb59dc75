#!/usr/bin/env python3
"""Integration test driver: compose a system, boot it with `./cos run`, and
check what its serial console printed.

  boot_test.py --script composition_scripts/hello.toml --name itest-hello-qemu \\
               --emulator qemu --timeout 120 \\
               --expect 'ping: .*' --expect 'pong: .*' --expect 'cos: shutdown: clean' \\
               --reject 'cos: PANIC'

Checks, in this order:
  * `./cos compose <script> <name> [--set OVERRIDE]...` succeeds;
  * `./cos run <name> --emulator E --timeout T < /dev/null` exits with the
    expected status (default 0); for a non-zero one other than 130 there is
    exactly one `cos: run failed: ...` line, which --expect-reason must match;
  * every --expect regex matches the serial output, in the given order (each
    after the end of the previous match; `^`/`$` match at line boundaries);
  * no --reject regex matches anywhere;
  * with --blobs COMPONENT: every "<who>: guest.<x> at 0x..., N bytes, crc32
    0xC" line (printed by blob_check) names the size and CRC-32 of the file
    system_binaries/<name>/COMPONENT.guest.<x> the composer wrote, and there
    are 3 such lines.
The serial output is compared after removing ANSI escapes and carriage returns.
Exit status 0 = pass, 1 = fail, 2 = bad arguments.
"""

import argparse
import re
import zlib
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "cos"))
from coslib.console import clean_line  # noqa: E402
from coslib.proc import die_with_parent  # noqa: E402

COS = REPO / "cos"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--script", required=True, help="composition script (repo-relative)")
    p.add_argument("--name", required=True,
                   help="system name; use a distinct one per test (parallel ctest)")
    p.add_argument("--emulator", choices=("qemu", "bochs"), default="qemu")
    p.add_argument("--timeout", type=float, default=120,
                   help="seconds for ./cos run (its --timeout)")
    p.add_argument("--expect", action="append", default=[], metavar="REGEX",
                   help="must appear in the serial output, in order (repeatable)")
    p.add_argument("--expect-anywhere", action="append", default=[], metavar="REGEX",
                   help="must match somewhere in the serial output, in any order (lines of "
                        "components that run at once)")
    p.add_argument("--reject", action="append", default=[], metavar="REGEX",
                   help="must not appear in the serial output (repeatable)")
    p.add_argument("--expect-status", type=int, default=0,
                   help="expected exit status of ./cos run (default 0)")
    p.add_argument("--expect-reason", metavar="REGEX",
                   help="for a failing run: regex for its 'cos: run failed:' line")
    p.add_argument("--blobs", metavar="COMPONENT",
                   help="compare the blob sizes and CRC-32s printed on the console with the "
                        "COMPONENT.guest.* files of the composed system")
    p.add_argument("--set", action="append", default=[], metavar="TARGET.KEY=VALUE",
                   help="an override for ./cos compose (repeatable)")
    p.add_argument("--input", metavar="TEXT",
                   help="text piped to ./cos run's stdin (the guest console); '\\n' is a "
                        "newline, '\\xHH' the byte HH (e.g. '\\x01' Ctrl-A)")
    p.add_argument("--icount", action="store_true",
                   help="QEMU only: ./cos run --icount (TCG, -icount shift=0: the run is "
                        "deterministic)")
    return p.parse_args(argv)


def run(argv, timeout, input_text=None):
    """Run a cos command with no stdin (or `input_text` piped in); return
    (status, stdout, stderr, seconds)."""
    start = time.monotonic()
    stdin = subprocess.DEVNULL if input_text is None else None
    data = None if input_text is None else input_text.encode()
    try:
        proc = subprocess.run([str(a) for a in argv], cwd=str(REPO), input=data,
                              stdin=stdin, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout,
                              preexec_fn=die_with_parent)
        status, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        status, out, err = None, e.stdout or b"", e.stderr or b""
    return (status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
            time.monotonic() - start)


def section(title, text):
    """Print a titled block of captured output (shown by ctest on failure)."""
    print("----- %s -----" % title)
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    sys.stdout.flush()


def check_serial(serial, expects, rejects, anywhere=()):
    """Return a list of failure messages for the --expect, --expect-anywhere
    and --reject checks."""
    failures = []
    for pattern in anywhere:
        if not re.compile(pattern, re.M).search(serial):
            failures.append("expected /%s/ somewhere in the serial output" % pattern)
    pos = 0
    for pattern in expects:
        m = re.compile(pattern, re.M).search(serial, pos)
        if not m:
            later = "" if pos == 0 else " after the previous expectation"
            failures.append("expected /%s/ in the serial output%s" % (pattern, later))
            break
        pos = m.end()
    for pattern in rejects:
        m = re.compile(pattern, re.M).search(serial)
        if m:
            line = serial[serial.rfind("\n", 0, m.start()) + 1:].split("\n", 1)[0]
            failures.append("rejected /%s/ appeared: %s" % (pattern, line))
    return failures


def check_blobs(serial, system_dir, component):
    """The printed size and CRC-32 of each blob against the composed files."""
    failures, seen = [], 0
    for m in re.finditer(r"^\S+: (guest\.\w+) at 0x[0-9a-f]+, (\d+) bytes, crc32 0x([0-9a-f]{8})$",
                         serial, re.M):
        seen += 1
        path = system_dir / ("%s.%s" % (component, m.group(1)))
        try:
            data = path.read_bytes()
        except OSError as e:
            failures.append("cannot read %s: %s" % (path, e))
            continue
        if len(data) != int(m.group(2)) or zlib.crc32(data) != int(m.group(3), 16):
            failures.append("%s: the component saw %s bytes with CRC-32 0x%s, the file has %d bytes "
                            "with 0x%08x" % (m.group(1), m.group(2), m.group(3), len(data),
                                             zlib.crc32(data)))
    if seen != 3:
        failures.append("expected 3 blob lines on the console, found %d" % seen)
    return failures


def main(argv):
    args = parse_args(argv)
    failures = []

    compose = [COS, "compose", args.script, args.name]
    for override in args.set:
        compose += ["--set", override]
    status, out, err, secs = run(compose, 900)
    section("./cos compose %s %s (status %s, %.1f s)" % (args.script, args.name, status, secs),
            out + err)
    if status != 0:
        print("FAIL: composing %s failed" % args.script)
        return 1

    cmd = [COS, "run", args.name, "--emulator", args.emulator, "--timeout",
           "%g" % args.timeout]
    if args.icount:
        cmd.append("--icount")
    text = None if args.input is None else re.sub(
        r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), args.input.replace("\\n", "\n"))
    status, out, err, secs = run(cmd, args.timeout + 120, text)
    serial = "\n".join(clean_line(l.encode()) for l in out.split("\n"))
    section("serial output of ./cos run %s --emulator %s" % (args.name, args.emulator),
            serial)
    section("./cos run messages (status %s, %.1f s)" % (status, secs), err)

    if status is None:
        failures.append("./cos run did not return within %g s" % (args.timeout + 120))
    elif status != args.expect_status:
        reason = [l for l in err.splitlines() if "cos: run failed:" in l]
        failures.append("exit status %d, expected %d%s" % (
            status, args.expect_status, (" (" + reason[-1] + ")") if reason else ""))
    elif status not in (0, 130):
        lines = [l for l in err.splitlines() if "cos: run failed:" in l]
        if len(lines) != 1:
            failures.append("%d 'cos: run failed:' lines, expected exactly one" % len(lines))
        elif args.expect_reason and not re.search(args.expect_reason, lines[0]):
            failures.append("the 'cos: run failed:' line does not match /%s/" % args.expect_reason)
    failures += check_serial(serial, args.expect, args.reject, args.expect_anywhere)
    if args.blobs:
        failures += check_blobs(serial, REPO / "system_binaries" / args.name, args.blobs)

    logs = " ".join("system_binaries/%s/%s" % (args.name, p)
                    for p in ("serial.log", "qemu.log", "bochs.log")
                    if (REPO / "system_binaries" / args.name / p).exists())
    if failures:
        for f in failures:
            print("FAIL: " + f)
        if logs:
            print("logs: " + logs)
        return 1
    print("PASS (%s, %.1f s)" % (args.emulator, secs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
