"""The command line's argparse pieces: a help formatter that shows defaults, a parser whose
mistakes are one line, each command's sub-parser with its example, and the options whose
value may start with "-"."""

from __future__ import annotations

import argparse
from typing import NoReturn

from nasbench_lite.commands.examples import EXAMPLES


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (unless None, False or already in its help) and keeps the
    examples' line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        if action.default is None or action.default is False or "default" in help_text:
            return help_text
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An argument mistake is one line naming the option and the problem, and where the
    options are listed, instead of argparse's whole usage block above it (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (options: {self.prog} --help)\n")


def add_command(sub, name: str, help_text: str) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=help_text,
        description=help_text[:1].upper() + help_text[1:] + ".",
        epilog=f"example:\n  {EXAMPLES[name]}",
        formatter_class=HelpFormatter,
        allow_abbrev=False,  # --seed must never be taken for --seeds
    )


# Options whose value may start with "-" (a negative budget is refused by the library with
# a message naming it; argparse would otherwise take "-10evals" for an option).
VALUE_OPTIONS = ("--budget",)


def values_after(argv: list[str], options: tuple[str, ...]) -> list[str]:
    """`argv` with "OPTION VALUE" joined as "OPTION=VALUE" for the `options` given."""
    out, words = [], iter(argv)
    for word in words:
        if word in options:
            value = next(words, None)
            out.append(word if value is None else f"{word}={value}")
        else:
            out.append(word)
    return out
