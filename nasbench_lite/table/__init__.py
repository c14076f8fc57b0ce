"""The HDF5 table: its schema, file storage, the Table reader, statistics and card."""
