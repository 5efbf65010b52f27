"""What a user sees on the console: no TensorFlow start-up chatter unless asked, a progress bar in a
(pseudo-)terminal for single runs and sweeps, and plain lines in a pipe."""

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

from tests.helpers import run_cli


def test_console_has_no_tensorflow_start_up_chatter_unless_asked(tmp_path):
    arguments = ["dataset=digits", "training.epochs=1"]
    quiet_run = run_cli(arguments, cwd=tmp_path, data_dir=None)
    assert quiet_run.returncode == 0, quiet_run.stderr[-3000:]
    console = quiet_run.stdout + quiet_run.stderr
    for chatter in ("absl::InitializeLog", "oneDNN custom operations", "cudart_stub", "cpu_feature_guard"):
        assert chatter not in console
    assert re.search(r"epoch 1/1 .* elapsed \d+s  left 0s", console)
    first_line = (quiet_run.stdout or quiet_run.stderr).splitlines()[0]
    assert "[fcbaseline]" in first_line

    (tmp_path / "loud").mkdir()
    loud = run_cli(arguments, cwd=tmp_path / "loud", data_dir=None, extra_environment={"TF_CPP_MIN_LOG_LEVEL": "0"})
    assert loud.returncode == 0 and "oneDNN custom operations" in loud.stdout + loud.stderr  # all of it, when asked


def run_in_terminal(arguments, cwd: Path, columns=120):
    """Run the CLI with a pseudo-terminal (of a real size) as its stdout and stderr; returns its output."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HYDRA_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "fcbaseline", *arguments], cwd=cwd, env=environment, stdout=follower, stderr=follower
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process has ended
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=300)
    os.close(leader)
    return process.returncode, output.decode(errors="replace")


def test_progress_bar_in_a_terminal_and_plain_lines_elsewhere(tmp_path):
    code, output = run_in_terminal(["dataset=digits", "training.epochs=3"], cwd=tmp_path)
    assert code == 0, output[-3000:]
    assert re.search(r"digits: 100%\|[^\r\n]*\| 3/3 \[", output), output[-3000:]
    assert "epoch 3/3" in output  # the log lines still scroll above the bar

    (tmp_path / "sweep").mkdir()
    code, output = run_in_terminal(
        ["-m", "dataset=digits", "training.epochs=2", "model.hidden_sizes=[16],[32]"], cwd=tmp_path / "sweep"
    )
    assert code == 0, output[-3000:]
    assert re.search(r"job 2/2 digits: 100%", output), output[-3000:]

    piped = run_cli(["dataset=digits", "training.epochs=3"], cwd=tmp_path / "sweep", data_dir=None)
    assert piped.returncode == 0 and "%|" not in piped.stdout + piped.stderr
