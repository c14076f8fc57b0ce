"""Small helpers for the words of messages and reports."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """The count with thousands separators and the noun in the number it needs:
    "1 strategy", "2 strategies", "5,044 rows". `nouns`: an irregular plural form."""
    if count == 1:
        return f"1 {noun}"
    if nouns is None:
        if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
            nouns = noun[:-1] + "ies"
        elif noun.endswith(("s", "x", "sh")):
            nouns = noun + "es"
        else:
            nouns = noun + "s"
    return f"{count:,} {nouns}"
