"""`nasbench-lite suite-card`: how the suite's tasks agree, from their tables."""

from __future__ import annotations

import argparse


def cmd_suite_card(args: argparse.Namespace) -> int:
    """Open every task's table and write the suite card (`table.suite_card`)."""
    from nasbench_lite.table.reader import Table
    from nasbench_lite.table.shipped import DATA_DIR, TASK_TABLES, task_tables
    from nasbench_lite.table.suite_card import write_suite_card

    names = args.tasks or [t for t, f in TASK_TABLES.items() if (DATA_DIR / f).is_file()]
    missing = {} if args.tasks else {t: f for t, f in TASK_TABLES.items() if t not in names}
    found = task_tables(names)
    tables = {label: Table.open(path) for label, path in found}
    path = write_suite_card(tables, args.out, missing, force=args.force)
    print(f"suite card: {path} ({len(tables)} tasks: {', '.join(tables)})")
    return 0
