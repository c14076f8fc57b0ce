"""`info --verify`: a table file checked against the sha256 its card records."""

from __future__ import annotations

import re
from pathlib import Path

from nasbench_lite.errors import InputError, MissingFileError
from nasbench_lite.table.card import SHA_LABEL, card_title, shipped_table
from nasbench_lite.table.ranges import file_sha256


def verify_against_card(table_path: str | Path, card: str | Path | None = None) -> tuple[str, Path]:
    """Check the file's sha256 against the one its card records; returns (digest, card).

    card: the card's markdown (None: `<stem>_card.md` next to the table; for a table in the
    package's data folder without one, the folder's README.md if that card's title names the
    table, as it names the shipped cpu table). Raises MissingFileError without a card,
    InputError when the card records no sha256 or another one.
    """
    if card is None:
        card = Path(table_path).with_name(f"{Path(table_path).stem}_card.md")
        if not card.is_file() and shipped_table(table_path):
            from nasbench_lite.table import shipped

            readme = Path(shipped.DATA_DIR) / "README.md"
            if readme.is_file() and readme.read_text().startswith(card_title(table_path)):
                card = readme
    if not Path(table_path).is_file():
        raise MissingFileError(f"--verify: table file {table_path} does not exist")
    card = Path(card)
    if not card.is_file():
        raise MissingFileError(
            f"--verify: no card {card} to check {table_path} against (write one with "
            "`nasbench-lite card`, or name it with --card)"
        )
    try:
        text = card.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"--verify: {card} is not a card (not text); name the table's "
                         "markdown card with --card") from None  # fmt: skip
    found = re.findall(rf"\| {SHA_LABEL} \| `([0-9a-f]{{64}})` \|", text)
    if not found:
        raise InputError(f"--verify: the card {card} records no sha256 (a card written before "
                         "it was recorded; write it again with `nasbench-lite card`)")  # fmt: skip
    actual = file_sha256(table_path)
    if actual != found[0]:
        raise InputError(f"--verify: {table_path} has sha256 {actual}, its card {card} records "
                         f"{found[0]}: the file changed since the card was written")  # fmt: skip
    return actual, card
