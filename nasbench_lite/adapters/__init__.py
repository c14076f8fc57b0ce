"""Adapters to other tools: the blackbox objective and Syne Tune's simulator on our tables."""
