"""docs/adapters.md: every ```python snippet runs as printed, on a synthetic table file in
place of the shipped one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nasbench_lite.table.synthetic import synthetic_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "adapters.md"
SHIPPED = "data/nb201_mnist1d_cpu.h5"
SNIPPETS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.fixture(scope="module")
def table_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("adapters") / "table.h5"
    synthetic_table(path, epochs=4)
    return path


def test_the_doc_has_its_snippets():
    assert len(SNIPPETS) >= 6 and all(SHIPPED in code for code in SNIPPETS)


@pytest.mark.parametrize("number", range(len(SNIPPETS)))
def test_snippet_runs(number, table_path, capsys, tmp_path, monkeypatch):
    code = SNIPPETS[number].replace(SHIPPED, str(table_path))
    if "synetune" in code:
        pytest.importorskip("syne_tune")
    monkeypatch.chdir(tmp_path)  # what a snippet writes lands there
    exec(compile(code, f"{DOC.name} snippet {number + 1}", "exec"), {"__name__": "__doc__"})
    assert capsys.readouterr().out.strip()  # each snippet shows its result
