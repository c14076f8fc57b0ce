"""`nasbench-lite surrogate fit` and `surrogate eval`: fit an XGBoost surrogate of a table
(the shipped one by default), or score a saved one (the shipped one by default) on its
held-out classes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nasbench_lite.commands import table_path
from nasbench_lite.errors import InputError, OutputExistsError
from nasbench_lite.outputs import check_writable_dir

FIGURES = (
    ("classes", "held-out classes scored", "{:d}"),
    ("r2", "R²", "{:.4f}"),
    ("mae", "MAE (fraction)", "{:.4f}"),
    ("kendall", "Kendall tau", "{:.4f}"),
    ("sparse_kendall", "sparse Kendall tau (0.1 pp)", "{:.4f}"),
    ("spearman", "Spearman", "{:.4f}"),
    ("top10_kendall", "Kendall tau, top 10%", "{:.4f}"),
    ("coverage68", "seeds inside the 68% interval", "{:.3f}"),
    ("coverage95", "seeds inside the 95% interval", "{:.3f}"),
    ("surrogate_mae_to_other_seeds", "MAE of the surrogate to a leave-one-out seed mean", "{:.4f}"),
    ("leave_one_out_mae", "MAE of one seed to the other seeds' mean", "{:.4f}"),
    (
        "surrogate_kendall_to_other_seeds",
        "Kendall tau of the surrogate to a leave-one-out mean",
        "{:.4f}",
    ),
    ("ceiling_kendall", "Kendall tau of one seed to the others' mean", "{:.4f}"),
)


def cmd_surrogate(args: argparse.Namespace) -> int:
    from nasbench_lite.surrogate.model import Surrogate
    from nasbench_lite.table.reader import Table

    fit_only = (("--out", args.out), ("--force", args.force), ("--related", args.related),
                ("--train-fraction", args.train_fraction is not None),
                ("--seed", args.seed is not None))  # fmt: skip
    eval_only = (("--model", args.model), ("--json", args.json))
    wrong = [name for name, given in (eval_only if args.action == "fit" else fit_only) if given]
    if wrong:
        other = "eval" if args.action == "fit" else "fit"
        raise InputError(f"{' and '.join(wrong)}: for surrogate {other}; {args.action} ignores it")
    table = Table.open(table_path(args.table))
    if args.action == "fit":
        if not args.out:
            raise InputError("surrogate fit needs --out MODEL_DIR")
        out = Path(args.out)
        if out.is_dir() and any(out.iterdir()) and not args.force:
            raise OutputExistsError(f"--out {out}: not empty; pass --force to replace the model")
        check_writable_dir(out, "--out")  # before the fit, which takes minutes
        related = [Table.open(table_path(name)) for name in args.related]
        fraction = 0.1 if args.train_fraction is None else args.train_fraction
        model = Surrogate.fit(
            table, train_fraction=fraction, seed=args.seed or 0, related=related,
            progress=lambda message: print(message, file=sys.stderr, flush=True),
        )  # fmt: skip
        model.save(out)
        print(f"wrote {out}: {model!r}, fitted in {model.meta['fit_seconds']:.1f} s")
        return 0
    from nasbench_lite.surrogate.quality import evaluate
    from nasbench_lite.table.shipped import default_model_path

    # Like compare --backend surrogate and make_benchmark("surrogate"): the table's shipped
    # model unless one is named.
    model = Path(args.model) if args.model else default_model_path(table.source)
    figures = evaluate(Surrogate.load(model), table)
    if args.json:
        print(json.dumps(figures, indent=1, sort_keys=True))
        return 0
    print(f"{model} on {table.source}, held-out classes, final {figures['metric']}:")
    for key, label, fmt in FIGURES:
        print(f"  {label:<52} {fmt.format(figures[key])}")
    return 0
