"""A quiet console: TensorFlow's C++ start-up chatter held back, everything else shown.

Importing TensorFlow prints, from C++ and before its own log level applies, lines such as
"All log messages before absl::InitializeLog() is called are written to STDERR", the oneDNN note,
"Could not find cuda drivers" and the CPU-instruction note; they hide the run's own log and tell a
user nothing they can act on. `import_tensorflow` catches what is written to the process's standard
error (file descriptor 2, where C++ writes) during the import, drops those informational lines and
writes the rest back: a warning or error from the import is still shown.

To see everything TensorFlow says, set a lower level yourself (`TF_CPP_MIN_LOG_LEVEL=0 python -m
fcbaseline ...`): any level but fcbaseline's own default, 3, turns this filter off.
"""

import os
import re
import sys
import tempfile

QUIET_LEVEL = "3"  # TensorFlow's C++ log after start-up: errors still surface as Python exceptions
# Another level is the user's wish to see more (the default is inherited by launcher workers and tests).
SHOW_ALL = os.environ.get("TF_CPP_MIN_LOG_LEVEL", QUIET_LEVEL) != QUIET_LEVEL
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_LEVEL)

# absl's informational lines (severity I) and the two lines that are not prefixed by a severity.
CHATTER = re.compile(
    r"^(I\d{4} [\d:.]+ +\d+ \S+:\d+\] .*"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.)$"
)


def keep(text: str) -> str:
    """The lines of `text` a user should see: everything but TensorFlow's informational start-up lines."""
    return "".join(line for line in text.splitlines(keepends=True) if not CHATTER.match(line.rstrip("\n")))


def import_tensorflow() -> None:
    """`import tensorflow, keras` with the start-up chatter filtered out."""
    if "tensorflow" in sys.modules or SHOW_ALL:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import keras  # noqa: F401
            import tensorflow  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            sys.stderr.write(keep(caught.read().decode(errors="replace")))
            sys.stderr.flush()
