"""Train NB-201 cells with JAX: configs and presets, the batched trainer, cost model."""
