"""Comparing runs: statistics.py (the tests), groups.py (which runs, grouped how), report.py (the files)."""
