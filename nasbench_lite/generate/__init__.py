"""Generate a table: train every class in chunks, resumably, locally or on Ray."""
