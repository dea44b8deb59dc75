#!/usr/bin/env python3
"""The README's commands, run as a new user would run them.

Extracts every command README.md shows in its "Quick start" and "Workflow
step by step" sections (fenced sh blocks, the workflow table's command
column, `./cos ...` code spans in the prose; see readme_commands.py), then:

  1. checks that the CLI's argument parser accepts every `./cos` invocation
     in them (coslib.cli.parse, the parser `./cos` itself uses);
  2. copies the files git tracks (plus untracked, not ignored ones) into a
     temporary directory, i.e. a clean tree without build/ or system_binaries/;
  3. runs each command there verbatim with `bash -c`, in README order, each
     text once. A command whose `./cos run` reads the terminal gets
     INTERACTIVE_INPUT on a pipe instead (it ends a Linux guest's shell; other
     systems ignore it); every command has a timeout.

Commands that cannot sensibly run inside this test (see parse_only_reason:
`./cos debug`, and a `./cos test` that would run this test again) are only
parsed, and the test says which and why. It fails when a command is rejected
by the parser, exits non-zero or times out. The guest kernel cache
(~/.cache/cos/guest) is shared with the user's, so nothing is downloaded twice.

  docs_test.py [--list] [--keep] [--command-timeout S]

Exit status 0 = pass, 1 = fail.
"""

import argparse
import contextlib
import io
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tools" / "cos"))
import readme_commands  # noqa: E402
from coslib import cli  # noqa: E402
from coslib.proc import die_with_parent  # noqa: E402

#: What a `./cos run` that would read the terminal gets on its stdin.
INTERACTIVE_INPUT = b"poweroff -f\n"

#: This test's ctest name and label (tests/integration/CMakeLists.txt).
TEST_NAME = "docs_readme_commands"
TEST_LABEL = "integration"


def parse_only_reason(invocation):
    """Why `./cos <argv>` is only parsed here, or None to run it.

    `cos debug` waits for a gdb to attach; a `cos test` whose selection
    includes this test would run it again inside itself (ctest's -L and -R
    are regexes; extra ctest arguments could select anything).
    """
    if not invocation.argv:
        return None
    command = invocation.argv[0]
    if command == "debug":
        return "waits for a gdb to attach to a TCP port and drive the run"
    if command == "test":
        try:
            args = cli.parse(invocation.argv)
        except (cli.UsageError, SystemExit):
            return None  # the parse check reports it
        selected = ((args.label is None or re.search(args.label, TEST_LABEL))
                    and (args.regex is None or re.search(args.regex, TEST_NAME)))
        if selected or args.ctest_args:
            return "its test selection includes %s, this test (it would recurse)" % TEST_NAME
    return None


