"""benchmarks/surrogate_quality.py's targets section: verdicts and the baselines' gaps come
from the figures of the run, whatever table it reads."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "surrogate_quality", ROOT / "benchmarks/surrogate_quality.py"
)
quality = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(quality)


def figures(tau: float, forest: float, ridge: float) -> dict:
    """Two repeats at 10% and one at 50%, as `main` keys them ("fraction/seed")."""
    row = {
        "kendall": tau, "ceiling_kendall": 0.77, "surrogate_mae_to_other_seeds": 0.018,
        "surrogate_kendall_to_other_seeds": tau - 0.01,
        "leave_one_out_mae": 0.021, "fit_seconds": 4.0, "coverage68": 0.8, "coverage95": 0.96,
        "baselines": {"random forest": {"kendall": forest}, "ridge (one-hot)": {"kendall": ridge}},
    }  # fmt: skip
    other = {
        **row,
        "kendall": tau + 0.02,
        "baselines": {
            "random forest": {"kendall": forest + 0.02},
            "ridge (one-hot)": {"kendall": ridge + 0.02},
        },
    }
    return {"0.1/0": row, "0.1/1": other, "0.5/0": {**row, "kendall": 0.99}}


def test_baselines_are_read_from_the_run():
    found = figures(0.70, 0.60, 0.50)
    assert abs(quality.baseline_at(found, 0.1, "random forest") - 0.61) < 1e-12
    assert abs(quality.baseline_at(found, 0.1, "ridge (one-hot)") - 0.51) < 1e-12
    assert quality.baseline_at(found, 0.25, "random forest") != quality.baseline_at(
        found, 0.25, "random forest"
    )  # NaN: no repeat at that fraction
    text = "\n".join(quality.targets_section(found, {}))
    assert "random forest on the same features scores -0.100" in text
    assert "ridge regression on the one-hot encoding -0.200" in text
    assert (
        "| 0.710 (against a leave-one-out seed mean 0.690, where one seed ranks the others' "
        "mean at 0.770) | missed by 0.140 |" in text
    )
    assert "1.800 pp against 2.100 pp | met |" in text
    assert "within 0.01 of XGBoost" not in text  # no figure of another table


def test_a_run_without_the_ten_percent_fraction_says_so():
    found = {"0.5/0": figures(0.7, 0.6, 0.5)["0.5/0"]}
    text = "\n".join(quality.targets_section(found, {}))
    assert "(not measured at 10% in this run)" in text
    assert "Kendall tau >= 0.85" not in text
