"""Linux kernel modules for the default guest initramfs (docs/guest.md,
*Kernel modules*).

* The modules of the guest kernel "debian-cloud": the lib/modules/<version>/
  tree of the same linux-image package the bzImage comes from, extracted
  into $XDG_CACHE_HOME/cos/guest/debian-cloud/modules/ (next to vmlinuz,
  with `depmod` run there once, as the package's postinst would), keyed by
  the package line of package.txt.
* The headers of that kernel (linux-headers-<version>, the -common package
  and linux-kbuild-<major.minor>, the versions the image package has),
  extracted into .../debian-cloud/headers/ with its Makefile pointed at the
  extracted -common tree, for building out-of-tree modules
  (`module_sources` of a [component.guest] table) with
  `make -C <headers> M=<copy in build/> modules`.
* Staging of an initramfs's lib/modules/: the modules the init loads by
  default (DEFAULT_MODULES and what they depend on, from modules.dep),
  modules.order/modules.builtin, built modules under extra/, overlay files;
  `depmod -b <staging> <version>` for every version directory that has
  modules, so busybox `modprobe` finds them all.
"""

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections import namedtuple
from pathlib import Path

from .common import CosError, build_dir, info, quote_cmd, rel

# What guest/initramfs/init.c loads (`modprobe -q -a`), and so what the
# default initramfs carries (with their dependencies): the virtio PCI
# transport and the console, block and network drivers.
DEFAULT_MODULES = ("virtio_pci", "virtio_blk", "virtio_net", "virtio_console")
# Files of lib/modules/<version>/ taken from the package as they are;
# depmod makes the rest (modules.dep, modules.alias, ... and their .bin).
PACKAGE_INDEX_FILES = ("modules.order", "modules.builtin")
# Bump when the cached modules/headers layout changes (they are re-made).
CACHE_FORMAT = 1

# A kernel's module tree: `version` (uname -r), `base` such that the tree is
# base/lib/modules/<version>/ (depmod's -b), `package` (what package.txt says).
KernelModules = namedtuple("KernelModules", "version base package")


def _tail(text, lines=20):
    return "\n".join(text.strip().splitlines()[-lines:])


def depmod_path():
    """depmod (kmod), which Debian installs in /usr/sbin or /sbin (not always
    on a user's PATH)."""
    for candidate in (shutil.which("depmod"), "/usr/sbin/depmod", "/sbin/depmod"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise CosError("depmod is missing: install kmod (./cos setup)")


def run_depmod(base, version):
    """`depmod -b base version`: modules.dep and the other indexes of
    base/lib/modules/<version>/. Raises CosError with depmod's output."""
    argv = [depmod_path(), "-b", str(base), version]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise CosError("'%s' failed (exit status %d):\n%s"
                       % (quote_cmd(argv), proc.returncode, _tail(proc.stdout)))


def extract_modules(deb, base):
    """Extract ./lib/modules/ of the linux-image package `deb` below `base`
    (regular files and directories; nothing else is in that part of the
    package) and run depmod there. Returns the kernel version."""
    versions = set()
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                name = os.path.normpath(member.name.lstrip("./"))
                parts = name.split("/")
                if parts[:2] != ["lib", "modules"] or len(parts) < 3 or ".." in parts:
                    continue
                versions.add(parts[2])
                dest = Path(base) / name
                if member.isdir():
                    dest.mkdir(parents=True, exist_ok=True)
                elif member.isfile():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with open(dest, "wb") as out:
                        shutil.copyfileobj(tar.extractfile(member), out)
    finally:
        proc.stdout.close()
        if proc.wait() != 0:
            raise CosError("dpkg-deb --fsys-tarfile %s failed" % deb)
    if len(versions) != 1:
        raise CosError("%s holds modules of %d kernel versions (%s), expected one"
                       % (Path(deb).name, len(versions), ", ".join(sorted(versions)) or "none"))
    version = versions.pop()
    run_depmod(base, version)
    return version


def modules_cache_dir():
    from .guest import cache_dir
    return cache_dir() / "debian-cloud" / "modules"


def _cache_key(package_line):
    return "format %d\n%s\n" % (CACHE_FORMAT, package_line)


def store_modules(deb, package_line):
    """Replace the cached module tree by the one of `deb` (the package
    package.txt names as `package_line`). Call with the fetch lock held."""
    target = modules_cache_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".modules-", dir=str(target.parent)) as tmp:
        staged = Path(tmp) / "modules"
        staged.mkdir()
        version = extract_modules(deb, staged)
        (staged / "package.txt").write_text(_cache_key(package_line))
        (staged / "version.txt").write_text(version + "\n")
        old = Path(tmp) / "old"
        if target.exists():
            os.replace(target, old)
        os.replace(staged, target)


