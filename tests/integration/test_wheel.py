"""The built wheel, installed elsewhere, finds its configs and Hydra plugins and runs from another directory."""

import os
import subprocess
import sys
import zipfile

from tests.helpers import REPOSITORY, run_cli, run_directories


def test_installed_wheel_finds_its_configs_from_another_directory(tmp_path):
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(REPOSITORY),
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = (tmp_path / "dist").glob("fcbaseline-*.whl")
    with zipfile.ZipFile(wheel) as archive:  # the Optuna sweeper, where Hydra looks for plugins
        assert "hydra_plugins/fcbaseline_search/optuna_sweeper.py" in archive.namelist()
        assert "fcbaseline/conf/hydra/sweeper/optuna.yaml" in archive.namelist()
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(tmp_path / "site"), str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = {"PYTHONPATH": str(tmp_path / "site")}
    where = subprocess.run(
        [sys.executable, "-c", "from fcbaseline.config import config_dir; print(config_dir())"],
        cwd=elsewhere,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
    )
    assert where.stdout.strip() == str(tmp_path / "site" / "fcbaseline" / "conf")
    result = run_cli(
        ["dataset=digits", "training.epochs=1"], cwd=elsewhere, data_dir=None, extra_environment=environment
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(run_directories(elsewhere)) == 1
