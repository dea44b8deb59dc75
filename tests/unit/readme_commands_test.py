#!/usr/bin/env python3
"""Unit tests of tests/integration/readme_commands.py (what docs_test runs)."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import readme_commands as rc  # noqa: E402

README = """\
# title

## Quick start

Intro with `./cos run vm` in prose and `cmake --build x` (not cos).

```sh
./cos run vm        # a comment
# a comment line

printf 'a\\nb\\n' | ./cos run vm --emulator bochs
./cos compose \\
    hello.toml hello
```

```text
./cos not-a-shell-block
```

## Workflow step by step

`./cos <command> --help` is a template.

| step | command | what it does |
|---|---|---|
| build | `./cos build` | runs `cmake --build` and mentions `./cos run` |
| | `./cos bench boot --emulator qemu`, `./cos x \\| y` | two spans |

after the table `./cos help`

## Other

```sh
./cos never
```
"""


class ExtractTest(unittest.TestCase):
    def setUp(self):
        self.commands, self.templates = rc.extract(README)
        self.texts = [c.text for c in self.commands]

    def test_commands_in_document_order(self):
        self.assertEqual(self.texts, [
            "./cos run vm",
            "./cos run vm        # a comment",
            "printf 'a\\nb\\n' | ./cos run vm --emulator bochs",
            "./cos compose hello.toml hello",
            "./cos build",
            "./cos bench boot --emulator qemu",
            "./cos x | y",
            "./cos help",
        ])

    def test_where_and_lines(self):
        by_text = {c.text: c for c in self.commands}
        self.assertEqual(by_text["./cos run vm"].where, "prose")
        self.assertEqual(by_text["./cos run vm"].line, 5)
        self.assertEqual(by_text["./cos compose hello.toml hello"].where, "fenced")
        self.assertEqual(by_text["./cos compose hello.toml hello"].line, 12)
        self.assertEqual(by_text["./cos build"].where, "table")
        self.assertEqual(by_text["./cos build"].section, "Workflow step by step")

    def test_other_table_columns_and_sections_are_not_commands(self):
        self.assertNotIn("./cos run", self.texts)
        self.assertNotIn("./cos never", self.texts)
        self.assertNotIn("./cos not-a-shell-block", self.texts)
        self.assertFalse(any(t.startswith("cmake") for t in self.texts))

    def test_templates(self):
        self.assertEqual([t.text for t in self.templates], ["./cos <command> --help"])

    def test_missing_section(self):
        with self.assertRaisesRegex(ValueError, "no section '## Quick start'"):
            rc.extract("## Other\n")

    def test_unclosed_fence(self):
        with self.assertRaisesRegex(ValueError, "not closed"):
            rc.extract("## Quick start\n```sh\n./cos run vm\n")

    def test_redirect_is_not_a_template(self):
        self.assertFalse(rc.is_template("./cos run hello --timeout 60 < /dev/null"))
        self.assertTrue(rc.is_template("./cos run <name>"))


class RowTest(unittest.TestCase):
    def test_escaped_pipe(self):
        self.assertEqual(rc.split_table_row("| a | `x \\| y` | c |"), ["a", "`x | y`", "c"])

    def test_not_a_row(self):
        self.assertIsNone(rc.split_table_row("text | with a bar"))


class InvocationTest(unittest.TestCase):
    def inv(self, line):
        return [(i.argv, i.stdin) for i in rc.cos_invocations(line)]

    def test_plain(self):
        self.assertEqual(self.inv("./cos run vm"), [(["run", "vm"], "terminal")])

    def test_pipe_and_comment(self):
        self.assertEqual(self.inv("printf 'x | y\\n' | ./cos run vm  # prints 42"),
                         [(["run", "vm"], "pipe")])

    def test_input_redirect(self):
        self.assertEqual(self.inv("./cos run hello --timeout 60 < /dev/null"),
                         [(["run", "hello", "--timeout", "60"], "file")])

    def test_output_redirects_keep_stdin(self):
        self.assertEqual(self.inv("./cos run hello > out.txt 2>/dev/null"),
                         [(["run", "hello"], "terminal")])

    def test_and_list(self):
        self.assertEqual(self.inv("./cos build && ./cos compose simple_vmm.toml vm"),
                         [(["build"], "terminal"),
                          (["compose", "simple_vmm.toml", "vm"], "terminal")])

    def test_other_programs(self):
        self.assertEqual(self.inv("echo ./cos; source tools/cos/completion.bash"), [])

    def test_unclosed_quote(self):
        with self.assertRaises(ValueError):
            rc.cos_invocations("./cos run 'vm")


if __name__ == "__main__":
    unittest.main()
