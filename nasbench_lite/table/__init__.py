"""The HDF5 table: its schema, file storage, the `Table` reader, statistics and card.

Importing this package imports NumPy only (h5py when a file is read); never JAX.
"""

from nasbench_lite.table.reader import Table
from nasbench_lite.table.schema import CURVE_METRICS, METRICS, SCHEMA, SCHEMA_VERSION
from nasbench_lite.table.shipped import default_model_path, default_table_path, shipped_tables
from nasbench_lite.table.storage import read_arrays, write_table

__all__ = [
    "CURVE_METRICS",
    "METRICS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Table",
    "default_model_path",
    "default_table_path",
    "read_arrays",
    "shipped_tables",
    "write_table",
]
