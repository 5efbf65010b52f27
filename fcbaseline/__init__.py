"""fcbaseline: config-driven fully-connected (MLP) baselines for image classification.

    import fcbaseline
    result = fcbaseline.run(["dataset=digits", "training.epochs=5"])

`run` composes the config as `python -m fcbaseline <overrides>` would and trains into a run folder
(runner.py); TensorFlow is imported only when a run needs it."""

from fcbaseline.errors import ConfigError, DataError
from fcbaseline.rundir import Status
from fcbaseline.runner import RunResult, run
from fcbaseline.stopping import Interrupted
from fcbaseline.training.reuse import CompiledRuns

__version__ = "0.1.0"
__all__ = ["CompiledRuns", "ConfigError", "DataError", "Interrupted", "RunResult", "Status", "run"]
