#!/usr/bin/env python3
"""Unit tests of how `cos run` judges a run (tools/cos/coslib: outcome.py,
qemu.classify, bochs.classify): the kernel's markers, the emulators' exit
paths, and an essential component's stop turned into its own status."""

import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "cos"))
from coslib import bochs, qemu  # noqa: E402
from coslib.console import LineScanner, SessionResult  # noqa: E402

STOP_LINE = (b"cos: shutdown: essential component 'simple_vmm' stopped (status 4): "
             b"allocating guest RAM: vm_map failed: out_of_memory (error -7)\n")


def scanner_of(text):
    s = LineScanner()
    s.feed(text)
    s.finish()
    return s


def result(returncode):
    r = SessionResult()
    r.returncode = returncode
    return r


class FakeRelay:
    lines = []

    def last(self):
        return ""


class Watcher:
    """A LogWatcher stand-in with a fixed first event."""

    def __init__(self, kind, detail=""):
        self.event = (kind, detail)
        self.path = "bochs.log"

    def first_event(self):
        return self.event


class QemuClassifyTest(unittest.TestCase):
    def classify(self, serial, rc):
        with tempfile.TemporaryDirectory() as d:
            return qemu.classify(result(rc), scanner_of(serial), Path(d) / "qemu.log", FakeRelay(), 0)

    def test_clean(self):
        self.assertIsNone(self.classify(b"cos: shutdown: clean\n", 33))

    def test_essential_component_stop_gives_its_status(self):
        v = self.classify(b"booter: all components started\n" + STOP_LINE, 37)
        self.assertEqual(v.status, 4)
        self.assertEqual(v.reason, "simple_vmm: allocating guest RAM: vm_map failed: "
                                   "out_of_memory (error -7)")

    def test_guest_statuses_pass_through(self):
        for status in (6, 8, 10, 7, 255):
            line = b"cos: shutdown: essential component 'vm' stopped (status %d): why\n" % status
            v = self.classify(line, 37)
            self.assertEqual((v.status, v.reason), (status, "vm: why"))

    def test_last_stop_line_counts(self):
        # The kernel's line comes last; an earlier one is a component's echo.
        v = self.classify(b"cos: shutdown: essential component 'x' stopped (status 8): echo\n"
                          + STOP_LINE, 37)
        self.assertEqual(v.status, 4)

    def test_echoed_stop_line_does_not_spoil_a_clean_run(self):
        self.assertIsNone(self.classify(STOP_LINE + b"cos: shutdown: clean\n", 33))

    def test_exit_37_without_the_line_fails(self):
        v = self.classify(b"cos: component 'x' exited with status 1: y\n", 37)
        self.assertEqual(v.status, 1)
        self.assertIn("never said which", v.reason)

    def test_stop_line_without_the_exit_path_fails(self):
        v = self.classify(STOP_LINE, 0)
        self.assertEqual(v.status, 1)
        self.assertIn("not through the kernel's exit path", v.reason)

    def test_panic_wins(self):
        v = self.classify(b"cos: PANIC: oops\n" + STOP_LINE, 37)
        self.assertEqual(v.status, 1)
        self.assertIn("kernel panic", v.reason)

    def test_non_essential_exit_is_not_a_stop(self):
        serial = b"cos: component 'ping' exited with status 1: main returned 1\ncos: shutdown: clean\n"
        self.assertIsNone(self.classify(serial, 33))


class BochsClassifyTest(unittest.TestCase):
    def classify(self, serial, kind):
        return bochs.classify(result(1), scanner_of(serial), Watcher(kind), "console.log", 0)

    def test_clean(self):
        self.assertIsNone(self.classify(b"cos: shutdown: clean\n", "shutdown"))

    def test_essential_component_stop(self):
        v = self.classify(STOP_LINE, "shutdown")
        self.assertEqual(v.status, 4)
        self.assertTrue(v.reason.startswith("simple_vmm: allocating guest RAM"))

    def test_the_last_shutdown_line_decides(self):
        self.assertIsNone(self.classify(STOP_LINE + b"cos: shutdown: clean\n", "shutdown"))
        v = self.classify(b"cos: shutdown: clean\n" + STOP_LINE, "shutdown")
        self.assertEqual(v.status, 4)

    def test_stop_line_then_reset_fails(self):
        self.assertEqual(self.classify(STOP_LINE, "reset").status, 1)


class LineScannerTest(unittest.TestCase):
    def test_stop_line_parts(self):
        s = scanner_of(b"\x1b[0m" + STOP_LINE.replace(b"\n", b"\r\n"))
        self.assertEqual(s.stopped, ("simple_vmm", 4, "allocating guest RAM: vm_map failed: "
                                                      "out_of_memory (error -7)"))

    def test_unterminated_stop_line(self):
        s = scanner_of(STOP_LINE.rstrip(b"\n"))
        self.assertEqual(s.stopped[1], 4)


if __name__ == "__main__":
    unittest.main()
