"""Guest images for VMM components (`cos guest fetch|build`, and the step of
`cos compose` for scripts with a [component.guest] table).

* The guest kernel "debian-cloud": the bzImage of the Debian package that
  linux-image-cloud-amd64 depends on, fetched with `apt-get download` and
  cached outside the repository in $XDG_CACHE_HOME/cos/guest/debian-cloud/
  (default ~/.cache/cos/guest/): vmlinuz plus package.txt naming the package.
  A cached kernel is reused; `cos guest fetch --refresh` fetches it again.
* The initramfs "default": guest/initramfs/init.c compiled with
  `gcc -static -Os -s`, busybox from busybox-static (/bin/busybox) with a
  symlink per applet, /dev/console and /dev/null nodes, and the script's
  overlays, packed here as a gzip-compressed newc cpio archive with every
  file owned by root (no fakeroot, no mknod: the archive is written directly).
  Outputs go to build/<arch>/guest/ (initramfs.cpio.gz without overlays,
  <system>/<component>.initramfs.cpio.gz with them); a stamp of the inputs
  decides whether to rebuild.

The composer gets the resolved files as `--guest-kernel <bzImage>` and
`--guest-initramfs <component>=<cpio>`; it checks them (and every path the
script names) itself. See docs/guest.md.
"""

import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
from pathlib import Path

from . import disk
from .common import REPO, CosError, build_dir, info, quote_cmd, rel

DEBIAN_META_PACKAGE = "linux-image-cloud-amd64"
INIT_SOURCE = REPO / "guest" / "initramfs" / "init.c"
BUSYBOX = Path("/bin/busybox")
# Bump when the initramfs layout changes, so existing outputs are rebuilt.
INITRAMFS_FORMAT = 2
# Component names as the composer accepts them (tools/composer/names.cpp:
# [a-z][a-z0-9_]*, at most cos_limits::kMaxNameBytes = 31 characters). Only
# such a name becomes part of an output path here; the composer reports any
# other with its line and column.
COMPONENT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
# The overlays' files together may not exceed the largest guest RAM below
# 4 GiB (cos_limits::kGuestLowRamTop, src/include/cos/limits.hpp), where the
# VMM loads the initramfs. Nothing larger is read.
MAX_OVERLAY_BYTES = 3 << 30


