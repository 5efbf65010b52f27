"""The command line: `python -m fcbaseline [overrides]` (also the `fcbaseline` command) runs the Hydra
task (app.py); `fcbaseline compare|evaluate|predict|summarize ...` a command on finished runs (commands/).

    python -m fcbaseline                               # the MNIST recipe
    python -m fcbaseline dataset=cifar10               # the CIFAR-10 recipe
    python -m fcbaseline -m 'model.hidden_sizes=[256,128],[512,256]'
"""

import importlib
import sys

from fcbaseline.exits import ExitCode

COMMANDS = {
    "compare": "fcbaseline.commands.compare",
    "evaluate": "fcbaseline.commands.evaluate",
    "predict": "fcbaseline.commands.predict",
    "summarize": "fcbaseline.commands.summarize",
}


def cli() -> None:
    if sys.argv[1:2] and sys.argv[1] in COMMANDS:
        sys.exit(importlib.import_module(COMMANDS[sys.argv[1]]).main(sys.argv[2:]))
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from fcbaseline import app  # quiet.py sets TensorFlow's log level before anything imports it
    from fcbaseline.config.user_files import check_user_config_files
    from fcbaseline.errors import ConfigError

    try:
        check_user_config_files(sys.argv[1:])
    except ConfigError as error:
        print(error, file=sys.stderr)
        sys.exit(ExitCode.USAGE)

    try:
        app.main()
    except SystemExit as exit:
        # Hydra reports an override or config it cannot compose, then exits with a plain 1 while handling
        # that error (its context): a usage error, status 2. Other errors Hydra reports keep their 1.
        composing = isinstance(exit.__context__, (HydraException, OmegaConfBaseException))
        if exit.code == 1 and not isinstance(exit.code, ExitCode) and composing:
            sys.exit(ExitCode.USAGE)
        raise


if __name__ == "__main__":
    cli()
