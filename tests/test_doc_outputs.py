"""The docs' sample outputs are what the commands print now: every ```console block of
README.md and docs/*.md, run by benchmarks/doc_outputs.py (which also regenerates them,
--write). Only the repository's absolute path is normalised (see that script). The
comparisons take from seconds to minutes and are marked slow; space, info and query run in
the default suite."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("doc_outputs", ROOT / "benchmarks/doc_outputs.py")
doc_outputs = importlib.util.module_from_spec(_spec)
sys.modules["doc_outputs"] = doc_outputs  # its dataclass looks its module up while built
_spec.loader.exec_module(doc_outputs)

SAMPLES = doc_outputs.all_samples()
FIRST = {}  # one run per command, like the script
for _sample in SAMPLES:
    FIRST.setdefault(_sample.command, _sample)
CASES = [
    pytest.param(s, id=s.where, marks=[pytest.mark.slow] if "compare" in s.command else [])
    for s in FIRST.values()
]


def test_the_samples_are_found():
    commands = [s.command for s in SAMPLES]
    for expected in ("nasbench-lite compare", "nasbench-lite info", "nasbench-lite space nb201"):
        assert any(c.startswith(expected) for c in commands), expected
    assert any("--budget 1000evals" in c for c in commands)
    assert all(s.shown for s in SAMPLES), "a sample without its output"


def test_an_ellipsis_stands_for_left_out_lines():
    printed = ["a", "b", "c", "d", "e"]
    assert doc_outputs.matches(("a", "b", "c", "d", "e"), printed)
    assert not doc_outputs.matches(("a", "b", "c", "d"), printed)
    assert doc_outputs.matches(("a", "...", "e"), printed)
    assert doc_outputs.matches(("a", "b", "..."), printed)
    assert not doc_outputs.matches(("a", "...", "d"), printed)
    assert not doc_outputs.matches(("a", "b", "c", "...", "c", "d", "e"), printed)
    assert doc_outputs.rewritten(("x", "...", "y", "z"), printed) == ["a", "...", "d", "e"]
    assert doc_outputs.rewritten(("x", "y"), printed) == printed


def test_only_the_checkout_path_is_normalised():
    text = f"table {doc_outputs.ROOT}/data/t.h5 in {doc_outputs.ROOT}; 0.98 s"
    assert doc_outputs.normalise(text) == "table data/t.h5 in .; 0.98 s"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return doc_outputs.scratch(tmp_path_factory.mktemp("outputs"))


@pytest.mark.parametrize("sample", CASES)
def test_the_doc_shows_what_the_command_prints(sample, scratch):
    printed = doc_outputs.run(sample.command, scratch)
    shown = [s for s in SAMPLES if s.command == sample.command]  # every doc that shows it
    for each in shown:
        assert doc_outputs.matches(each.shown, printed), (
            f"{each.where}: `{sample.command}` prints now:\n" + "\n".join(printed)
            + "\n(python benchmarks/doc_outputs.py --write regenerates the docs)"
        )  # fmt: skip
