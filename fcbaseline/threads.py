"""How many threads TensorFlow gets in a job: decided from the launcher's `_target_` (so a launcher config
of the user's own, under any name, is recognised) and the number of jobs that run at once.

Pure decisions here (`budget`, `jobs_at_once`); fcbaseline.__main__.start_tensorflow applies the budget
before TensorFlow starts, and metrics.json records the threads TensorFlow really uses (`in_use`)."""

import os
from typing import Optional

JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
RAY = (
    "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher",
    "hydra_plugins.hydra_ray_launcher.ray_aws_launcher.RayAWSLauncher",
)
SUBMITIT_LOCAL = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher"
SUBMITIT_SLURM = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"


def cores() -> int:
    """The CPUs this process may run on (a SLURM allocation or taskset narrows them)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def joblib_workers(n_jobs: int, cores: int) -> int:
    """joblib's reading of n_jobs: -1 every core, -2 all but one, and so on."""
    return max(1, cores + 1 + n_jobs if n_jobs < 0 else n_jobs)


def jobs_at_once(launcher: dict, jobs_per_batch: Optional[int], cores: int) -> int:
    """How many of a sweep's jobs this machine runs side by side: the launcher's parallelism, but never
    more than the jobs the sweeper hands it at once (`jobs_per_batch`, None when unknown)."""
    target = launcher.get("_target_", "")
    if target == JOBLIB:
        parallel = joblib_workers(launcher.get("n_jobs") or -1, cores)
    elif target == SUBMITIT_LOCAL:  # submitit's local executor starts every job of a batch at once
        parallel = jobs_per_batch or 1
    else:  # Hydra's basic launcher runs one job after the other; others place jobs on their own machines
        return 1
    return max(1, min(parallel, jobs_per_batch or parallel))


def budget(setting: Optional[int], launcher: dict, jobs_per_batch: Optional[int], cores: int) -> Optional[int]:
    """TensorFlow threads for a job: `training.threads` when set; the CPUs reserved per job under Ray and
    submitit (cpus_per_task: also what SLURM gives the job); else the cores shared among the jobs that run
    at once on this machine (two joblib jobs on 16 cores: 8 each). None: TensorFlow's default, a thread
    per core (a single run, Hydra's basic launcher, a launcher this does not know)."""
    if setting:
        return setting
    target = launcher.get("_target_", "")
    if target in RAY:
        return int((launcher.get("ray") or {}).get("remote", {}).get("num_cpus") or 1)
    if target in (SUBMITIT_LOCAL, SUBMITIT_SLURM) and launcher.get("cpus_per_task"):
        return int(launcher["cpus_per_task"])
    if target == SUBMITIT_SLURM:
        return None  # SLURM limits the job to its allocation, which TensorFlow's default follows
    parallel = jobs_at_once(launcher, jobs_per_batch, cores)
    return max(1, cores // parallel) if parallel > 1 else None


def in_use(cores: int) -> int:
    """The intra-op threads TensorFlow runs with (after it started): the number set, else its default."""
    import tensorflow as tf

    configured = tf.config.threading.get_intra_op_parallelism_threads()
    variable = os.environ.get("TF_NUM_INTRAOP_THREADS") or "0"
    return configured or (int(variable) if variable.isdigit() else 0) or cores