def _cached_modules(package_line):
    d = modules_cache_dir()
    try:
        if (d / "package.txt").read_text() != _cache_key(package_line):
            return None
        version = (d / "version.txt").read_text().strip()
    except OSError:
        return None
    if not (d / "lib" / "modules" / version / "modules.dep").is_file():
        return None
    return KernelModules(version, d, package_line)


def _download_pinned(packages, directory):
    """apt-get download of `name=version` pairs; returns the .deb paths."""
    from .guest import _apt_download
    return [_apt_download("%s=%s" % (name, version), directory) for name, version in packages]


def debian_kernel_modules():
    """The module tree of the cached Debian kernel (fetching the kernel first
    if needed, and its package again if the modules are not cached yet)."""
    from .guest import _locked, cache_dir, fetch_kernel, kernel_description
    fetch_kernel()
    line = kernel_description()
    cached = _cached_modules(line)
    if cached:
        return cached
    with _locked(cache_dir() / ".fetch.lock", "fetching the guest kernel"):
        line = kernel_description()
        cached = _cached_modules(line)
        if cached:
            return cached
        package, version = line.split()[:2]
        with tempfile.TemporaryDirectory(prefix=".fetch-", dir=str(cache_dir())) as tmp:
            os.chmod(tmp, 0o755)
            info("fetching guest kernel modules: %s %s (apt-get download) ..." % (package, version))
            deb, = _download_pinned([(package, version)], tmp)
            store_modules(deb, line)
    cached = _cached_modules(line)
    if not cached:
        raise CosError("the modules of %s were extracted but are not usable" % line)
    return cached


# ------------------------------------------------------------------ headers

def headers_cache_dir():
    from .guest import cache_dir
    return cache_dir() / "debian-cloud" / "headers"


def debian_kernel_headers():
    """The kbuild directory (usr/src/linux-headers-<version>) of the cached
    Debian kernel's headers, fetched and extracted first if needed."""
    from .guest import _deb_field, _locked, cache_dir
    kmods = debian_kernel_modules()
    root = headers_cache_dir()
    kbuild = root / "usr" / "src" / ("linux-headers-" + kmods.version)
    key = _cache_key(kmods.package)

    def ready():
        try:
            return (root / "package.txt").read_text() == key and (kbuild / "Makefile").is_file()
        except OSError:
            return False

    if ready():
        return kbuild
    with _locked(cache_dir() / ".fetch.lock", "fetching the guest kernel headers"):
        if ready():
            return kbuild
        version = kmods.package.split()[1]
        headers = "linux-headers-" + kmods.version
        with tempfile.TemporaryDirectory(prefix=".headers-", dir=str(cache_dir())) as tmp:
            os.chmod(tmp, 0o755)
            info("fetching guest kernel headers: %s %s (apt-get download) ..." % (headers, version))
            deb, = _download_pinned([(headers, version)], tmp)
            # Its Depends name the -common headers (= version) and
            # linux-kbuild-<major.minor> (>= version): take exactly `version`.
            wanted = []
            for dep in _deb_field(deb, "Depends").replace("|", ",").split(","):
                name = dep.strip().split(" ")[0]
                if name.startswith("linux-headers-") or name.startswith("linux-kbuild-"):
                    wanted.append((name, version))
            if not any(n.startswith("linux-kbuild-") for n, _ in wanted):
                raise CosError("%s depends on no linux-kbuild package" % headers)
            info("fetching guest kernel headers: %s (apt-get download) ..."
                 % ", ".join(n for n, _ in wanted))
            debs = [deb] + _download_pinned(wanted, tmp)
            staged = Path(tmp) / "headers"
            for d in debs:
                argv = ["dpkg-deb", "-x", str(d), str(staged)]
                proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True)
                if proc.returncode != 0:
                    raise CosError("'%s' failed:\n%s" % (quote_cmd(argv), _tail(proc.stdout)))
            # The flavour's Makefile includes /usr/src/linux-headers-*-common/Makefile
            # by absolute path: point it at the extracted tree.
            final_src = root / "usr" / "src"
            makefile = staged / "usr" / "src" / ("linux-headers-" + kmods.version) / "Makefile"
            text = makefile.read_text()
            patched = re.sub(r"(?m)^include /usr/src/", "include %s/" % final_src, text)
            makefile.write_text(patched)
            (staged / "package.txt").write_text(key)
            if root.exists():
                os.replace(root, Path(tmp) / "old")
            os.replace(staged, root)
    if not ready():
        raise CosError("the kernel headers were extracted but %s is missing" % (kbuild / "Makefile"))
    return kbuild


