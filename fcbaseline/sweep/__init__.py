"""A sweep: its one Hydra callback (lifecycle.py), what each job knows of it (record.py), its stop on
SIGINT/SIGTERM (stop.py), and its summary (groups.py: what it compares, summary.py, plot.py)."""
