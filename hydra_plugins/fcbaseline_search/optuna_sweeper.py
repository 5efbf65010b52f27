"""Hydra finds sweepers in the `hydra_plugins` namespace package only, so fcbaseline's Optuna sweeper
(fcbaseline/search/sweeper.py) is named here; conf/hydra/sweeper/optuna.yaml selects it. Nothing heavy
is imported until a search starts: Hydra imports this module on every run while it scans for plugins."""

from hydra.plugins.sweeper import Sweeper


class OptunaSweeper(Sweeper):
    def __init__(self, study_name, storage, n_trials, n_jobs, sampler, pruner, params) -> None:
        from fcbaseline.search.sweeper import Search

        self.search = Search(study_name, storage, n_trials, n_jobs, sampler, pruner, params)

    def setup(self, *, hydra_context, task_function, config) -> None:
        self.search.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments):
        return self.search.sweep(arguments)
