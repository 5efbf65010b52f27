"""What logging each run's model as an MLflow model costs a sweep, against a real `mlflow server`.

    FCBASELINE_DATA_DIR=../shared/datasets python benchmarks/mlflow_model_cost.py            # 5 jobs
    FCBASELINE_DATA_DIR=../shared/datasets python benchmarks/mlflow_model_cost.py --jobs 10

Starts `mlflow server` (SQLite store, served artifacts) on 127.0.0.1, then runs the same sweep twice,
`python -m fcbaseline -m tracking=mlflow training.epochs=1 training.seed=1,...,N` (the MNIST recipe's
model, one epoch a job), with tracking.mlflow.log_model=true and =false, and reports the whole sweep's
time for each and the time each job's log gives for logging its model. Stops the server by process id.
"""

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(folder: Path):
    port = free_port()
    command = [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}", "--artifacts-destination", str(folder)]
    log = open(folder / "server.log", "w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2):
                return uri, server
        except OSError:
            time.sleep(0.5)
    sys.exit(f"mlflow server did not start: {(folder / 'server.log').read_text()[-2000:]}")


def sweep(uri: str, jobs: int, log_model: bool, folder: Path) -> dict:
    seeds = ",".join(str(seed) for seed in range(1, jobs + 1))
    command = [sys.executable, "-m", "fcbaseline", "-m", "tracking=mlflow", "training.epochs=1"]
    command += [f"training.seed={seeds}", f"tracking.mlflow.log_model={str(log_model).lower()}"]
    command += ["training.verbose=false", f"hydra.sweep.dir={folder}"]
    environment = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MLFLOW_EXPERIMENT_NAME": f"cost_{log_model}"}
    started = time.perf_counter()
    result = subprocess.run(command, env=environment, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"the sweep failed:\n{result.stderr[-3000:]}")
    seconds = time.perf_counter() - started
    logged = []
    for job in range(jobs):
        log = (folder / str(job) / "fcbaseline.log").read_text()
        found = re.search(r"MLflow: model logged as .* in ([0-9.]+)s", log)
        if found:
            logged.append(float(found.group(1)))
    return {"seconds": seconds, "logged": logged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=5)
    jobs = parser.parse_args().jobs
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        uri, server = start_server(scratch)
        try:
            without = sweep(uri, jobs, False, scratch / "without")
            with_model = sweep(uri, jobs, True, scratch / "with")
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    extra = (with_model["seconds"] - without["seconds"]) / jobs
    print("| log_model | jobs | whole sweep (s) | per job (s) |\n|---|---:|---:|---:|")
    for name, row in (("false", without), ("true", with_model)):
        print(f"| {name} | {jobs} | {row['seconds']:.1f} | {row['seconds'] / jobs:.2f} |")
    print(f"\nlogging the model, per job: {extra:.2f} s more a job (sweep times); the jobs' logs say")
    print(f"median {statistics.median(with_model['logged']):.2f} s, max {max(with_model['logged']):.2f} s")


if __name__ == "__main__":
    main()
