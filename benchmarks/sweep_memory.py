"""Whether a long in-process sweep stays as light and as fast as a short one.

    FCBASELINE_DATA_DIR=../shared/datasets python benchmarks/sweep_memory.py              # 3 and 30 jobs
    FCBASELINE_DATA_DIR=../shared/datasets python benchmarks/sweep_memory.py --jobs 3 12 30

Each sweep is `python -m fcbaseline -m training.epochs=1 training.seed=1,2,...,N` with the default
launcher (every job in one process, as an Optuna search runs too): the MNIST recipe for one epoch, the
jobs differing only in their seed. Reported per sweep: the process's peak RSS (`wait4`), the memory a
job adds (the peak's growth per job between the shortest and the longest sweep), and the one epoch's
time (history.csv) in job 2 and in the last job, whose ratio says whether later jobs slow down. Each
sweep has its own empty fcbaseline cache ($FCBASELINE_CACHE_DIR), so that every job compiles its epoch
as the first job does: XLA's persistent cache would otherwise serve one sweep the compilations another
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


def sweep(jobs: int, scratch: Path) -> dict:
    folder = scratch / f"sweep_{jobs}"
    seeds = ",".join(str(seed) for seed in range(1, jobs + 1))
    command = [
        sys.executable,
        "-m",
        "fcbaseline",
        "-m",
        "training.epochs=1",
        f"training.seed={seeds}",
        "training.verbose=false",
        "tracking=none",
        f"hydra.sweep.dir={folder}",
    ]
    started = time.perf_counter()
    environment = {**os.environ, "FCBASELINE_CACHE_DIR": str(scratch / f"cache_{jobs}")}
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
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        results = [sweep(jobs, Path(scratch)) for jobs in sorted(arguments.jobs)]
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
