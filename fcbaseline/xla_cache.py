"""TensorFlow's persistent XLA compilation cache, on by default: a process that compiles a training step
it has compiled before (the same model shapes, a later run or the next job of a sweep in a new process)
loads it from disk instead of compiling it again (the saving is in benchmarks/README.md).

The cache lives in `<fcbaseline cache>/xla/<TensorFlow version>-<CPU fingerprint>/`: compiled code is
specific to both, and a home folder shared by cluster nodes with different CPUs must never hand one an
executable with instructions it lacks. `FCBASELINE_XLA_CACHE=off` turns it off; a cache directory the
user already gave TensorFlow (`TF_XLA_FLAGS=--tf_xla_persistent_cache_directory=...`) is kept.
"""

import hashlib
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Optional

FLAG = "--tf_xla_persistent_cache_directory"


def cpu_fingerprint(cpuinfo: str, machine: str) -> str:
    """A short hash of the CPU model and instruction-set flags (Linux /proc/cpuinfo), else the machine."""
    wanted = ("model name", "flags", "Features", "CPU part")
    lines = sorted({line.strip() for line in cpuinfo.splitlines() if line.split(":")[0].strip() in wanted})
    return hashlib.sha256("\n".join([machine, *lines]).encode()).hexdigest()[:12]


def flags_with_cache(existing: str, folder: Optional[Path]) -> str:
    """TF_XLA_FLAGS with the persistent cache directory added, unless there is none to add or the user
    already chose one."""
    if folder is None or FLAG in existing:
        return existing
    return f"{existing} {FLAG}={folder}".strip()


def folder(cache_root: Path) -> Optional[Path]:
    """This machine's cache folder, or None when FCBASELINE_XLA_CACHE=off."""
    if os.environ.get("FCBASELINE_XLA_CACHE", "").lower() in ("off", "0", "false", "no"):
        return None
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = platform.processor()
    version = metadata.version("tensorflow")
    return cache_root / "xla" / f"tf-{version}-{cpu_fingerprint(cpuinfo, platform.machine())}"


def enable(cache_root: Path) -> None:
    """Before TensorFlow starts: point XLA at the cache folder (created on first use). Once TensorFlow
    runs in this process (a later job of an in-process sweep), its flags are read: nothing to do."""
    if "tensorflow" in sys.modules:
        return
    chosen = folder(cache_root)
    if chosen is None:
        return
    try:
        chosen.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # an unwritable cache location costs only the compile time
    os.environ["TF_XLA_FLAGS"] = flags_with_cache(os.environ.get("TF_XLA_FLAGS", ""), chosen)
