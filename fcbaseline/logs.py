"""The console's two channels (conf/hydra/job_logging/fcbaseline.yaml): information on stdout, warnings
and errors on stderr, like Hydra's own errors and most command-line tools."""

import logging


def below_warning():
    """A handler filter (a dictConfig factory) that passes only records below WARNING."""
    return lambda record: record.levelno < logging.WARNING
