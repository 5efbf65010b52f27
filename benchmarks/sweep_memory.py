"""Whether a long in-process sweep stays as light and as fast as a short one.

    FCBASELINE_DATA_DIR=../shared/datasets python benchmarks/sweep_memory.py              # 3 and 30 jobs
    FCBASELINE_DATA_DIR=../shared/datasets python benchmarks/sweep_memory.py --jobs 3 12 30 --vary width
    FCBASELINE_DATA_DIR=../shared/datasets python benchmarks/sweep_memory.py training.xla=false

Each sweep is `python -m fcbaseline -m training.epochs=1 training.seed=1,2,...,N` with the default
launcher (every job in one process, as an Optuna search runs too): the MNIST recipe for one epoch, the
jobs differing only in their seed (`--vary lr`: in their learning rate; `--vary width`: in the first
hidden layer's width, so that no job can reuse another's compiled epoch). Reported per sweep: the
process's peak RSS (`wait4`), the memory a job adds (the peak's growth per job between the shortest and
the longest sweep), and the one epoch's time (history.csv, compilation included) in job 2 and in the last
job, whose ratio says whether later jobs slow down. Each sweep has its own empty fcbaseline cache
($FCBASELINE_CACHE_DIR): XLA's persistent cache would otherwise serve one sweep the compilations another
made.
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# What the jobs differ in: the seed (the compiled epoch is reused job after job), the learning rate (reused
# too: a variable) or the first hidden layer's width (a new shape: every job compiles its own).
VARIED = {
    "seed": lambda jobs: "training.seed=" + ",".join(str(seed) for seed in range(1, jobs + 1)),
    "lr": lambda jobs: "optimizer.lr=" + ",".join(f"{0.01 + 0.001 * job:g}" for job in range(jobs)),
    "width": lambda jobs: "model.hidden_sizes=" + ",".join(f"[{256 + job},128]" for job in range(jobs)),
}


def sweep(jobs: int, scratch: Path, vary: str, extra: list) -> dict:
    folder = scratch / f"sweep_{vary}_{jobs}"
    command = [
        sys.executable,
        "-m",
        "fcbaseline",
        "-m",
        "training.epochs=1",
        VARIED[vary](jobs),
        "training.verbose=false",
        "tracking=none",
        f"hydra.sweep.dir={folder}",
        *extra,
    ]
    started = time.perf_counter()
    environment = {**os.environ, "FCBASELINE_CACHE_DIR": str(scratch / f"cache_{vary}_{jobs}")}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment)
    _, status, usage = os.wait4(process.pid, 0)  # the child's own peak RSS
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"the {jobs}-job sweep failed:\n{process.stderr.read().decode()[-2000:]}")
    epoch_seconds = []
    for job in range(jobs):
        with open(folder / str(job) / "history.csv", newline="") as file:
            epoch_seconds.append(float(next(csv.DictReader(file))["seconds"]))
    return {
        "jobs": jobs,
        "peak_mb": usage.ru_maxrss / 1024,
        "seconds": time.perf_counter() - started,
        "epoch_job_2": epoch_seconds[1] if jobs > 1 else epoch_seconds[0],
        "epoch_last": epoch_seconds[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, nargs="+", default=[3, 30], help="sweep lengths to compare")
    parser.add_argument("--vary", choices=sorted(VARIED), default="seed", help="what the jobs differ in")
    parser.add_argument("overrides", nargs="*", help="more overrides for every job, e.g. training.xla=false")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        results = [sweep(jobs, Path(scratch), arguments.vary, arguments.overrides) for jobs in sorted(arguments.jobs)]
    print("| jobs | peak RSS (MB) | whole sweep (s) | epoch, job 2 (s) | epoch, last job (s) | last / job 2 |")
    print("|---:|---:|---:|---:|---:|---:|")
    for row in results:
        ratio = row["epoch_last"] / row["epoch_job_2"]
        print(
            f"| {row['jobs']} | {row['peak_mb']:.0f} | {row['seconds']:.1f} | {row['epoch_job_2']:.3f} | "
            f"{row['epoch_last']:.3f} | {ratio:.2f} |"
        )
    shortest, longest = results[0], results[-1]
    if longest["jobs"] > shortest["jobs"]:
        per_job = (longest["peak_mb"] - shortest["peak_mb"]) / (longest["jobs"] - shortest["jobs"])
        print(f"\nmemory a job adds: {per_job:.1f} MB ({shortest['jobs']} -> {longest['jobs']} jobs)")


if __name__ == "__main__":
    main()
