"""CMake configure and build (`cos init`, `cos build`).

Builds of one tree are serialised with a lock file, because integration
tests started in parallel by ctest each call `cos compose`, which builds.
"""

import contextlib
import fcntl
import os
import subprocess

from .common import (ARCHES, COMPILE_COMMANDS_LINK, DEFAULT_ARCH, REPO, CosError,
                     build_dir, composer_binary, images_dir, info, rel, run_command,
                     warn)


def is_initialised(arch=DEFAULT_ARCH):
    """True when build/<arch> has been configured with Ninja."""
    tree = build_dir(arch)
    return (tree / "CMakeCache.txt").is_file() and (tree / "build.ninja").is_file()


def check_arch(arch):
    """Reject unknown architectures with exit status 2."""
    if arch not in ARCHES:
        raise CosError("unknown architecture '%s' (supported: %s)"
                       % (arch, ", ".join(ARCHES)), status=2)


@contextlib.contextmanager
def build_lock(arch=DEFAULT_ARCH):
    """Hold an exclusive lock on build/<arch> while building it."""
    tree = build_dir(arch)
    tree.mkdir(parents=True, exist_ok=True)
    with open(tree / ".cos-build.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info("waiting for another cos command building %s ..." % rel(tree))
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def link_compile_commands(arch=DEFAULT_ARCH):
    """Point compile_commands.json at the repo root to the build tree's."""
    target = os.path.relpath(build_dir(arch) / "compile_commands.json", REPO)
    link = COMPILE_COMMANDS_LINK
    if link.is_symlink():
        if os.readlink(link) == target:
            return
        link.unlink()
    elif link.exists():
        warn("%s exists and is not a symlink; leaving it alone" % rel(link))
        return
    link.symlink_to(target)


def init(arch=DEFAULT_ARCH, stdout_to_stderr=False):
    """Configure build/<arch> with CMake and Ninja (`cos init <arch>`)."""
    check_arch(arch)
    argv = ["cmake", "-S", ".", "-B", "build/" + arch, "-G", "Ninja",
            "-DCOS_ARCH=" + arch, "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
            "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"]
    with build_lock(arch):
        rc = run_command(argv, stdout_to_stderr=stdout_to_stderr)
    if rc != 0:
        raise CosError("cmake configuration of %s failed (exit status %d)"
                       % (rel(build_dir(arch)), rc), status=rc)
    link_compile_commands(arch)


def ensure_initialised(arch=DEFAULT_ARCH, stdout_to_stderr=False):
    """Configure the build tree if that has not been done yet."""
    if not is_initialised(arch):
        info("%s is not initialised; running 'cos init %s' first"
             % (rel(build_dir(arch)), arch))
        init(arch, stdout_to_stderr=stdout_to_stderr)


def build(arch=DEFAULT_ARCH, stdout_to_stderr=False):
    """Build build/<arch> incrementally with Ninja's progress visible."""
    ensure_initialised(arch, stdout_to_stderr=stdout_to_stderr)
    with build_lock(arch):
        rc = run_command(["cmake", "--build", "build/" + arch],
                         stdout_to_stderr=stdout_to_stderr)
    if rc != 0:
        raise CosError("build failed (exit status %d)" % rc, status=rc)


def build_is_stale(arch=DEFAULT_ARCH):
    """True when Ninja has work to do (asked with a dry run, `ninja -n`)."""
    if not is_initialised(arch):
        return False
    with build_lock(arch):
        proc = subprocess.run(["cmake", "--build", "build/" + arch, "--", "-n"],
                              cwd=str(REPO), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    return proc.returncode != 0 or "no work to do" not in proc.stdout


def build_outputs(arch=DEFAULT_ARCH):
    """The build products a composed system depends on: images (and guest.img) and the composer."""
    outputs = [composer_binary(arch)]
    if images_dir(arch).is_dir():
        outputs.extend(images_dir(arch).glob("*.elf"))
        outputs.extend(images_dir(arch).glob("*.img"))  # guest.img
    return outputs


def cmd_init(args):
    """`cos init <arch>`."""
    check_arch(args.arch)
    init(args.arch)
    info("initialised %s (compile_commands.json linked at the repo root)"
         % rel(build_dir(args.arch)))
    return 0


def cmd_build(args):
    """`cos build`."""
    build()
    return 0
