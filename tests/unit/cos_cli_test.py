#!/usr/bin/env python3
"""Unit tests of the cos tool's pure logic: script resolution (`cos compose`),
the command-line parser and shell completion (tools/cos/coslib)."""

import os
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "cos"))
from coslib import build, cli, completion, steplog, systems  # noqa: E402
from coslib.common import CosError, info  # noqa: E402


class ScriptDir(unittest.TestCase):
    """A temporary composition_scripts/ and system_binaries/, and a cwd."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        root = Path(self.tmp.name)
        self.scripts = root / "composition_scripts"
        self.systems = root / "system_binaries"
        self.cwd = root / "work"
        for d in (self.scripts, self.systems, self.cwd):
            d.mkdir()
        self.write("hello.toml", 'name = "x"\n[system]\nname = "hello"\n')
        self.write("simple_vmm.toml", '[system]\nname = "vm"\ndescription = "d"\n')
        self.write("broken.toml", '[system\nname = "b"\n')
        patches = [mock.patch.object(systems, "SCRIPTS_DIR", self.scripts),
                   mock.patch.object(systems, "SYSTEMS_DIR", self.systems),
                   mock.patch.object(completion, "SYSTEMS_DIR", self.systems)]
        for p in patches:
            p.start()
            self.addCleanup(p.stop)
        self.addCleanup(self.tmp.cleanup)

    def write(self, name, text, where=None):
        path = (where or self.scripts) / name
        path.write_text(text)
        return path


class ResolveScriptTest(ScriptDir):
    def resolve(self, spec):
        return systems.resolve_script(spec, self.cwd)

    def test_path_first(self):
        self.write("hello.toml", '[system]\nname = "local"\n', where=self.cwd)
        self.assertEqual(self.resolve("hello.toml"), Path("hello.toml"))

    def test_file_name_in_scripts_dir(self):
        self.assertEqual(self.resolve("simple_vmm.toml"),
                         (self.scripts / "simple_vmm.toml").resolve())

    def test_without_toml(self):
        self.assertEqual(self.resolve("simple_vmm"),
                         (self.scripts / "simple_vmm.toml").resolve())

    def test_relative_to_cwd_when_below_it(self):
        self.assertEqual(systems.resolve_script("hello", self.scripts.parent),
                         Path("composition_scripts/hello.toml"))

    def test_ambiguous(self):
        self.write("hello", "")
        with self.assertRaises(CosError) as e:
            self.resolve("hello")
        self.assertEqual(e.exception.status, 2)
        self.assertIn("ambiguous", e.exception.message)

    def test_missing_lists_scripts_and_system_names(self):
        with self.assertRaises(CosError) as e:
            self.resolve("vm")
        self.assertEqual(e.exception.status, 2)
        msg = e.exception.message
        self.assertIn("no composition script 'vm'", msg)
        self.assertIn("system 'vm' is declared by simple_vmm.toml", msg)
        self.assertIn("hello.toml, simple_vmm.toml (system vm)", msg)

    def test_directory(self):
        (self.cwd / "d").mkdir()
        with self.assertRaisesRegex(CosError, "a directory here"):
            self.resolve("d")

    def test_empty(self):
        with self.assertRaisesRegex(CosError, "missing composition script"):
            self.resolve("")


class SystemNameTest(ScriptDir):
    def test_declared(self):
        self.assertEqual(systems.script_system_name(self.scripts / "simple_vmm.toml"), "vm")
        self.assertEqual(systems.script_system_name(self.scripts / "hello.toml"), "hello")

    def test_broken_or_missing(self):
        self.assertIsNone(systems.script_system_name(self.scripts / "broken.toml"))
        self.assertIsNone(systems.script_system_name(self.scripts / "nope.toml"))
        self.write("noname.toml", "[system]\ndescription = 'x'\n")
        self.assertIsNone(systems.script_system_name(self.scripts / "noname.toml"))


class ParseTest(unittest.TestCase):
    def test_accepts(self):
        self.assertEqual(cli.parse(["compose", "simple_vmm.toml"]).name, None)
        self.assertEqual(cli.parse(["run", "vm", "--emulator", "bochs"]).emulator, "bochs")
        self.assertEqual(cli.parse([]).command, "help")

    def test_rejects(self):
        for argv in (["nope"], ["run", "vm", "--emulator", "x"], ["help", "nope"],
                     ["bench", "fuzz", "[--calls", "N]"]):
            with self.assertRaises(cli.UsageError, msg=argv):
                cli.parse(argv)


class CompletionTest(ScriptDir):
    def complete(self, *words):
        words = ["./cos"] + list(words)
        _, cmds = cli.build_parser()
        old = os.getcwd()
        os.chdir(self.cwd)
        try:
            return completion.candidates(words, len(words) - 1, cmds)
        finally:
            os.chdir(old)

    def test_commands(self):
        self.assertEqual(self.complete("r"), ["run"])
        self.assertIn("compose", self.complete(""))

    def test_system_names(self):
        (self.systems / "mine").mkdir()
        (self.systems / ".compose-check-1").mkdir()
        self.assertEqual(self.complete("run", ""), ["broken", "hello", "mine", "vm"])

    def test_option_values(self):
        self.assertEqual(self.complete("run", "vm", "--emulator", ""), ["qemu", "bochs"])
        self.assertEqual(self.complete("run", "vm", "--emulator", "=", "b"), ["bochs"])
        self.assertEqual(self.complete("run", "vm", "--timeout", ""), [])
        self.assertEqual(self.complete("bench", ""), ["ipc", "vmexit", "fuzz", "guestfuzz", "boot", "net", "blk", "smp"])

    def test_options(self):
        self.assertEqual(self.complete("run", "vm", "--em"), ["--emulator"])

    def test_compose_script_then_declared_name(self):
        self.assertEqual(self.complete("compose", "s"), ["simple_vmm.toml"])
        self.assertEqual(self.complete("compose", "x/"), [completion.FILES])
        self.assertEqual(self.complete("compose", "simple_vmm", ""), ["vm"])
        self.assertEqual(self.complete("compose", "--help", "simple_vmm.toml", "v"), ["vm"])

    def test_help_topic(self):
        self.assertEqual(self.complete("help", "de"), ["debug"])


class ImageNamesTest(unittest.TestCase):
    def test_bare_names_and_bootloaders(self):
        data = {"component": [
            {"name": "booter", "image": "booter"},
            {"name": "vmm", "image": "simple_vmm", "guest": {"kernel": "debian-cloud"}},
            {"name": "x", "image": "../lib/custom.elf"},
            {"name": "y", "image": "pong.elf"},
            {"name": "z", "image": "booter", "guest": {"bootloader": "my/loader.img"}},
            {"name": "w", "image": "w", "guest": {"bootloader": "other.img"}},
        ]}
        self.assertEqual(build.image_names(data),
                         ["booter.elf", "simple_vmm.elf", "guest.img", "w.elf", "other.img"])

    def test_multiboot_kernel_and_modules(self):
        data = {"component": [
            {"name": "vmm", "image": "simple_vmm",
             "guest": {"kind": "multiboot", "kernel": "mbtest.elf",
                       "modules": [{"src": "files/a.txt"}, {"src": "blob.bin"}, 7]}},
        ]}
        self.assertEqual(build.image_names(data), ["simple_vmm.elf", "mbtest.elf", "blob.bin"])

    def test_odd_scripts(self):
        self.assertEqual(build.image_names({}), [])
        self.assertEqual(build.image_names({"component": "x"}), [])
        self.assertEqual(build.image_names({"component": [1, {"image": 2}]}), [])


class StepLogTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.log = Path(self.tmp.name) / "logs" / "run-x.log"

    def test_output_goes_to_the_log(self):
        with steplog.StepLog(self.log) as steps:
            shown = steps.run("building", ["sh", "-c", "echo '[1/2] cc a.c'; echo warning"])
            self.assertTrue(shown)
        text = self.log.read_text()
        self.assertIn("[1/2] cc a.c\nwarning\n", text)

    def test_idle_build_is_silent(self):
        with steplog.StepLog(self.log) as steps:
            shown = steps.run("building", ["sh", "-c", "echo '[0/2] Re-checking globbed "
                                           "directories...'; echo 'ninja: no work to do.'"])
        self.assertFalse(shown)

    def test_failure_has_tail_path_and_status(self):
        lines = "; ".join("echo line%d" % i for i in range(60))
        with self.assertRaises(CosError) as e:
            with steplog.StepLog(self.log) as steps:
                steps.run("building", ["sh", "-c", lines + "; exit 3"])
        self.assertEqual(e.exception.status, 3)
        msg = e.exception.message
        self.assertIn("building failed (exit status 3)", msg)
        self.assertIn("line59", msg)
        self.assertNotIn("line5\n", msg)  # only the tail
        self.assertIn(str(self.log), msg)

    def test_step_logs_info_lines(self):
        with steplog.StepLog(self.log) as steps:
            with steps.step("guest images"):
                info("building guest initramfs")
        self.assertIn("cos: building guest initramfs", self.log.read_text())


if __name__ == "__main__":
    unittest.main()
