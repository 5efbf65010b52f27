"""Hyper-parameter search with Optuna (>= 4): the sweeper (sweeper.py), the study's storage, sampler and
pruner (study.py), the search space (space.py) and each trial's per-epoch report and pruning (trial.py)."""
