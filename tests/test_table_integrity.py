"""Table files carry Fletcher-32 checksums: one flipped bit in any array fails at read time
with one line naming the file and the array, never passes as data."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from nasbench_lite.errors import InputError
from nasbench_lite.table import Table
from nasbench_lite.table.synthetic import synthetic_table


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    path = tmp_path_factory.mktemp("integrity") / "t.h5"
    synthetic_table(rows=40, epochs=3).write(path)
    with h5py.File(path) as f:
        names: list[str] = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        chunks = {n: f[n].id.get_chunk_info(0) for n in names if f[n].size}
        assert all(f[n].fletcher32 for n in chunks)
    return path, chunks


def test_every_array_is_checksummed_and_a_flipped_bit_is_named(written, tmp_path):
    path, chunks = written
    data = path.read_bytes()
    rng = np.random.default_rng(0)
    assert len(chunks) >= 15  # every dataset of the schema that holds values
    for name, chunk in chunks.items():
        flipped = bytearray(data)
        at = chunk.byte_offset + int(rng.integers(chunk.size - 4))  # not the checksum itself
        flipped[at] ^= 1 << int(rng.integers(8))
        bad = tmp_path / "bad.h5"
        bad.write_bytes(bytes(flipped))
        with pytest.raises(InputError, match=f"bad.h5: dataset /{name} fails its checksum"):
            Table.open(bad)
    assert Table.open(path).num_rows == 40  # the untouched file reads


@pytest.mark.parametrize(
    "path, index, value, message",
    [
        ("metrics/valid_acc", (7, 1, 3), 1.075e38, "outside [0, 1]"),
        ("metrics/test_acc", (2, 0, 0), -0.5, "outside [0, 1]"),
        ("metrics/train_loss", (4, 2, 1), -29.9, ">= 0"),
        ("metrics/train_seconds", (9, 1), -1.0, ">= 0"),
        ("metrics/params", (3,), -5, ">= 0"),
    ],
)
def test_impossible_values_are_named_with_their_array_and_row(path, index, value, message):
    """An old file without checksums, or a table built in memory: every array is range
    checked on open, and the error names the array and the first bad position."""
    table = synthetic_table(rows=20, epochs=4, rng=2)
    arrays = {k: np.array(v) for k, v in table.arrays.items()}
    arrays[path][index] = value
    import re

    with pytest.raises(InputError, match=re.escape(message)) as err:
        Table(arrays, table.attrs, source="old.h5")
    text = str(err.value)
    assert f"old.h5: /{path} at row {index[0]}" in text and "\n" not in text
    if arrays[path].dtype.kind == "f":  # NaN (not trained, diverged) is always allowed
        arrays[path][index] = np.nan
        Table(arrays, table.attrs, source="old.h5")


def test_proxy_scores_have_no_range():
    table = synthetic_table(rows=20, epochs=2, rng=2)
    arrays = {k: np.array(v) for k, v in table.arrays.items()}
    arrays["metrics/proxy_synflow"] = np.full((20, 3), -1e30)
    assert Table(arrays, table.attrs).metric("proxy_synflow").min() == -1e30


def test_info_verify_checks_the_file_against_its_card(tmp_path, capsys):
    from nasbench_lite.cli import main

    path = tmp_path / "t.h5"
    synthetic_table(path, rows=30, epochs=2, rng=3)
    assert main(["info", str(path), "--verify"]) == 2
    assert "no card" in capsys.readouterr().err
    assert main(["card", str(path)]) == 0
    capsys.readouterr()
    assert main(["info", str(path), "--verify"]) == 0
    assert "matches its card" in capsys.readouterr().out
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    assert main(["info", str(path), "--verify"]) == 2
    err = capsys.readouterr().err
    assert "the file changed since the card was written" in err and len(err.splitlines()) == 1
    card = tmp_path / "t_card.md"
    card.write_text(card.read_text().replace("file sha256", "file digest"))
    assert main(["info", str(path), "--verify", "--card", str(card)]) == 2
    assert "records no sha256" in capsys.readouterr().err
