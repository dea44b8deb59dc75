"""Paths, messages, errors and subprocess helpers shared by every command."""

import contextlib
import os
import shlex
import subprocess
import sys
from pathlib import Path

# tools/cos/coslib/common.py -> the repository root is three levels up.
REPO = Path(__file__).resolve().parents[3]

ARCHES = ("x86_64",)
DEFAULT_ARCH = "x86_64"

BUILD_ROOT = REPO / "build"
SYSTEMS_DIR = REPO / "system_binaries"
SCRIPTS_DIR = REPO / "composition_scripts"
COMPILE_COMMANDS_LINK = REPO / "compile_commands.json"


def build_dir(arch=DEFAULT_ARCH):
    """The CMake build tree for `arch` (build/<arch>)."""
    return BUILD_ROOT / arch


def images_dir(arch=DEFAULT_ARCH):
    """Where the build puts the kernel and component images."""
    return build_dir(arch) / "images"


def kernel_image(arch=DEFAULT_ARCH):
    """The kernel ELF the composer packs into every system."""
    return images_dir(arch) / "kernel.elf"


def composer_binary(arch=DEFAULT_ARCH):
    """The host composer built by the build tree."""
    return build_dir(arch) / "tools" / "composer" / "cos-composer"


class CosError(Exception):
    """A user-facing error: printed as one `cos: error: ...` line, no traceback.

    `status` is the process exit status (2 for usage errors, 1 otherwise).
    """

    def __init__(self, message, status=1):
        super().__init__(message)
        self.message = message
        self.status = status


_info_sinks = []


def info(message):
    """Print a progress message on stderr, prefixed `cos:` (or hand it to the
    innermost info_sink)."""
    line = "cos: %s\n" % message
    if _info_sinks:
        _info_sinks[-1](line)
        return
    sys.stderr.write(line)
    sys.stderr.flush()


@contextlib.contextmanager
def info_sink(write):
    """Within the block, `info` (and `warn`) lines go to `write(text)`
    instead of stderr (a quiet step writes them to its log)."""
    _info_sinks.append(write)
    try:
        yield
    finally:
        _info_sinks.pop()


def warn(message):
    """Print a warning on stderr."""
    info("warning: " + message)


def rel(path):
    """`path` relative to the repository root when it is inside it (for messages)."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def quote_cmd(argv):
    """A shell-quoted rendering of a command line (for messages)."""
    return " ".join(shlex.quote(str(a)) for a in argv)


def run_command(argv, cwd=REPO, stdout_to_stderr=False, env=None):
    """Run a command with the terminal inherited; return its exit status.

    With `stdout_to_stderr`, the child's stdout goes to our stderr so that our
    own stdout stays reserved for the guest's serial console (cos run).
    A missing executable is reported as a CosError.
    """
    stdout = sys.stderr.fileno() if stdout_to_stderr else None
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        return subprocess.call([str(a) for a in argv], cwd=str(cwd), stdout=stdout,
                               env=env)
    except FileNotFoundError:
        raise CosError("cannot run %s: command not found" % argv[0])


def newest_mtime(paths):
    """The newest modification time among existing `paths` (0 if none)."""
    newest = 0.0
    for p in paths:
        try:
            newest = max(newest, os.stat(p).st_mtime)
        except OSError:
            pass
    return newest
