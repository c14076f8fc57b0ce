"""Every command the docs show is one the code accepts, including those that never run here.

tests/test_docs_run.py runs the docs' short blocks; the blocks marked "not run" (whole tables,
hours of training, a GPU), the commands named inline in the prose and the usage lines of the
benchmark scripts' docstrings are what a user copies for the long jobs, and nothing ran them.
This reads every one of them and checks it against the argument parser it would reach,
without running anything:

- a `nasbench-lite` command names an existing subcommand, and every `--option` it gives is
  one of that subcommand's options;
- a `python benchmarks/X.py` command names an existing script, and every `--option` is one
  of the script's (its parser is captured when `main` builds it; nothing else runs);
- a complete command (a line of a code block or of a docstring's usage, with no `...`,
  `[optional]` or `<placeholder>` parts) parses as a whole: values of the right type and
  count, required arguments given.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.util
import io
import re
import shlex
import sys
from pathlib import Path

import pytest
from test_docs_run import BLOCKS, DOCS

ROOT = Path(__file__).resolve().parents[1]
INLINE = re.compile(r"`((?:nasbench-lite|python benchmarks/)[^`]*)`")
USAGE = re.compile(r"^\s+(python benchmarks/\S+.*)$", flags=re.M)
SEPARATORS = {"&&", "||", ";", "|"}


def split_line(line: str) -> list[list[str]]:
    """The commands of one shell line: words, split at && || ; |, comments dropped."""
    out: list[list[str]] = [[]]
    for word in shlex.split(line, comments=True):
        if word in SEPARATORS:
            out.append([])
        else:
            out[-1].append(word)
    return [words for words in out if words]


def shown_commands() -> list[tuple[str, list[str], bool]]:
    """(where, words, complete) of every command the docs and benchmark docstrings show."""
    found = []
    for where, kind, code, _ in BLOCKS:
        if kind == "sh":
            for line in code.replace("\\\n", " ").splitlines():
                found += [(where, words, True) for words in split_line(line)]
    for doc in DOCS:
        text = doc.read_text()
        for span in INLINE.finditer(text):
            where = f"{doc.relative_to(ROOT)}:{text.count(chr(10), 0, span.start()) + 1}"
            found += [(where, words, False) for words in split_line(span.group(1))]
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        doc = ast.get_docstring(ast.parse(script.read_text())) or ""
        for line in USAGE.findall(doc.replace("\\\n", " ")):
            where = f"{script.relative_to(ROOT)} (docstring)"
            found += [(where, words, True) for words in split_line(line)]
    return found


COMMANDS = shown_commands()


def target(words: list[str]) -> tuple[str, list[str]] | None:
    """("nasbench-lite" or the script's path, its arguments), or None for another program."""
    while words and (words[0] == "nice" or re.match(r"^\w+=", words[0])):
        words = words[3:] if words[0] == "nice" else words[1:]  # nice -n 19; VAR=value
    if words[:1] == ["nasbench-lite"]:
        return "nasbench-lite", words[1:]
    if words[:3] in (["python", "-m", "nasbench_lite"], ["python3", "-m", "nasbench_lite"]):
        return "nasbench-lite", words[3:]
    if words[:1] in (["python"], ["python3"]) and words[1:2] and words[1].endswith(".py"):
        return words[1], words[2:]
    return None


class _Captured(Exception):
    def __init__(self, parser: argparse.ArgumentParser):
        self.parser = parser


_PARSERS: dict[str, argparse.ArgumentParser] = {}


def script_parser(script: str) -> argparse.ArgumentParser:
    """The parser `script`'s main() builds: main runs until it parses, and stops there."""
    if script not in _PARSERS:
        path = ROOT / script
        name = f"_docs_commands_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)

        def capture(self, args=None, namespace=None):
            raise _Captured(self)

        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.syspath_prepend(str(path.parent))  # as `python benchmarks/X.py` runs it
                patch.setitem(sys.modules, name, module)  # dataclasses look their module up
                patch.setattr(sys, "argv", [str(path)])
                spec.loader.exec_module(module)
                patch.setattr(argparse.ArgumentParser, "parse_known_args", capture)
                module.main()
        except _Captured as captured:
            _PARSERS[script] = captured.parser
        assert script in _PARSERS, f"{script}: main() returned without parsing its arguments"
    return _PARSERS[script]


def cli_parser(args: list[str]) -> tuple[argparse.ArgumentParser, str]:
    """The parser of the nasbench-lite subcommand that `args` names (the top one if none)."""
    from nasbench_lite.cli import build_parser

    if "nasbench-lite" not in _PARSERS:
        _PARSERS["nasbench-lite"] = build_parser()
    top = _PARSERS["nasbench-lite"]
    command = next((a for a in args if not a.startswith("-")), None)
    if command is None:
        return top, "nasbench-lite"
    (sub,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    assert command in sub.choices, f"nasbench-lite has no command {command!r}"
    return sub.choices[command], f"nasbench-lite {command}"


def options(words: list[str]) -> list[str]:
    """The --options among `words`, with `[`, `]` and `=value` taken off."""
    out = []
    for word in words:
        word = word.strip("[]").split("=", 1)[0]
        if word.startswith("--") and len(word) > 2:
            out.append(word)
    return out


def complete(words: list[str]) -> bool:
    return not any("..." in w or "[" in w or "<" in w for w in words)


def parse_error(parser: argparse.ArgumentParser, args: list[str]) -> str | None:
    """What argparse says of `args`, or None if they parse."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(args)
    except SystemExit as exit:
        if exit.code:
            return err.getvalue().strip().splitlines()[-1]
    return None


CHECKED = [(w, words, c) for w, words, c in COMMANDS if target(words)]


def test_the_commands_are_found():
    """The collection reads what it should: a miss here would silently check nothing."""
    wheres = {where.split(":")[0] for where, _, _ in CHECKED}
    assert {"README.md", "docs/table.md", "docs/suite_study.md"} <= wheres
    assert any("(docstring)" in where for where in wheres)
    assert len(CHECKED) >= 150
    assert sum(c for _, _, c in CHECKED) >= 80  # complete ones, parsed as a whole
    scripts = {target(words)[0] for _, words, _ in CHECKED} - {"nasbench-lite"}
    assert len(scripts) >= 15


@pytest.mark.parametrize(
    ("where", "words", "whole"), CHECKED, ids=[f"{w}:{shlex.join(c)[:60]}" for w, c, _ in CHECKED]
)
def test_the_command_is_accepted(where, words, whole):
    program, args = target(words)
    shown = shlex.join(words)
    if program == "nasbench-lite":
        parser, name = cli_parser(args)
        whole_parser = _PARSERS["nasbench-lite"]
    else:
        assert (ROOT / program).is_file(), f"{where}: {shown}: no script {program}"
        parser = whole_parser = script_parser(program)
        name = program
    known = set(parser._option_string_actions)
    unknown = [o for o in options(args) if o not in known]
    assert not unknown, f"{where}: {shown}: {name} has no option {', '.join(unknown)}"
    if whole and complete(words):
        error = parse_error(whole_parser, args)
        assert error is None, f"{where}: {shown}: {error}"


def test_a_wrong_option_is_caught():
    """The check fails where it should: an unknown option, a missing value, a wrong command."""
    parser, name = cli_parser(["compare", "--seeds", "3"])
    assert name == "nasbench-lite compare"
    assert "--seeds" in parser._option_string_actions
    assert "--seed-count" not in parser._option_string_actions
    assert parse_error(_PARSERS["nasbench-lite"], ["compare", "--seeds"]) is not None
    assert parse_error(_PARSERS["nasbench-lite"], ["compare", "--seeds", "3"]) is None
    with pytest.raises(AssertionError, match="no command 'compair'"):
        cli_parser(["compair"])
    screen = script_parser("benchmarks/screen_resolution.py")
    assert "--sample" in screen._option_string_actions
    assert parse_error(screen, ["--sample", "ten"]) is not None
    assert options(["[--table", "FILE]", "--out=x.md", "-n", "--"]) == ["--table", "--out"]
    assert not complete(["generate", "...", "--out", "x.h5"])
