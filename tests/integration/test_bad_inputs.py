"""The bad-input table's families in real processes, as a user's shell runs them: the exit status
reaches the shell, the paragraph is on stderr, no traceback, nothing of the user's changed. The whole
table (over 120 cases) runs in-process in tests/unit/test_bad_inputs.py; these few prove that the
command line behaves as the in-process runs do, and a full disk is simulated here."""

import resource
import signal
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import fingerprint, run_cli

# (case, command-line arguments, exit status, message on stderr)
CASES = [
    ("override Hydra cannot compose", ["optimizer=lion"], 2, "Could not find 'optimizer/lion'"),
    ("value out of range", ["optimizer.momentum=-0.5"], 2, "optimizer.momentum=-0.5 is out of range"),
    ("damaged data file", ["dataset=arrays", "dataset.file=RUN_ROOT/data/mine.npz"], 1, "is not an .npz archive"),
    ("resume a folder that is not there", ["resume=RUN_ROOT/no_such_run"], 2, "there is no folder"),
    ("a new run into a finished run", ["hydra.run.dir=RUN_ROOT/outputs/earlier_run"], 2, "already holds the results"),
    ("evaluate a folder without a model", ["evaluate", "RUN_ROOT/data"], 2, "evaluate needs a finished run"),
    ("a search setting refused", ["-m", "hparams_search=mnist_optuna", "hydra.sweeper.n_trials=0"], 2, "n_trials=0"),
]


@pytest.mark.parametrize("case, arguments, exit_code, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, case, arguments, exit_code, message):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mine.npz").write_bytes(np.arange(100, dtype=np.uint8).tobytes())
    earlier = tmp_path / "outputs" / "earlier_run"
    earlier.mkdir(parents=True)
    (earlier / "metrics.json").write_text('{"status": "completed"}')
    before = fingerprint(tmp_path)

    result = run_cli([argument.replace("RUN_ROOT", str(tmp_path)) for argument in arguments], cwd=tmp_path)

    assert result.returncode == exit_code, result.stdout[-2000:] + result.stderr[-3000:]
    assert message in result.stderr and message not in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    after = fingerprint(tmp_path)
    assert not [path for path in before if before[path] != after.get(path)]  # nothing of the user's changed


def test_a_full_disk_leaves_no_half_written_file(tmp_path):
    """RLIMIT_FSIZE makes every write past 200 KB fail, as a full disk would (EFBIG instead of ENOSPC)."""

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    command = [sys.executable, "-m", "fcbaseline", "dataset=digits", "training.epochs=2", "model.hidden_sizes=[2000]"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, preexec_fn=limit_file_size)
    assert result.returncode == 1
    assert "Cannot write" in result.stderr + result.stdout and "checkpoint.npz" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    [run_directory] = (tmp_path / "outputs" / "runs").glob("*/*")
    assert not list(run_directory.glob(".*partial*"))  # no temporary left behind
    assert not (run_directory / "checkpoint.npz").exists()
