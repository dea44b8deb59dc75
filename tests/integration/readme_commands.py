"""The shell commands README.md shows a new user, extracted for docs_test.py.

What counts as a command, in the level-2 sections named in SECTIONS:
  * every line of a fenced ```sh / ```bash / ```shell block (a trailing
    backslash joins the next line; blank and comment-only lines are skipped);
  * in a Markdown table with a column headed "command": every code span in
    that column (the other columns explain; a `./cos run` there is a
    reference, not a command to type);
  * in prose (outside tables): code spans that start with `./cos `.
Inline commands that contain a `<placeholder>` (`./cos run <name>`) are
templates, not commands; they are returned separately so the test can list
them. A `\\|` inside a table cell is a literal `|` (GitHub-flavoured Markdown).

Only the standard library; unit-tested by tests/unit/readme_commands_test.py.
"""

import re
import shlex

SECTIONS = ("Quick start", "Workflow step by step")
FENCE_RE = re.compile(r"^(```+|~~~+)\s*([A-Za-z0-9_-]*)")
SHELL_LANGS = {"sh", "bash", "shell"}
CODE_SPAN_RE = re.compile(r"(`+)(.+?)\1")
PLACEHOLDER_RE = re.compile(r"<[A-Za-z][A-Za-z0-9_. -]*>")
COS_PREFIX = "./cos "
# Shell operators that end one simple command (shlex punctuation tokens).
OPERATORS = {"|", "||", "&&", ";", "&", "|&", "(", ")"}
REDIRECTS = {"<", ">", ">>", "<<", "<<<", ">&", "<&", "&>", "2>", "2>>"}


class Command:
    """One command found in the README.

    text     the command as shown (to be run verbatim by bash)
    line     1-based line number in README.md
    section  the level-2 heading it is under
    where    "fenced", "table" or "prose"
    """

    def __init__(self, text, line, section, where):
        self.text = text
        self.line = line
        self.section = section
        self.where = where

    def __repr__(self):
        return "Command(%r, line %d, %s)" % (self.text, self.line, self.where)


def split_sections(markdown):
    """{heading: [(line number, line), ...]} for each level-2 (`## `) section."""
    sections, current = {}, None
    for number, line in enumerate(markdown.splitlines(), 1):
        if line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append((number, line))
    return sections


def split_table_row(line):
    """The cells of a Markdown table row, `\\|` unescaped; None if not a row."""
    stripped = line.strip()
    if not stripped.startswith("|"):
        return None
    cells, cell, i = [], "", 1
    while i < len(stripped):
        ch = stripped[i]
        if ch == "\\" and i + 1 < len(stripped) and stripped[i + 1] == "|":
            cell += "|"
            i += 2
            continue
        if ch == "|":
            cells.append(cell.strip())
            cell = ""
        else:
            cell += ch
        i += 1
    if cell.strip():
        cells.append(cell.strip())
    return cells


def code_spans(text):
    """The contents of the inline code spans in `text`, in order."""
    return [m.group(2).strip() for m in CODE_SPAN_RE.finditer(text)]


def is_template(command):
    """True when `command` has a `<placeholder>` (a redirection `< file` has a space)."""
    return bool(PLACEHOLDER_RE.search(command))


def extract(markdown, sections=SECTIONS):
    """(commands, templates): the Commands of the named sections in document
    order, and the inline templates (Commands too) that were not taken.
    Raises ValueError when a named section is missing or a fence is not closed."""
    found = split_sections(markdown)
    commands, templates = [], []
    for name in sections:
        if name not in found:
            raise ValueError("README.md has no section '## %s'" % name)
        _extract_section(name, found[name], commands, templates)
    commands.sort(key=lambda c: c.line)
    return commands, templates


def _extract_section(name, lines, commands, templates):
    fence, lang, pending, pending_line = None, "", "", 0
    header = None  # the current table's header cells
    for number, line in lines:
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
                continue
            if lang not in SHELL_LANGS:
                continue
            text = line.strip()
            if pending:
                text = pending + " " + text
            else:
                pending_line = number
            if text.endswith("\\"):
                pending = text[:-1].rstrip()
                continue
            pending = ""
            if text and not text.startswith("#"):
                commands.append(Command(text, pending_line, name, "fenced"))
            continue
        m = FENCE_RE.match(line.strip())
        if m:
            fence, lang, header = m.group(1), m.group(2).lower(), None
            continue
        cells = split_table_row(line)
        if cells is None:
            header = None
            _inline(line, number, name, "prose", commands, templates)
            continue
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if all(set(c) <= set(":- ") for c in cells):
            continue  # the |---|---| delimiter row
        for i, cell in enumerate(cells):
            if i < len(header) and header[i] == "command":
                for span in code_spans(cell):
                    commands.append(Command(span, number, name, "table"))
    if fence is not None:
        raise ValueError("section '%s': a ``` block is not closed" % name)


def _inline(text, number, section, where, commands, templates):
    for span in code_spans(text):
        if span.startswith(COS_PREFIX):
            command = Command(span, number, section, where)
            (templates if is_template(span) else commands).append(command)


class Invocation:
    """One `./cos` simple command inside a shell line.

    argv      the words after `./cos`
    stdin     where its standard input comes from: "terminal" (inherited),
              "pipe" (after `|`) or "file" (a `<` redirection)
    """

    def __init__(self, argv, stdin):
        self.argv = argv
        self.stdin = stdin

    def __repr__(self):
        return "Invocation(%r, stdin=%s)" % (self.argv, self.stdin)


def cos_invocations(command, names=("./cos",)):
    """The `./cos` simple commands of a shell line, as Invocations.

    `printf 'x' | ./cos run vm --timeout 5 < /dev/null` -> [Invocation(["run",
    "vm", "--timeout", "5"], stdin="file")]. Raises ValueError for a line
    shlex cannot split (e.g. an unclosed quote).
    """
    lexer = shlex.shlex(command, posix=True, punctuation_chars="|&;<>()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    tokens = list(lexer)
    result, current, after_pipe, i = [], None, False, 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.isdigit() and nxt in REDIRECTS and (tok + nxt) in command:
            op, fd, i = nxt, tok, i + 3  # `2> file`: fd, operator, file
        elif tok in REDIRECTS:
            op, fd, i = tok, None, i + 2  # operator, file
        else:
            op, fd, i = None, None, i + 1
        if op is not None:
            if op.startswith("<") and fd in (None, "0") and isinstance(current, Invocation):
                current.stdin = "file"
        elif tok in OPERATORS:
            current, after_pipe = None, tok in ("|", "|&")
        elif current is None:
            if tok in names:
                current = Invocation([], "pipe" if after_pipe else "terminal")
                result.append(current)
            else:
                current = False  # another program's words
            after_pipe = False
        elif current is not False:
            current.argv.append(tok)
    return result