# ------------------------------------------------------- out-of-tree modules

def module_build_dir():
    return build_dir() / "guest" / "modules"


def _source_files(src):
    """The regular files of the module source directory `src` (relative
    paths, sorted), without build outputs a previous in-tree build left."""
    skip = re.compile(r"(\.o|\.ko|\.mod|\.mod\.c|\.cmd|\.symvers|\.order)$")
    files = []
    for root, dirs, names in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for n in sorted(names):
            if n.startswith(".") or skip.search(n):
                continue
            p = Path(root) / n
            if p.is_file():
                files.append(p.relative_to(src))
    return files


def build_module(src, kbuild):
    """Build the out-of-tree module source directory `src` (a Kbuild or a
    Makefile with `obj-m`) against the kernel headers `kbuild`, in a copy
    below build/<arch>/guest/modules/<dir name>-<hash of its path>/ (kbuild writes its outputs
    next to the sources). Returns the built .ko files, sorted. Rebuilds only
    when a source file or the headers changed."""
    from .guest import _locked
    with _locked(module_build_dir() / ".lock", "building a guest kernel module"):
        return _build_module_locked(Path(src), kbuild)


def _build_module_locked(src, kbuild):
    # Two sources with one directory name (a/poke, b/poke) get two copies.
    tag = hashlib.sha256(str(src.resolve()).encode()).hexdigest()[:8]
    out = module_build_dir() / ("%s-%s" % (src.name, tag))
    files = _source_files(src)
    stamp_text = "%s\n%s\n" % (kbuild, (Path(kbuild).parent.parent.parent / "package.txt")
                               .read_text().strip())
    for f in files:
        st = os.stat(src / f)
        stamp_text += "%s %d %d\n" % (f, st.st_size, st.st_mtime_ns)
    stamp = out / ".cos-stamp"
    kos = sorted(out.glob("*.ko"))
    if kos and stamp.is_file() and stamp.read_text() == stamp_text:
        return kos
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for f in files:
        (out / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / f, out / f)
    argv = ["make", "-C", str(kbuild), "M=%s" % out, "modules"]
    info("building guest kernel module %s" % rel(src))
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        # Compiler messages name the copy; point them at the source.
        text = proc.stdout.replace(str(out) + "/", str(src) + "/")
        raise CosError("building guest kernel module %s failed ('%s', exit status %d):\n%s"
                       % (rel(src), quote_cmd(argv), proc.returncode, _tail(text, 30)), status=2)
    kos = sorted(out.glob("*.ko"))
    if not kos:
        raise CosError("building guest kernel module %s made no .ko file (does its Kbuild "
                       "or Makefile set obj-m?)" % rel(src), status=2)
    stamp.write_text(stamp_text)
    return kos


# --------------------------------------------------- an initramfs's modules

def _module_name(path):
    return os.path.basename(path).split(".ko")[0].replace("-", "_")


