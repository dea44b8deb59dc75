#!/usr/bin/env python3
"""Unit tests of the `files` step of `cos compose` (tools/cos/coslib/disk.py):
ext2 images are built with mke2fs from a directory, of exactly their size
and labelled with their name, rebuilt only when an input changed; names
that the composer would refuse never become paths; raw files are listed
(so a changed file recomposes) and passed to nobody."""

import os
import shutil
import struct
import sys
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "cos"))
from coslib import disk  # noqa: E402


def superblock(image):
    """(magic, volume name) of an ext2 image."""
    with open(image, "rb") as f:
        f.seek(1024)
        sb = f.read(1024)
    return struct.unpack_from("<H", sb, 56)[0], sb[120:136].rstrip(b"\0").decode()


@unittest.skipUnless(shutil.which("mke2fs") or os.path.exists("/usr/sbin/mke2fs") or
                     os.path.exists("/sbin/mke2fs"), "mke2fs (e2fsprogs) is not installed")
class Ext2Test(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        root = Path(self.tmp.name)
        self.scripts = root / "scripts"
        self.out = root / "build" / "files"
        (self.scripts / "tree" / "sub").mkdir(parents=True)
        (self.scripts / "tree" / "hello.txt").write_text("hello\n")
        (self.scripts / "tree" / "sub" / "x").write_bytes(b"x" * 5000)
        (self.scripts / "raw.bin").write_bytes(b"raw")
        p = mock.patch.object(disk, "output_dir", lambda: self.out)
        p.start()
        self.addCleanup(p.stop)

    def data(self, files, name="vm"):
        return {"component": [{"name": name, "image": "x", "files": files}]}

    def test_builds_labelled_image_of_exact_size_and_reuses_it(self):
        files = [{"name": "root", "src": "tree", "format": "ext2", "size": "256K"},
                 {"name": "raw", "src": "raw.bin"}]
        args, made = disk.prepare_files(self.data(files), self.scripts, "sys")
        image = self.out / "sys" / "vm.root.ext2"
        self.assertEqual(args, ["--file", "vm.root=%s" % image])
        self.assertEqual(made, [image, self.scripts / "raw.bin"])
        self.assertEqual(image.stat().st_size, 256 * 1024)
        self.assertEqual(superblock(image), (0xEF53, "root"))
        # Unchanged inputs: the same file, not rebuilt.
        mtime = image.stat().st_mtime_ns
        time.sleep(0.01)
        disk.prepare_files(self.data(files), self.scripts, "sys")
        self.assertEqual(image.stat().st_mtime_ns, mtime)
        # A changed file below the directory: rebuilt.
        time.sleep(0.01)
        (self.scripts / "tree" / "hello.txt").write_text("hello again\n")
        disk.prepare_files(self.data(files), self.scripts, "sys")
        self.assertNotEqual(image.stat().st_mtime_ns, mtime)

    def test_sizes_in_bytes_and_with_suffixes(self):
        for size, bytes_ in ((1 << 20, 1 << 20), ("2M", 2 << 20), ("128k", 128 << 10)):
            files = [{"name": "root", "src": "tree", "format": "ext2", "size": size}]
            disk.prepare_files(self.data(files), self.scripts, "sys")
            self.assertEqual((self.out / "sys" / "vm.root.ext2").stat().st_size, bytes_, size)

    def test_what_the_composer_reports_is_left_alone(self):
        # Bad names never become paths, bad sizes and sources are not built.
        bad = [
            self.data([{"name": "root", "src": "tree", "format": "ext2", "size": "1M"}], name="../x"),
            self.data([{"name": "../root", "src": "tree", "format": "ext2", "size": "1M"}]),
            self.data([{"name": "root", "src": "tree", "format": "ext2", "size": "1000"}]),
            self.data([{"name": "root", "src": "tree", "format": "ext2", "size": "big"}]),
            self.data([{"name": "root", "src": "tree", "format": "ext2"}]),
            self.data([{"name": "root", "src": "raw.bin", "format": "ext2", "size": "1M"}]),
            self.data([{"name": "root", "src": "none", "format": "ext2", "size": "1M"}]),
            self.data(["root"]),
            self.data("root"),
        ]
        for data in bad:
            self.assertEqual(disk.prepare_files(data, self.scripts, "sys"), ([], []), data)
        self.assertEqual(disk.prepare_files(self.data([]), self.scripts, "../up"), ([], []))
        self.assertFalse(self.out.exists())

    def test_mke2fs_failure_is_reported(self):
        # 64 KiB of 1 KiB blocks cannot hold 5000 files.
        many = self.scripts / "many"
        many.mkdir()
        for i in range(5000):
            (many / str(i)).write_text("")
        files = [{"name": "root", "src": "many", "format": "ext2", "size": "64K"}]
        with self.assertRaises(disk.CosError):
            disk.prepare_files(self.data(files), self.scripts, "sys")
        self.assertFalse((self.out / "sys" / "vm.root.ext2").exists())


if __name__ == "__main__":
    unittest.main()
