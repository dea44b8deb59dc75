#!/usr/bin/env python3
"""Unit tests of what `cos compose` does with a script's guest input before
the composer sees it (tools/cos/coslib/guest.py): component names never
become paths outside build/, overlay sources are regular files or
directories of them, read without blocking and within a bound, and checked
before the initramfs lock is taken."""

import os
import re
import stat
import sys
import tempfile
import threading
import unittest
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "cos"))
from coslib import guest  # noqa: E402
from coslib import guest_modules  # noqa: E402
from coslib.common import CosError  # noqa: E402

LIMITS = (REPO / "src" / "include" / "cos" / "limits.hpp").read_text()


def limit(name):
    """A constant of cos/limits.hpp written as `<n>` or `<n> * kGiB`."""
    m = re.search(r"\b%s = (\d+)( \* kGiB)?;" % name, LIMITS)
    assert m, name
    return int(m.group(1)) << (30 if m.group(2) else 0)


class GuestDir(unittest.TestCase):
    """A temporary tree: scripts/ (where the script lives), build/ (the guest
    outputs), and outside/ (where nothing may appear)."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        root = Path(self.tmp.name)
        self.scripts = root / "scripts"
        self.build = root / "build" / "guest"
        self.outside = root / "outside"
        for d in (self.scripts, self.build, self.outside):
            d.mkdir(parents=True)
        (self.scripts / "hello.sh").write_text("echo hello\n")
        for p in [mock.patch.object(guest, "output_dir", lambda: self.build),
                  mock.patch.object(guest, "fetch_kernel", lambda: self.scripts / "vmlinuz"),
                  mock.patch.object(guest_modules, "debian_kernel_modules", lambda: None)]:
            p.start()
            self.addCleanup(p.stop)

    def script(self, component_name, overlay_src="hello.sh"):
        path = self.scripts / "sys.toml"
        path.write_text('[system]\nname = "s"\n[[component]]\nname = "%s"\nimage = "x"\n'
                        'untyped = "300M"\n[component.guest]\noverlays = [{ src = "%s", dst = "/x" }]\n'
                        % (component_name, overlay_src))
        return path

    def files_outside_build(self):
        root = Path(self.tmp.name)
        made = []
        for dirpath, _, files in os.walk(root):
            for f in files:
                p = Path(dirpath) / f
                if not (p.is_relative_to(self.build) or p.is_relative_to(self.scripts)):
                    made.append(p)
        return made


class ComponentNameTest(GuestDir):
    """A component name reaches an output path only when the composer would
    accept it; for any other the composer reports it, and nothing is built."""

    def prepare(self, name):
        with mock.patch.object(guest, "build_initramfs") as build:
            build.return_value = self.build / "initramfs.cpio.gz"
            args, _ = guest.prepare_for_script(self.script(name), "s")
        return build, args

    def test_valid_name_is_built_below_build(self):
        build, args = self.prepare("vmm")
        build.assert_called_once()
        out = build.call_args[0][1]
        self.assertEqual(out, self.build / "s" / "vmm.initramfs.cpio.gz")
        self.assertIn("vmm=%s" % (self.build / "initramfs.cpio.gz"), args)

    def test_paths_and_bad_names_are_never_used(self):
        escape = str(self.outside / "abs")
        for name in [escape, "../../../x", "../../outside/x", "Vmm", "a/b", "", "x" * 32, "1x"]:
            with self.subTest(name=name):
                build, args = self.prepare(name)
                build.assert_not_called()
                self.assertNotIn("--guest-initramfs", args)
        self.assertEqual(self.files_outside_build(), [])

    def test_real_build_writes_nothing_outside(self):
        # Without mocking build_initramfs: its output path is what matters.
        with mock.patch.object(guest, "_compile_init") as init, \
                mock.patch.object(guest, "_busybox_applets", return_value=[]), \
                mock.patch.object(guest, "BUSYBOX", self.scripts / "hello.sh"):
            init.return_value = self.scripts / "hello.sh"
            guest.prepare_for_script(self.script(str(self.outside / "abs")), "s")
            guest.prepare_for_script(self.script("../../../outside/rel"), "s")
        self.assertEqual(self.files_outside_build(), [])
        self.assertEqual(list(self.outside.iterdir()), [])

    def test_name_rule_matches_the_composer(self):
        self.assertEqual(guest.COMPONENT_NAME_RE.pattern,
                         r"^[a-z][a-z0-9_]{0,%d}$" % (limit("kMaxNameBytes") - 1))


class OverlaySourceTest(GuestDir):
    def test_dev_zero_and_fifo_are_refused_without_reading(self):
        fifo = self.scripts / "fifo"
        os.mkfifo(fifo)
        for src, what in [("/dev/zero", "a character device"), (str(fifo), "a FIFO")]:
            with self.subTest(src=src):
                problem = guest.overlay_problem([(Path(src), "/x")])
                self.assertEqual(problem, "overlay source %s is %s, not a regular file or directory"
                                 % (src, what))
                # The composer reports it with line:col; nothing is built.
                self.assertIsNone(guest._overlays({"overlays": [{"src": src, "dst": "/x"}]},
                                                  self.scripts))

    def test_directory_entries_must_be_regular(self):
        tree = self.scripts / "tree"
        (tree / "sub").mkdir(parents=True)
        (tree / "sub" / "ok").write_text("x")
        os.symlink("/etc/hostname", tree / "link")
        self.assertIsNone(guest.overlay_problem([(tree, "/t")]))
        os.mkfifo(tree / "sub" / "pipe")
        self.assertEqual(guest.overlay_problem([(tree, "/t")]),
                         "overlay source %s contains %s, which is a FIFO, not a regular file or "
                         "directory" % (tree, tree / "sub" / "pipe"))
        (tree / "sub" / "pipe").unlink()
        os.symlink("/dev/null", tree / "null")
        self.assertIn("which is a character device", guest.overlay_problem([(tree, "/t")]))

    def test_total_size_is_bounded(self):
        self.assertEqual(guest.MAX_OVERLAY_BYTES, limit("kGuestLowRamTop"))
        big = self.scripts / "big"
        with open(big, "wb") as f:  # sparse: never read
            f.truncate(guest.MAX_OVERLAY_BYTES)
        self.assertIsNone(guest.overlay_problem([(big, "/big")]))
        small = self.scripts / "one"
        small.write_bytes(b"1")
        self.assertEqual(guest.overlay_problem([(big, "/big"), (small, "/one")]),
                         "the overlays hold %d bytes, more than the largest guest RAM (%d)"
                         % (guest.MAX_OVERLAY_BYTES + 1, guest.MAX_OVERLAY_BYTES))

    def test_read_regular_never_blocks(self):
        fifo = self.scripts / "fifo"
        os.mkfifo(fifo)
        with self.assertRaises(CosError) as e:
            guest._read_regular(fifo, 100)
        self.assertIn("is a FIFO, not a regular file", e.exception.message)
        with self.assertRaises(CosError) as e:
            guest._read_regular(Path("/dev/zero"), 100)
        self.assertIn("is a character device", e.exception.message)
        data = self.scripts / "data"
        data.write_bytes(b"x" * 10)
        self.assertEqual(guest._read_regular(data, 10), b"x" * 10)
        with self.assertRaises(CosError):
            guest._read_regular(data, 9)

    def test_fifo_overlay_fails_before_the_lock(self):
        """build_initramfs with a FIFO overlay must fail at once, not block
        (while holding the lock every other cos command waits for)."""
        fifo = self.scripts / "fifo"
        os.mkfifo(fifo)
        result = {}

        def build():
            try:
                guest.build_initramfs([(fifo, "/x")], self.build / "out.cpio.gz")
                result["ok"] = True
            except CosError as e:
                result["error"] = e

        locked = []
        real_locked = guest._locked

        def spy(path, what):
            locked.append(path)
            return real_locked(path, what)

        with mock.patch.object(guest, "_compile_init", return_value=self.scripts / "hello.sh"), \
                mock.patch.object(guest, "_busybox_applets", return_value=[]), \
                mock.patch.object(guest, "BUSYBOX", self.scripts / "hello.sh"), \
                mock.patch.object(guest, "_locked", spy):
            t = threading.Thread(target=build, daemon=True)
            t.start()
            t.join(20)
            if t.is_alive():
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # unblock the reader
                os.close(fd)
                t.join(5)
                self.fail("build_initramfs blocked on a FIFO overlay")
        self.assertIn("error", result)
        self.assertEqual(result["error"].status, 2)
        self.assertIn("is a FIFO", result["error"].message)
        self.assertEqual(locked, [])

    def test_regular_overlays_still_build(self):
        with mock.patch.object(guest, "_compile_init", return_value=self.scripts / "hello.sh"), \
                mock.patch.object(guest, "_busybox_applets", return_value=[]), \
                mock.patch.object(guest, "BUSYBOX", self.scripts / "hello.sh"):
            out = guest.build_initramfs([(self.scripts / "hello.sh", "/bin/hello.sh")],
                                        self.build / "out.cpio.gz")
        self.assertTrue(stat.S_ISREG(os.stat(out).st_mode))


if __name__ == "__main__":
    unittest.main()
