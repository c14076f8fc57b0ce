"""Plot styles: a strategy keeps its colour and line style in every plot, whichever strategies
it is drawn with and in whatever order."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from nasbench_lite.compare import plots
from nasbench_lite.compare import statistics as stats

# The registry names of the design, built or planned.
REGISTRY_NAMES = (
    "random_sampling random_search regularized_evolution local_search reinforce ppo bananas "
    "gp_bo tpe hyperband bohb darts gdas enas rsps mo_regularized_evolution nsga2 motpe "
    "random_scalarization"
).split()


def results(names: list[str], seeds: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for name in names:
        for seed in range(seeds):
            regret = np.sort(rng.uniform(0, 0.2, 4))[::-1]
            for k, r in enumerate(regret, start=1):
                rows.append((name, seed, 10.0 * k, k, 0.8, 0.8, float(r)))
    return pd.DataFrame(rows, columns=list(stats.RESULT_COLUMNS))


def drawn_styles(frame: pd.DataFrame) -> dict[str, tuple[str, object]]:
    """{strategy: (colour, linestyle)} of the curves of a regret-vs-evaluations figure."""
    fig = plots._anytime(frame, "evals", plots.evals_grid(frame), "evaluations", "t")
    lines = fig.axes[0].get_lines()
    return {
        line.get_label().split(" (n=")[0]: (to_hex(line.get_color()), line.get_linestyle())
        for line in lines
    }


def test_every_registry_name_has_its_own_fixed_style():
    styles = [tuple(plots.strategy_style(name).values()) for name in REGISTRY_NAMES]
    assert set(REGISTRY_NAMES) == set(plots.STRATEGY_STYLES)
    assert len(set(styles)) == len(REGISTRY_NAMES)  # no two share colour and line style


def test_a_strategy_looks_the_same_in_any_company():
    alone = drawn_styles(results(["random_search"]))
    many = drawn_styles(results(["tpe", "local_search", "zz_mine", "random_search"]))
    other = drawn_styles(results(["zz_mine", "random_search", "bananas"]))
    assert alone["random_search"] == many["random_search"] == other["random_search"]
    assert many["zz_mine"] == other["zz_mine"]
    assert len(set(many.values())) == len(many)
    colour, _ = plots.STRATEGY_STYLES["random_search"]
    assert alone["random_search"] == (colour, "-")


@pytest.mark.parametrize("name", ["my_search", "sweep", "ext_greedy_mutation"])
def test_an_unknown_name_gets_a_style_stable_across_processes(name):
    style = plots.strategy_style(name)
    assert style["color"] in plots.HASHED_COLOURS
    assert style["linestyle"] in plots.HASHED_LINESTYLES  # none of the fixed styles' dashes
    code = (
        f"from nasbench_lite.compare.plots import strategy_style; print(strategy_style({name!r}))"
    )
    out = subprocess.run(  # another process, another str-hash salt
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == str(style)
