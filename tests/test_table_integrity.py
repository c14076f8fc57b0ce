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
