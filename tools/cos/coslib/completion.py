"""Shell completion for `cos` (`cos __complete`, used by tools/cos/completion.bash).

The candidates come from the same argparse parser that `cos` uses, so
commands, options and option choices never drift from the CLI; script and
system names come from composition_scripts/ and system_binaries/.

Protocol: `cos __complete <cword> <word0> <word1> ...` with bash's COMP_CWORD
and COMP_WORDS; prints one candidate per line, each starting with the word
being completed, and the line `@files` when file names fit as well (the bash
side then adds `compgen -f` results): for `cos compose`'s script when the
word has a '/' or matches no script in composition_scripts/.
"""

import sys

from .common import ARCHES, SYSTEMS_DIR
from . import systems

FILES = "@files"


def system_names():
    """Names `cos run` accepts: composed systems and the [system] names the
    scripts declare, sorted and unique."""
    names = {p.name for p in SYSTEMS_DIR.glob("*") if p.is_dir() and not p.name.startswith(".")}
    for script in systems.script_files():
        declared = systems.script_system_name(script)
        names.add(declared if declared else script.stem)
    return sorted(names)


def script_names():
    """File names of composition_scripts/*.toml (what `cos compose` resolves)."""
    return [p.name for p in systems.script_files()]


def _takes_value(action):
    return bool(action.option_strings) and action.nargs != 0


def _split_words(words, cword):
    """(previous words after the command, the word being completed, the option
    whose value it is or None), undoing bash's split of `--opt=value` at '='."""
    cur = words[cword] if cword < len(words) else ""
    before = list(words[2:cword])
    if cur == "=" and before:
        return before[:-1], "", before[-1]
    if len(before) >= 2 and before[-1] == "=":
        return before[:-2], cur, before[-2]
    return before, cur, None


def candidates(words, cword, parser_cmds):
    """Completion candidates for bash's COMP_WORDS `words` at index `cword`.

    `parser_cmds` is {command: argparse parser} from cli.build_parser().
    Returns a list of strings; FILES among them asks for file names too.
    """
    if cword < 1:
        return []
    if cword == 1:
        cur = words[1] if len(words) > 1 else ""
        return [c for c in list(parser_cmds) + ["--help"] if c.startswith(cur)]
    command = words[1]
    parser = parser_cmds.get(command)
    if parser is None:
        return []
    before, cur, value_of = _split_words(words, cword)
    options = {}
    for action in parser._actions:
        for flag in action.option_strings:
            options[flag] = action
    if value_of is None and before and before[-1] in options \
            and _takes_value(options[before[-1]]):
        value_of = before[-1]
    if value_of is not None:
        action = options.get(value_of)
        choices = list(action.choices) if action is not None and action.choices else []
        return [c for c in choices if c.startswith(cur)]
    if cur.startswith("-"):
        flags = [f for a in parser._actions for f in a.option_strings
                 if f.startswith("--") or len(a.option_strings) == 1]
        return sorted(f for f in flags if f.startswith(cur))
    # The index of the positional argument being completed.
    position, skip = 0, False
    for word in before:
        if skip:
            skip = False
        elif word in options:
            skip = _takes_value(options[word])
        elif word.startswith("-") and "=" in word:
            pass
        elif not word.startswith("-"):
            position += 1
    found = [c for c in positional(command, position, before, parser, parser_cmds)
             if c == FILES or c.startswith(cur)]
    if FILES in found and "/" not in cur and len(found) > 1:
        found.remove(FILES)  # a script name matches: no need for every file here
    return found


def positional(command, position, before, parser, parser_cmds):
    """Candidates for positional argument number `position` (0-based) of
    `command`, given the words typed `before` it after the command."""
    if command == "help":
        return list(parser_cmds) if position == 0 else []
    if command == "compose":
        if position == 0:
            return script_names() + [FILES]
        if position == 1:
            given = [w for w in before if not w.startswith("-")]
            declared = None
            if given:
                try:
                    declared = systems.script_system_name(systems.resolve_script(given[0]))
                except Exception:  # an unresolvable script: no suggestion
                    declared = None
            return [declared] if declared else system_names()
        return []
    if command in ("run", "debug"):
        return system_names() if position == 0 else []
    if command == "init":
        return list(ARCHES) if position == 0 else []
    positionals = [a for a in parser._actions if not a.option_strings and a.choices]
    if position < len(positionals):
        return list(positionals[position].choices)
    return []


def main(argv, parser_cmds):
    """`cos __complete <cword> <words...>`: print the candidates; exit status 0."""
    try:
        cword = int(argv[0])
    except (IndexError, ValueError):
        return 2
    for c in candidates(argv[1:], cword, parser_cmds):
        sys.stdout.write(c + "\n")
    return 0