def module_closure(tree, names):
    """The files (relative to `tree`, a lib/modules/<version>/ with
    modules.dep) of modules `names` and everything they depend on, sorted.
    A name listed in modules.builtin (built into the kernel) needs no file;
    any other name the tree does not have raises CosError."""
    builtin = set()
    if (Path(tree) / "modules.builtin").is_file():
        builtin = {_module_name(l) for l in (Path(tree) / "modules.builtin").read_text().split()}
    deps = {}
    by_name = {}
    for line in (Path(tree) / "modules.dep").read_text().splitlines():
        if ":" not in line:
            continue
        path, rest = line.split(":", 1)
        deps[path] = rest.split()
        by_name[_module_name(path)] = path
    wanted, todo = set(), []
    for n in names:
        path = by_name.get(n.replace("-", "_"))
        if path is None and n.replace("-", "_") in builtin:
            continue
        if path is None:
            raise CosError("kernel module %s is not in %s/modules.dep" % (n, tree))
        todo.append(path)
    while todo:
        path = todo.pop()
        if path in wanted:
            continue
        wanted.add(path)
        todo.extend(deps.get(path, []))
    return sorted(wanted)


def _strip_debug(path):
    """A copy of module `path` without debug sections (as INSTALL_MOD_STRIP=1
    makes it), or its bytes unchanged if strip fails."""
    with tempfile.NamedTemporaryFile(suffix=".ko") as tmp:
        proc = subprocess.run(["strip", "--strip-debug", "-o", tmp.name, str(path)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if proc.returncode == 0:
            return Path(tmp.name).read_bytes()
    return Path(path).read_bytes()


def lib_modules_entries(kmods, built, overlay_files):
    """The lib/modules/ part of an initramfs: [(destination, bytes)].

    `kmods`: a KernelModules whose DEFAULT_MODULES (and their dependencies)
    and PACKAGE_INDEX_FILES go in, or None. `built`: .ko files (built
    against kmods' kernel) that go to lib/modules/<version>/extra/.
    `overlay_files`: [(source, destination)] of the script's overlays; those
    under /lib/modules/<version>/ take part in depmod. depmod runs for every
    version directory holding a .ko file; its indexes are returned for the
    names no overlay provides itself (an overlay's own modules.dep wins).
    """
    entries = []
    with tempfile.TemporaryDirectory(prefix="cos-depmod-") as tmp:
        staging = Path(tmp)

        def put(dst, data):
            path = staging / dst
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

        if kmods is not None:
            tree = Path(kmods.base) / "lib" / "modules" / kmods.version
            prefix = "lib/modules/%s/" % kmods.version
            chosen = module_closure(tree, DEFAULT_MODULES)
            for f in chosen:
                data = (tree / f).read_bytes()
                entries.append((prefix + f, data))
                put(prefix + f, data)
            for f in PACKAGE_INDEX_FILES:
                if (tree / f).is_file():
                    data = (tree / f).read_bytes()
                    if f == "modules.order":  # only the modules that are here
                        data = b"".join(l for l in data.splitlines(keepends=True)
                                        if l.strip().decode() in chosen)
                    entries.append((prefix + f, data))
                    put(prefix + f, data)
            for ko in built:
                data = _strip_debug(ko)
                entries.append((prefix + "extra/" + ko.name, data))
                put(prefix + "extra/" + ko.name, data)
        overlaid = set()
        for src, dst in overlay_files:
            d = dst.strip("/")
            if d.startswith("lib/modules/") and len(d.split("/")) > 3:
                overlaid.add(d)
                put(d, Path(src).read_bytes())
        root = staging / "lib" / "modules"
        versions = sorted(v.name for v in root.iterdir()) if root.is_dir() else []
        for version in versions:
            vdir = root / version
            if not any(p.suffix == ".ko" for p in vdir.rglob("*.ko")):
                continue
            before = {p for p in vdir.iterdir() if p.is_file()}
            run_depmod(staging, version)
            for p in sorted(vdir.iterdir()):
                d = "lib/modules/%s/%s" % (version, p.name)
                if p.is_file() and p not in before and d not in overlaid:
                    entries.append((d, p.read_bytes()))
    return entries