def parse_check(invocation):
    """None if the CLI's parser accepts `./cos <argv>`, else its error message."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            cli.parse(invocation.argv)
    except cli.UsageError as e:
        return "%s: error: %s" % (e.parser.prog, e.message)
    except SystemExit as e:  # --help prints and exits 0
        if e.code not in (0, None):
            return err.getvalue().strip() or "exit status %s" % e.code
    return None


def tracked_files(repo):
    """Repository-relative paths of the files a clone would have (git's view,
    including untracked files that are not ignored)."""
    proc = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others",
                           "--exclude-standard"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise RuntimeError("git ls-files failed: %s" % proc.stderr.decode().strip())
    return [p for p in proc.stdout.decode().split("\0") if p]


def copy_tree(repo, dest):
    """Copy the tracked files of `repo` to `dest` (modes and symlinks kept);
    returns how many were copied. Files deleted in the work tree are skipped."""
    count = 0
    for name in tracked_files(repo):
        src = repo / name
        if not os.path.lexists(src):
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)
        count += 1
    return count


def run_command(text, cwd, stdin_data, timeout):
    """Run `text` with bash in `cwd`, output streamed to ours; returns
    (exit status or None on timeout, seconds)."""
    sys.stdout.flush()
    start = time.monotonic()
    proc = subprocess.Popen(["bash", "-c", text], cwd=str(cwd),
                            stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                            stdout=sys.stdout.fileno(), stderr=subprocess.STDOUT,
                            start_new_session=True, preexec_fn=die_with_parent)
    try:
        if stdin_data is not None:
            try:
                proc.stdin.write(stdin_data)
                proc.stdin.close()
            except BrokenPipeError:
                pass
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        rc = None
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return rc, time.monotonic() - start


def plan(readme):
    """[(Command, [Invocation], parse-only reason or None, reads terminal)],
    the templates, and parser rejections as ["README.md:N: ..."] strings."""
    commands, templates = readme_commands.extract(readme)
    steps, rejected, seen = [], [], {}
    for cmd in commands:
        try:  # the same command twice (e.g. with a comment once) runs once
            key = tuple(shlex.split(cmd.text, comments=True))
        except ValueError:
            key = cmd.text
        if key in seen:
            continue
        seen[key] = cmd.line
        try:
            invocations = readme_commands.cos_invocations(cmd.text)
        except ValueError as e:
            rejected.append("README.md:%d: `%s`: cannot be split like a shell line: %s"
                            % (cmd.line, cmd.text, e))
            continue
        for inv in invocations:
            error = parse_check(inv)
            if error:
                rejected.append("README.md:%d: `%s`: the CLI rejects `./cos %s`: %s"
                                % (cmd.line, cmd.text, " ".join(inv.argv), error))
        reasons = [r for r in map(parse_only_reason, invocations) if r]
        interactive = any(inv.stdin == "terminal" and inv.argv[:1] == ["run"]
                          for inv in invocations)
        steps.append((cmd, invocations, reasons[0] if reasons else None, interactive))
    return steps, templates, rejected


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--list", action="store_true",
                   help="only print the commands and what would be done with each")
    p.add_argument("--keep", action="store_true", help="keep the temporary copy")
    p.add_argument("--command-timeout", type=float, default=900, metavar="S",
                   help="seconds each command may take (default 900: the first one "
                        "builds the tree)")
    args = p.parse_args(argv)

    steps, templates, rejected = plan((REPO / "README.md").read_text())
    print("README.md: %d commands in %s" % (len(steps), " and ".join(
        "'%s'" % s for s in readme_commands.SECTIONS)))
    for cmd, _, reason, interactive in steps:
        how = ("parse only: " + reason) if reason else (
            "run, stdin %r" % INTERACTIVE_INPUT.decode() if interactive else "run")
        print("  README.md:%-4d %-58s %s" % (cmd.line, cmd.text, how))
    for t in templates:
        print("  README.md:%-4d %-58s not a command (a <placeholder>)" % (t.line, t.text))
    if rejected:
        for r in rejected:
            print("FAIL: " + r)
        return 1
    if not steps:
        print("FAIL: no commands found in README.md")
        return 1
    if args.list:
        return 0

    work = Path(tempfile.mkdtemp(prefix="cos-docs-test-"))
    copy = work / "cos"
    failures, ran = [], 0
    try:
        n = copy_tree(REPO, copy)
        print("copied %d tracked files to %s" % (n, copy))
        for cmd, _, reason, interactive in steps:
            if reason:
                continue
            stdin = INTERACTIVE_INPUT if interactive else None
            print("\n==== README.md:%d: %s%s" % (cmd.line, cmd.text,
                  "   [stdin: %r]" % stdin.decode() if stdin else ""), flush=True)
            rc, secs = run_command(cmd.text, copy, stdin, args.command_timeout)
            ran += 1
            if rc is None:
                failures.append("README.md:%d: `%s` did not finish within %g s"
                                % (cmd.line, cmd.text, args.command_timeout))
            elif rc != 0:
                failures.append("README.md:%d: `%s` exited with status %d"
                                % (cmd.line, cmd.text, rc))
            print("==== exit status %s after %.0f s" % ("timeout" if rc is None else rc, secs),
                  flush=True)
    finally:
        if args.keep:
            print("kept %s" % copy)
        else:
            shutil.rmtree(work, ignore_errors=True)

    print("\nran %d commands; parsed only:" % ran)
    for cmd, _, reason, _ in steps:
        if reason:
            print("  %s  (%s)" % (cmd.text, reason))
    for f in failures:
        print("FAIL: " + f)
    if not failures:
        print("PASS: every README command was accepted, and every runnable one exited 0")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
