"""The built wheel, installed elsewhere, finds its configs, its Hydra plugin and its MNIST files, and runs
the default recipe from another directory with no data folder anywhere."""

import os
import subprocess
import sys
import zipfile

from fcbaseline.data import IDX_FILES
from tests.helpers import MNIST_DIR, REPOSITORY, read_metrics, run_cli, run_directories


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
        for name in IDX_FILES.values():  # MNIST travels with the package: the first run needs no network
            assert archive.read(f"fcbaseline/data/mnist/{name}") == (MNIST_DIR / name).read_bytes()
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
    # the default dataset, MNIST, with no data folder anywhere: found inside the installed package
    result = run_cli(
        ["training.epochs=1", "model.hidden_sizes=[32]", "optimizer=adam", "model.activation=relu"],
        cwd=elsewhere,
        data_dir=None,
        extra_environment=environment,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [run] = run_directories(elsewhere)
    metrics = read_metrics(run)
    assert metrics["data_source"] == str(tmp_path / "site" / "fcbaseline" / "data" / "mnist")
    assert metrics["training_samples"] == 60000 and metrics["test_accuracy"] > 0.8