def cache_dir():
    """$XDG_CACHE_HOME/cos/guest (default ~/.cache/cos/guest)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cos" / "guest"


def output_dir():
    """build/<arch>/guest: the initramfs outputs (git-ignored with build/)."""
    return build_dir() / "guest"


@contextlib.contextmanager
def _locked(path, what):
    """Hold an exclusive lock on `path` (parallel ctest runs share the cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info("waiting for another cos command %s ..." % what)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _mib(n):
    return "%.1f MiB" % (n / (1 << 20))


# ---------------------------------------------------------------- the kernel

def debian_kernel_path():
    """Where the fetched Debian kernel is cached (may not exist yet)."""
    return cache_dir() / "debian-cloud" / "vmlinuz"


_apt_updated = False


def _apt_update(package):
    global _apt_updated
    if os.geteuid() != 0:
        raise CosError("apt-get does not know %s (no package lists yet?) and this is not root: "
                       "run 'sudo apt-get update', then try again" % package)
    info("apt-get does not know %s (no package lists yet?): running apt-get update" % package)
    proc = subprocess.run(["apt-get", "update"], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise CosError("'apt-get update' failed (exit status %d):\n%s"
                       % (proc.returncode, _tail(proc.stdout)))
    _apt_updated = True


def _tail(text, lines=15):
    return "\n".join(text.strip().splitlines()[-lines:])


def _apt_download(package, directory):
    """`apt-get download <package>` into `directory`; returns the .deb path.

    Runs `apt-get update` once (as root) when apt does not know the package,
    which is the case on a fresh machine without package lists.
    """
    argv = ["apt-get", "download", package]
    for attempt in (1, 2):
        before = set(Path(directory).glob("*.deb"))
        proc = subprocess.run(argv, cwd=str(directory), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        debs = sorted(set(Path(directory).glob("*.deb")) - before)
        if proc.returncode == 0 and debs:
            return debs[0]
        unknown = any(s in proc.stdout for s in (
            "Unable to locate package", "has no installation candidate",
            "Can't select candidate", "No packages found"))
        if attempt == 1 and unknown and not _apt_updated:
            _apt_update(package)
            continue
        raise CosError("'%s' failed (exit status %d):\n%s"
                       % (quote_cmd(argv), proc.returncode, _tail(proc.stdout)))
    raise AssertionError("unreachable")


def _deb_field(deb, field):
    proc = subprocess.run(["dpkg-deb", "-f", str(deb), field], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise CosError("dpkg-deb -f %s %s failed: %s" % (deb, field, proc.stderr.strip()))
    return proc.stdout.strip()


def _kernel_package(meta_deb):
    """The linux-image-*-cloud-amd64 package the meta package depends on."""
    depends = _deb_field(meta_deb, "Depends")
    for alternative in depends.replace("|", ",").split(","):
        name = alternative.strip().split(" ")[0]
        if name.startswith("linux-image-") and name != DEBIAN_META_PACKAGE:
            return name
    raise CosError("%s depends on no linux-image package (Depends: %s)"
                   % (DEBIAN_META_PACKAGE, depends))


def _extract_vmlinuz(deb, dest):
    """Extract ./boot/vmlinuz-* of `deb` to `dest`; returns its file name.

    Equivalent to `dpkg-deb -x` and picking boot/vmlinuz-*, without writing
    the package's modules to disk.
    """
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    found = None
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                name = member.name.lstrip("./")
                if member.isfile() and name.startswith("boot/vmlinuz-"):
                    src = tar.extractfile(member)
                    with open(dest, "wb") as out:
                        shutil.copyfileobj(src, out)
                    found = Path(name).name
                    break
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()
    if found is None:
        raise CosError("%s contains no boot/vmlinuz-*" % deb.name)
    return found


def fetch_kernel(refresh=False):
    """The cached Debian cloud bzImage, fetched first if needed; returns its path."""
    kernel = debian_kernel_path()
    if kernel.is_file() and not refresh:
        return kernel
    with _locked(cache_dir() / ".fetch.lock", "fetching the guest kernel"):
        if kernel.is_file() and not refresh:
            return kernel  # another cos command fetched it meanwhile
        kernel.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".fetch-", dir=str(cache_dir())) as tmp:
            os.chmod(tmp, 0o755)  # apt's _apt user may read it (fewer warnings)
            info("fetching guest kernel: %s (apt-get download) ..." % DEBIAN_META_PACKAGE)
            meta = _apt_download(DEBIAN_META_PACKAGE, tmp)
            package = _kernel_package(meta)
            info("fetching guest kernel: %s (apt-get download) ..." % package)
            deb = _apt_download(package, tmp)
            version = _deb_field(deb, "Version")
            staged = Path(tmp) / "vmlinuz"
            vmlinuz = _extract_vmlinuz(deb, staged)
            problem = bzimage_problem(staged)
            if problem:
                raise CosError("%s from %s is not usable: %s" % (vmlinuz, package, problem))
            os.replace(staged, kernel)
            line = "%s %s %s" % (package, version, vmlinuz)
            (kernel.parent / "package.txt").write_text(line + "\n")
            # The package's modules too, for the initramfs (guest_modules.py).
            from . import guest_modules
            guest_modules.store_modules(deb, line)
        info("guest kernel: %s (%s %s, %s)" % (kernel, package, version,
                                                _mib(kernel.stat().st_size)))
    return kernel


def kernel_description():
    """'<package> <version> <vmlinuz>' of the cached kernel, or None."""
    try:
        return (debian_kernel_path().parent / "package.txt").read_text().strip()
    except OSError:
        return None


def bzimage_problem(path):
    """Why `path` is not a bzImage the guest bootloader can start, or None."""
    with open(path, "rb") as f:
        head = f.read(0x300)
    if len(head) < 0x270:
        return "too small for a setup header"
    if head[0x1fe:0x200] != b"\x55\xaa":
        return "no boot flag 0xAA55 at offset 0x1fe"
    if head[0x202:0x206] != b"HdrS":
        return "no HdrS signature at offset 0x202"
    version = int.from_bytes(head[0x206:0x208], "little")
    if version < 0x0206:
        return "boot protocol %d.%02d is older than 2.06" % (version >> 8, version & 0xff)
    if not head[0x211] & 1:
        return "loadflags LOADED_HIGH is not set (a zImage)"
    return None


# ------------------------------------------------------------ the initramfs

class Cpio:
    """A newc ("070701") cpio archive written in memory; everything root:root."""

    def __init__(self):
        self.out = io.BytesIO()
        self.ino = 1
        self.dirs = set()

    def _entry(self, name, mode, data=b"", nlink=1, rdev=(0, 0)):
        name_bytes = name.encode() + b"\0"
        fields = (self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name_bytes), 0)
        self.ino += 1
        header = b"070701" + b"".join(b"%08x" % v for v in fields)
        self.out.write(header + name_bytes)
        self.out.write(b"\0" * (-(len(header) + len(name_bytes)) % 4))
        self.out.write(data)
        self.out.write(b"\0" * (-len(data) % 4))

    def directory(self, name, mode=0o755):
        name = name.strip("/")
        if not name or name in self.dirs:
            return
        parent = os.path.dirname(name)
        if parent:
            self.directory(parent)
        self.dirs.add(name)
        self._entry(name, stat.S_IFDIR | mode, nlink=2)

    def _parent(self, name):
        parent = os.path.dirname(name)
        if parent:
            self.directory(parent)

    def file(self, name, data, mode=0o644):
        name = name.strip("/")
        self._parent(name)
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        name = name.strip("/")
        self._parent(name)
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def char_device(self, name, major, minor, mode=0o600):
        name = name.strip("/")
        self._parent(name)
        self._entry(name, stat.S_IFCHR | mode, rdev=(major, minor))

    def finish(self):
        self._entry("TRAILER!!!", 0)
        self.out.write(b"\0" * (-self.out.tell() % 512))
        return self.out.getvalue()


def _file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _type_name(mode):
    """What a non-regular file is, for messages (like the composer's)."""
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _read_regular(path, max_bytes):
    """The contents of the regular file `path` (symlinks followed), at most
    `max_bytes` of them: opened without blocking (a FIFO is never waited
    on), its type checked on what was opened, and no more read than its
    size. Raises CosError otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as e:
        raise CosError("cannot read %s: %s" % (path, e.strerror))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise CosError("%s is %s, not a regular file" % (path, _type_name(st.st_mode)))
        if st.st_size > max_bytes:
            raise CosError("%s is %d bytes; at most %d are read" % (path, st.st_size, max_bytes))
        return f.read(st.st_size)


def _compile_init():
    """build/<arch>/guest/init from guest/initramfs/init.c (when it changed)."""
    init = output_dir() / "init"
    if init.is_file() and init.stat().st_mtime >= INIT_SOURCE.stat().st_mtime:
        return init
    init.parent.mkdir(parents=True, exist_ok=True)
    argv = ["gcc", "-static", "-Os", "-s", "-Wall", "-Wextra", "-o", str(init) + ".tmp",
            str(INIT_SOURCE)]
    info("compiling %s" % rel(INIT_SOURCE))
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise CosError("'%s' failed:\n%s" % (quote_cmd(argv), _tail(proc.stdout, 30)))
    os.replace(str(init) + ".tmp", init)
    return init


def _busybox_applets():
    if not BUSYBOX.is_file():
        raise CosError("%s is missing: install busybox-static (./cos setup)" % BUSYBOX)
    proc = subprocess.run([str(BUSYBOX), "--list-full"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise CosError("%s --list-full failed: %s" % (BUSYBOX, proc.stderr.strip()))
    return [line.strip().strip("/") for line in proc.stdout.splitlines() if line.strip()]


def _overlay_files(src, dst):
    """(source file or None for a directory, destination) pairs of one overlay.

    Every source must be a regular file or a directory (symlinks to files
    followed; a symlink to a directory inside a directory becomes an empty
    directory, as os.walk does not follow it); anything else (a FIFO, a
    device, a socket, a dangling link) raises CosError, without opening it.
    """
    src = Path(src)
    dst = "/" + dst.strip("/")
    try:
        st = os.stat(src)
    except OSError as e:
        raise CosError("overlay source %s: %s" % (src, e.strerror))
    if stat.S_ISREG(st.st_mode):
        yield src, dst
        return
    if not stat.S_ISDIR(st.st_mode):
        raise CosError("overlay source %s is %s, not a regular file or directory"
                       % (src, _type_name(st.st_mode)))
    yield None, dst
    for root, dirs, files in os.walk(src):
        dirs.sort()
        for d in dirs:
            yield None, dst + "/" + os.path.relpath(os.path.join(root, d), src)
        for f in sorted(files):
            path = Path(root) / f
            try:
                mode = os.stat(path).st_mode
            except OSError as e:
                raise CosError("overlay source %s contains %s: %s" % (src, path, e.strerror))
            if not stat.S_ISREG(mode):
                raise CosError("overlay source %s contains %s, which is %s, not a regular file "
                               "or directory" % (src, path, _type_name(mode)))
            yield path, dst + "/" + os.path.relpath(str(path), src)


def overlay_problem(overlays):
    """Why the overlays [(abs src, dst)] cannot go into an initramfs (a source
    that is no regular file or directory of them, or more than
    MAX_OVERLAY_BYTES of files), or None. Reads no file."""
    total = 0
    try:
        for src, dst in overlays:
            for f, _ in _overlay_files(src, dst):
                if f is not None:
                    total += os.stat(f).st_size
    except (CosError, OSError) as e:
        return str(e)
    if total > MAX_OVERLAY_BYTES:
        return "the overlays hold %d bytes, more than the largest guest RAM (%d)" % (
            total, MAX_OVERLAY_BYTES)
    return None


def _stamp(init, overlays, kmods=None, built=()):
    """A digest of everything the initramfs is made of."""
    h = hashlib.sha256()
    h.update(b"format %d\n" % INITRAMFS_FORMAT)
    if kmods is not None:
        h.update(("kernel modules %s %s\n" % (kmods.version, kmods.package)).encode())
    for ko in built:
        st = os.stat(ko)
        h.update(("built %s %d %d\n" % (ko, st.st_size, st.st_mtime_ns)).encode())
    for path in [init, BUSYBOX]:
        st = os.stat(path)
        h.update(("%s %d %d\n" % (path, st.st_size, st.st_mtime_ns)).encode())
    for src, dst in overlays:
        for f, d in _overlay_files(src, dst):
            if f is None:
                h.update(("dir %s\n" % d).encode())
            else:
                st = os.stat(f)
                h.update(("file %s %s %d %d %o\n" % (f, d, st.st_size, st.st_mtime_ns,
                                                     st.st_mode)).encode())
    return h.hexdigest()


def build_initramfs(overlays=(), out=None, kmods=None, built=()):
    """Build the default initramfs with `overlays` [(abs src, dst)] into `out`.

    `kmods` (guest_modules.KernelModules, or None): the guest kernel whose
    default modules go to /lib/modules/<version>/; `built`: kernel modules
    built for it (.ko paths) that go to /lib/modules/<version>/extra/.
    depmod runs over all of them and the overlays' /lib/modules/ files.
    Returns the output path; rebuilds only when an input changed.
    """
    out = Path(out) if out else output_dir() / "initramfs.cpio.gz"
    problem = overlay_problem(overlays)  # before the lock: a bad source never holds it
    if problem:
        raise CosError(problem, status=2)
    with _locked(output_dir() / ".initramfs.lock", "building a guest initramfs"):
        init = _compile_init()
        stamp = _stamp(init, overlays, kmods, built)
        stamp_file = out.with_name(out.name + ".stamp")
        if out.is_file() and stamp_file.is_file() and stamp_file.read_text().strip() == stamp:
            return out
        info("building guest initramfs %s" % rel(out))
        cpio = Cpio()
        for d in ("bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "etc", "root",
                  "mnt"):
            cpio.directory(d)
        cpio.directory("tmp", 0o1777)
        cpio.char_device("dev/console", 5, 1)
        cpio.char_device("dev/null", 1, 3, 0o666)
        cpio.file("init", init.read_bytes(), 0o755)
        cpio.file("bin/busybox", BUSYBOX.read_bytes(), 0o755)
        for applet in _busybox_applets():
            if applet in ("bin/busybox", "init", "linuxrc"):
                continue
            cpio.symlink(applet, "/bin/busybox")
        cpio.file("etc/hostname", b"cos-guest\n")
        from . import guest_modules
        overlay_files = [(f, d) for src, dst in overlays for f, d in _overlay_files(src, dst)
                         if f is not None]
        for dst, data in guest_modules.lib_modules_entries(kmods, list(built), overlay_files):
            cpio.file(dst, data)
        for src, dst in overlays:
            for f, d in _overlay_files(src, dst):
                if f is None:
                    cpio.directory(d)
                else:
                    cpio.file(d, _read_regular(f, MAX_OVERLAY_BYTES), _file_mode(f))
        raw = cpio.finish()
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        with open(tmp, "wb") as f:
            with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9, mtime=0) as gz:
                gz.write(raw)
        os.replace(tmp, out)
        stamp_file.write_text(stamp + "\n")
        info("guest initramfs: %s (%s, %s uncompressed)" % (rel(out), _mib(out.stat().st_size),
                                                            _mib(len(raw))))
    return out


# ---------------------------------------------- composing scripts with guests

def _load_script(path):
    try:
        import tomllib
    except ImportError:  # Python < 3.11: the composer reports problems itself
        return None
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, ValueError):
        return None  # the composer reports it, with line:col


def _overlays(guest, script_dir):
    """The overlays of a guest table as [(abs src, dst)], or None when anything
    is malformed, missing or unusable (not a regular file or directory of
    them, or too large: overlay_problem); the composer then reports it
    precisely, with its line and column."""
    value = guest.get("overlays", [])
    if not isinstance(value, list):
        return None
    result = []
    for entry in value:
        if not isinstance(entry, dict):
            return None
        src, dst = entry.get("src"), entry.get("dst")
        if not isinstance(src, str) or not isinstance(dst, str) or not dst.startswith("/"):
            return None
        path = Path(src) if os.path.isabs(src) else script_dir / src
        if not path.exists():
            return None
        result.append((path.resolve(), dst))
    if overlay_problem(result):
        return None
    return result


def _module_sources(guest, script_dir):
    """The `module_sources` of a guest table as [abs dir], or None when
    anything is malformed or missing (the composer reports it with its line
    and column)."""
    value = guest.get("module_sources", [])
    if not isinstance(value, list):
        return None
    result = []
    for entry in value:
        if not isinstance(entry, str) or not entry:
            return None
        path = Path(entry) if os.path.isabs(entry) else script_dir / entry
        if not path.is_dir():
            return None
        result.append(path.resolve())
    return result


def prepare_for_script(script, system_name):
    """Fetch and build what the guests and the `files` of `script` need.

    Returns (extra composer arguments, the files made or read). Scripts
    without [component.guest] tables or `files` (or that do not parse) need
    nothing.
    """
    data = _load_script(script)
    if not isinstance(data, dict) or not isinstance(data.get("component"), list):
        return [], []
    script_dir = Path(script).resolve().parent
    # The components' `files`: ext2 images built, raw files listed (disk.py).
    args, files = disk.prepare_files(data, script_dir, system_name)
    need_kernel = False
    for comp in data["component"]:
        if not isinstance(comp, dict) or not isinstance(comp.get("guest"), dict):
            continue
        name, guest = comp.get("name"), comp["guest"]
        if not isinstance(name, str) or not COMPONENT_NAME_RE.match(name):
            continue  # the composer rejects the name; it never becomes a path here
        if guest.get("kind", "linux") != "linux":
            continue  # a Multiboot kernel and its modules: files the composer reads as they are
        debian = guest.get("kernel", "debian-cloud") == "debian-cloud"
        if debian:
            need_kernel = True
        if guest.get("initramfs", "default") != "default":
            continue
        overlays = _overlays(guest, script_dir)
        sources = _module_sources(guest, script_dir)
        if overlays is None or sources is None or (sources and not debian):
            continue  # the composer reports it
        from . import guest_modules
        kmods = guest_modules.debian_kernel_modules() if debian else None
        built = []
        if sources:
            kbuild = guest_modules.debian_kernel_headers()
            for src in sources:
                built += guest_modules.build_module(src, kbuild)
        out = None
        if overlays or built or not debian:
            out = output_dir() / system_name / (name + ".initramfs.cpio.gz")
        path = build_initramfs(overlays, out, kmods, built)
        args += ["--guest-initramfs", "%s=%s" % (name, path)]
        files.append(path)
    if need_kernel:
        kernel = fetch_kernel()
        args += ["--guest-kernel", str(kernel)]
        files.append(kernel)
    return args, files


def cmd_guest(args):
    """`cos guest fetch|build`."""
    if args.what == "fetch":
        cached = debian_kernel_path().is_file() and not args.refresh
        kernel = fetch_kernel(refresh=args.refresh)
        if cached:
            info("guest kernel: %s (%s, %s; cached)" % (kernel, kernel_description() or "?",
                                                       _mib(kernel.stat().st_size)))
    else:
        out = output_dir() / "initramfs.cpio.gz"
        before = out.stat().st_mtime_ns if out.is_file() else None
        from . import guest_modules
        build_initramfs(kmods=guest_modules.debian_kernel_modules())
        if before == out.stat().st_mtime_ns:
            info("guest initramfs: %s (%s; up to date)" % (rel(out), _mib(out.stat().st_size)))
    return 0
