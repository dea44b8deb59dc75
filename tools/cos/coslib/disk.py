"""The `files` of a composition script (docs/composition.md, "Files"): the
step of `cos compose` that builds the ext2 images entries with
format = "ext2" name, and lists the raw files so a changed file recomposes.

An ext2 image is built from the directory `src` with
`mke2fs -t ext2 -d <src> -L <name> <image> <size>` (e2fsprogs; no root
needed) into build/<arch>/files/<system>/<component>.<name>.ext2, with a
stamp of its inputs (every path, size, mtime and mode below `src`, the size
and the label) beside it: it is rebuilt only when one changed. The composer
gets it as `--file <component>.<name>=<image>` and checks it (and reports
every problem of the script itself, with its line and column); entries that
are malformed here are left to it.
"""

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from .common import CosError, build_dir, info, quote_cmd, rel

# Names as the composer accepts them (tools/composer/names.cpp): only such
# names become part of an output path here.
COMPONENT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
FILE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,25}$")
SYSTEM_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
SIZE_RE = re.compile(r"^(\d+)([KkMmGg]?)$")
# Bump when the way images are made changes, so existing ones are rebuilt.
EXT2_FORMAT = 1


def _mke2fs():
    """mke2fs, also where it is for root only (/usr/sbin is not on every PATH)."""
    found = shutil.which("mke2fs")
    for path in ("/usr/sbin/mke2fs", "/sbin/mke2fs"):
        if not found and os.access(path, os.X_OK):
            found = path
    return found or "mke2fs"


def output_dir():
    """build/<arch>/files: the images (git-ignored with build/)."""
    return build_dir() / "files"


def _size(value):
    """A `size` value in bytes (an integer, or digits with K/M/G), or None
    for anything else (the composer reports it)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    if not isinstance(value, str):
        return None
    m = SIZE_RE.match(value)
    if not m:
        return None
    shift = {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2).lower()]
    return int(m.group(1)) << shift


def _stamp(src, size, label):
    """A digest of everything the image is made of."""
    h = hashlib.sha256()
    h.update(("format %d size %d label %s\n" % (EXT2_FORMAT, size, label)).encode())
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(filenames) + dirnames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            h.update(("%s %d %d %o\n" % (os.path.relpath(p, src), st.st_size, st.st_mtime_ns,
                                         st.st_mode)).encode())
    return h.hexdigest()


def build_ext2(src, size, label, out):
    """Build an ext2 image of `size` bytes holding the directory `src` into
    `out`, labelled `label`; returns `out`. Rebuilds only when an input
    changed."""
    stamp = _stamp(src, size, label)
    stamp_file = out.with_name(out.name + ".stamp")
    if out.is_file() and stamp_file.is_file() and stamp_file.read_text().strip() == stamp:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    # mke2fs takes the size in 1 KiB blocks without a suffix; -F: a regular file.
    argv = [_mke2fs(), "-q", "-F", "-t", "ext2", "-b", "1024" if size < (1 << 20) else "4096",
            "-d", str(src), "-L", label, str(tmp), "%dk" % (size // 1024)]
    info("building ext2 image %s from %s" % (rel(out), rel(src)))
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except FileNotFoundError:
        raise CosError("mke2fs not found: install e2fsprogs (./cos setup)")
    if r.returncode != 0:
        if tmp.exists():
            tmp.unlink()
        raise CosError("%s failed (status %d):\n%s" % (quote_cmd(argv), r.returncode, r.stdout.strip()))
    if tmp.stat().st_size != size:  # mke2fs made the file; it must be exactly `size`
        with open(tmp, "r+b") as f:
            f.truncate(size)
    os.replace(tmp, out)
    stamp_file.write_text(stamp + "\n")
    return out


def prepare_files(data, script_dir, system_name):
    """For a parsed script `data`: (composer arguments, files the system is
    made of). Builds every ext2 image; lists raw files as they are."""
    args, files = [], []
    comps = data.get("component") if isinstance(data, dict) else None
    if not isinstance(comps, list) or not SYSTEM_NAME_RE.match(str(system_name)):
        return args, files
    for comp in comps:
        if not isinstance(comp, dict) or not isinstance(comp.get("files"), list):
            continue
        cname = comp.get("name")
        if not isinstance(cname, str) or not COMPONENT_NAME_RE.match(cname):
            continue  # the composer rejects the name; it never becomes a path here
        for entry in comp["files"]:
            if not isinstance(entry, dict):
                continue
            name, src = entry.get("name"), entry.get("src")
            if not isinstance(name, str) or not FILE_NAME_RE.match(name) or not isinstance(src, str):
                continue
            path = Path(src) if os.path.isabs(src) else script_dir / src
            if entry.get("format", "raw") != "ext2":
                if path.is_file():
                    files.append(path)
                continue
            size = _size(entry.get("size"))
            if size is None or size % 4096 or not path.is_dir():
                continue  # the composer reports it with its position
            out = output_dir() / system_name / ("%s.%s.ext2" % (cname, name))
            image = build_ext2(path.resolve(), size, name, out)
            args += ["--file", "%s.%s=%s" % (cname, name, image)]
            files.append(image)
    return args, files
