#!/usr/bin/env python3
"""A composition that must fail at compose time: run `./cos compose <script>
<name>` and check its exit status and that stderr has exactly one line
matching the expected diagnostic (and that no system was written).

  compose_error_test.py --script tests/integration/guest_scripts/not_bzimage.toml \\
      --name itest-guest-bad --status 2 --expect '^.*:18:10: error: guest kernel .* is not a bzImage' \\
      [--absent /some/file/it/must/not/create]

Exit status 0 = pass, 1 = fail.
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--script", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--status", type=int, default=2)
    p.add_argument("--expect", required=True, metavar="REGEX",
                   help="the one diagnostic line on stderr")
    p.add_argument("--absent", action="append", default=[], metavar="PATH",
                   help="a file the compose must not create (removed first if a run "
                        "of an older cos left it); repeatable")
    args = p.parse_args(argv)
    out_dir = REPO / "system_binaries" / args.name
    for path in args.absent:
        Path(path).unlink(missing_ok=True)
    proc = subprocess.run([str(REPO / "cos"), "compose", args.script, args.name], cwd=str(REPO),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=900)
    sys.stdout.write(proc.stdout + proc.stderr)
    failures = []
    if proc.returncode != args.status:
        failures.append("exit status %d, expected %d" % (proc.returncode, args.status))
    matches = [l for l in proc.stderr.splitlines() if re.search(args.expect, l)]
    if len(matches) != 1:
        failures.append("expected exactly one stderr line matching /%s/, found %d"
                        % (args.expect, len(matches)))
    if out_dir.exists() and args.status != 0:
        failures.append("%s exists after a failed compose" % out_dir)
    for path in args.absent:
        if Path(path).exists():
            failures.append("%s was created" % path)
    for f in failures:
        print("FAIL: " + f)
    if not failures:
        print("PASS: %s: %s" % (args.script, matches[0]))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
