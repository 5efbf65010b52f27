"""Fixtures of the integration tier: real servers on 127.0.0.1, stopped by process id."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import free_port, stop_process_group, wait_for_health


@pytest.fixture
def mlflow_server(tmp_path):
    """A real `mlflow server` (SQLite store, artifacts served by it) on 127.0.0.1; stopped by process id."""
    pytest.importorskip("mlflow")
    port, folder = free_port(), tmp_path / "mlflow_server"
    folder.mkdir()
    command = [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination",
        str(folder / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log = open(folder / "server.log", "w")
    server = subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(uri, server, folder / "server.log")
        yield uri, server
    finally:
        stop_process_group(server)
        log.close()
