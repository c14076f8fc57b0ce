"""The XGBoost surrogate: fit on a table, predict any cell, report its quality."""
