"""Compare strategies on identical budgets: runs in worker processes, statistics, report, plots."""
