#!/usr/bin/env python3
"""Unit tests of the console pieces of `cos run` (tools/cos/coslib): the
Ctrl-A escape decoder, the cursor-query filter and the terminal mode."""

import os
import sys
import termios
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "cos"))
from coslib import console, escape  # noqa: E402
from coslib.escape import HELP, QUIT, EscapeDecoder, Unknown  # noqa: E402


class EscapeDecoderTest(unittest.TestCase):
    def test_plain_bytes_and_control_keys_pass(self):
        self.assertEqual(EscapeDecoder().feed(b"ls\r\x03\x1a\x1c"), [b"ls\r\x03\x1a\x1c"])

    def test_quit_drops_the_rest(self):
        self.assertEqual(EscapeDecoder().feed(b"ab\x01xcd"), [b"ab", QUIT])

    def test_help_and_literal_ctrl_a(self):
        self.assertEqual(EscapeDecoder().feed(b"a\x01hb\x01\x01c"), [b"a", HELP, b"b\x01\x01c"])

    def test_focus_keys_go_to_the_kernel_whole(self):
        self.assertEqual(EscapeDecoder().feed(b"\x012ls\x018\x019"),
                         [b"\x012ls\x018", Unknown(ord("9"))])

    def test_unknown_key_is_not_sent(self):
        self.assertEqual(EscapeDecoder().feed(b"\x01zq"), [Unknown(ord("z")), b"q"])

    def test_escape_split_across_reads(self):
        d = EscapeDecoder()
        self.assertEqual(d.feed(b"abc\x01"), [b"abc"])
        self.assertEqual(d.feed(b"x"), [QUIT])
        d = EscapeDecoder()
        self.assertEqual(d.feed(b"\x01"), [])
        self.assertEqual(d.feed(b"\x01"), [b"\x01\x01"])

    def test_key_names(self):
        self.assertEqual(escape.key_name(ord("z")), "z")
        self.assertEqual(escape.key_name(0x02), "Ctrl-B")
        self.assertEqual(escape.key_name(0x7f), "0x7f")


class CursorQueryFilterTest(unittest.TestCase):
    def test_removes_query(self):
        f = console.CursorQueryFilter()
        self.assertEqual(f.feed(b"~ # \x1b[6nls"), b"~ # ls")

    def test_query_split_across_chunks(self):
        f = console.CursorQueryFilter()
        self.assertEqual(f.feed(b"~ # \x1b["), b"~ # ")
        self.assertEqual(f.feed(b"6"), b"")
        self.assertEqual(f.feed(b"nx"), b"x")

    def test_other_escapes_kept(self):
        f = console.CursorQueryFilter()
        self.assertEqual(f.feed(b"\x1b[6m\x1b[A"), b"\x1b[6m\x1b[A")
        self.assertEqual(f.feed(b"end\x1b"), b"end")
        self.assertEqual(f.flush(), b"\x1b")


class TerminalModeTest(unittest.TestCase):
    def setUp(self):
        self.master, self.slave = os.openpty()
        self.addCleanup(os.close, self.master)
        self.addCleanup(os.close, self.slave)

    def test_console_mode_and_restore(self):
        before = termios.tcgetattr(self.slave)
        with console.TerminalMode(self.slave) as mode:
            self.assertTrue(mode.active)
            lflag = termios.tcgetattr(self.slave)[3]
            self.assertFalse(lflag & (termios.ISIG | termios.ICANON | termios.ECHO))
            self.assertTrue(termios.tcgetattr(self.slave)[1] & termios.OPOST)
            mode.suspend()
            self.assertEqual(termios.tcgetattr(self.slave), before)
            mode.resume()
            self.assertFalse(termios.tcgetattr(self.slave)[3] & termios.ISIG)
        self.assertEqual(termios.tcgetattr(self.slave), before)

    def test_restored_after_exception(self):
        before = termios.tcgetattr(self.slave)
        with self.assertRaises(RuntimeError):
            with console.TerminalMode(self.slave):
                raise RuntimeError("boom")
        self.assertEqual(termios.tcgetattr(self.slave), before)

    def test_not_a_terminal(self):
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        with console.TerminalMode(r) as mode:
            self.assertFalse(mode.active)


if __name__ == "__main__":
    unittest.main()
