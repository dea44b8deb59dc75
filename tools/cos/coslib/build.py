"""CMake configure and build (`cos init`, `cos build`).

Builds of one tree are serialised with a lock file, because integration
tests started in parallel by ctest each call `cos compose`, which builds.
"""

import contextlib
import fcntl
import os
import subprocess
import tomllib

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


def init_argv(arch=DEFAULT_ARCH):
    """The CMake configure command line for build/<arch>."""
    return ["cmake", "-S", ".", "-B", "build/" + arch, "-G", "Ninja",
            "-DCOS_ARCH=" + arch, "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
            "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"]


def build_argv(arch=DEFAULT_ARCH, targets=None):
    """`cmake --build build/<arch>` for everything, or for `targets` (Ninja
    outputs relative to the build tree, e.g. images/ping.elf)."""
    argv = ["cmake", "--build", "build/" + arch]
    if targets:
        argv += ["--target"] + list(targets)
    return argv


def init(arch=DEFAULT_ARCH, stdout_to_stderr=False):
    """Configure build/<arch> with CMake and Ninja (`cos init <arch>`)."""
    check_arch(arch)
    with build_lock(arch):
        rc = run_command(init_argv(arch), stdout_to_stderr=stdout_to_stderr)
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


def build(arch=DEFAULT_ARCH, stdout_to_stderr=False, targets=None):
    """Build build/<arch> incrementally with Ninja's progress visible:
    everything, or only `targets` (see build_argv)."""
    ensure_initialised(arch, stdout_to_stderr=stdout_to_stderr)
    with build_lock(arch):
        rc = run_command(build_argv(arch, targets), stdout_to_stderr=stdout_to_stderr)
    if rc != 0:
        raise CosError("build failed (exit status %d)" % rc, status=rc)


def build_outputs(arch=DEFAULT_ARCH, targets=None):
    """The build products a composed system depends on: `targets` (paths in
    the build tree), or else every image (and guest.img) and the composer."""
    if targets:
        return [build_dir(arch) / t for t in targets]
    outputs = [composer_binary(arch)]
    if images_dir(arch).is_dir():
        outputs.extend(images_dir(arch).glob("*.elf"))
        outputs.extend(images_dir(arch).glob("*.img"))  # guest.img
    return outputs


def ninja_outputs(arch=DEFAULT_ARCH):
    """Every file Ninja knows how to build in build/<arch>, relative to it
    (`ninja -t targets all`); empty when the tree is not configured."""
    if not is_initialised(arch):
        return set()
    proc = subprocess.run(["cmake", "--build", "build/" + arch, "--", "-t", "targets", "all"],
                          cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True)
    return {line.rsplit(": ", 1)[0] for line in proc.stdout.splitlines() if ": " in line}


def image_names(data):
    """The images a parsed composition script (a dict) takes from the images
    directory: component images given by bare name (docs/composition.md,
    *Images*: `pong` means <images>/pong.elf), guest bootloaders without
    a '/' (default guest.img), and a Multiboot guest's kernel and modules
    without a '/' (e.g. mbtest.elf). File names, e.g. ["booter.elf",
    "guest.img"]."""
    names = []
    comps = data.get("component") if isinstance(data, dict) else None
    for comp in comps if isinstance(comps, list) else []:
        if not isinstance(comp, dict):
            continue
        image = comp.get("image")
        if isinstance(image, str) and image and "/" not in image and not image.endswith(".elf"):
            names.append(image + ".elf")
        guest = comp.get("guest")
        if isinstance(guest, dict) and guest.get("kind", "linux") == "multiboot":
            files = [guest.get("kernel")]
            modules = guest.get("modules")
            for m in modules if isinstance(modules, list) else []:
                if isinstance(m, dict):
                    files.append(m.get("src"))
            names += [f for f in files if isinstance(f, str) and f and "/" not in f]
        elif isinstance(guest, dict):
            loader = guest.get("bootloader", "guest.img")
            if isinstance(loader, str) and loader and "/" not in loader:
                names.append(loader)
    return list(dict.fromkeys(names))


def script_targets(script, arch=DEFAULT_ARCH):
    """The Ninja outputs that composing `script` needs: the kernel, the
    composer and the images the script names (see image_names), as paths in
    build/<arch>; None (build everything) when the script cannot be parsed or
    the tree does not know how to build the kernel and the composer. Images
    the build does not make are left out: the composer reports them."""
    try:
        with open(script, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    known = ninja_outputs(arch)
    tree = os.path.relpath(images_dir(arch), build_dir(arch))
    core = [tree + "/kernel.elf", os.path.relpath(composer_binary(arch), build_dir(arch))]
    if not all(t in known for t in core):
        return None
    return core + [t for t in (tree + "/" + n for n in image_names(data))
                   if t in known and t not in core]


def describe_targets(targets):
    """A short summary of build targets for a progress line."""
    if not targets:
        return "everything"
    images = [os.path.basename(t) for t in targets[2:]]
    return "kernel, composer, " + ", ".join(images) if images else "kernel, composer"


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
