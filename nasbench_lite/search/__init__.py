"""The search protocol (strategies ask and tell) and the runner that spends the budget."""
