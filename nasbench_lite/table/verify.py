"""`info --verify`: a table file checked against the sha256 its card records."""

from __future__ import annotations

import re
from pathlib import Path

from nasbench_lite.errors import InputError, MissingFileError
from nasbench_lite.table.card import SHA_LABEL, shipped_table
from nasbench_lite.table.ranges import file_sha256


def verify_against_card(table_path: str | Path, card: str | Path | None = None) -> str:
    """Check the file's sha256 against the one its card records; returns the digest.

    card: the card's markdown (None: the shipped card, data/README.md, for a shipped table;
    else `<stem>_card.md` next to the table). Raises MissingFileError without a card,
    InputError when the card records no sha256 or another one.
    """
    if card is None:
        from nasbench_lite.table import shipped

        stem_card = Path(table_path).with_name(f"{Path(table_path).stem}_card.md")
        card = Path(shipped.DATA_DIR) / "README.md" if shipped_table(table_path) else stem_card
    card = Path(card)
    if not card.is_file():
        raise MissingFileError(
            f"--verify: no card {card} to check {table_path} against (write one with "
            "`nasbench-lite card`, or name it with --card)"
        )
    found = re.findall(rf"\| {SHA_LABEL} \| `([0-9a-f]{{64}})` \|", card.read_text())
    if not found:
        raise InputError(f"--verify: the card {card} records no sha256 (a card written before "
                         "it was recorded; write it again with `nasbench-lite card`)")  # fmt: skip
    actual = file_sha256(table_path)
    if actual != found[0]:
        raise InputError(f"--verify: {table_path} has sha256 {actual}, its card {card} records "
                         f"{found[0]}: the file changed since the card was written")  # fmt: skip
    return actual
