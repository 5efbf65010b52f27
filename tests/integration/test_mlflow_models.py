"""MLflow the way MLflow users work, against a real `mlflow server` on 127.0.0.1: the environment's
$MLFLOW_TRACKING_URI and $MLFLOW_EXPERIMENT_NAME honoured, a model-training experiment, each job's model
logged as an MLflow Keras model (and registered), loaded with mlflow.pyfunc in a fresh Python and served
by `mlflow models serve`, both giving `fcbaseline predict`'s classes on real MNIST test images; the
dataset inputs with the digest of the arrays trained on, and the source tags."""

import csv
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np

from fcbaseline.tracking.mlflow_context import arrays_digest
from tests.helpers import (
    REPOSITORY,
    cli_environment,
    free_port,
    read_metrics,
    run_cli,
    stop_process_group,
    sweep_directory,
    wait_for_health,
)

IMAGES = 40  # real MNIST test images, as PNG files for `fcbaseline predict`


def mnist_test_images(folder: Path) -> np.ndarray:
    from PIL import Image

    from fcbaseline.config import compose_config
    from fcbaseline.data import load_dataset

    dataset = load_dataset(compose_config([]).dataset)
    folder.mkdir()
    for index, image in enumerate(dataset.x_test[:IMAGES]):
        Image.fromarray(image).save(folder / f"{index:03d}.png")
    return dataset


def predicted_by_fcbaseline(run: Path, images: Path, cwd: Path) -> list:
    result = run_cli(["predict", str(run), str(images), "--output", str(cwd / "predicted")], cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(cwd / "predicted" / "predictions.csv", newline="") as file:
        rows = sorted(csv.DictReader(file), key=lambda row: row["file"])
    return [int(row["class_1"]) for row in rows]


def test_a_sweep_tracked_by_the_environment_logs_servable_models_datasets_and_source(tmp_path, mlflow_server):
    from mlflow import MlflowClient

    uri, _ = mlflow_server
    environment = {"MLFLOW_TRACKING_URI": uri, "MLFLOW_EXPERIMENT_NAME": "from_the_environment"}
    arguments = ["-m", "tracking=mlflow", "training.epochs=2", "model.hidden_sizes=[32]", "training.seed=1,2"]
    result = run_cli([*arguments, "tracking.mlflow.register_as=mnist_mlp"], cwd=tmp_path, extra_environment=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = sweep_directory(tmp_path)
    assert not (tmp_path / "outputs" / "mlflow.db").exists()  # nothing went to the local default store

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("from_the_environment")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"  # opens on the training runs
    runs = {run.info.run_name: run for run in client.search_runs([experiment.experiment_id])}
    jobs = [runs["job 0: training.seed=1"], runs["job 1: training.seed=2"]]
    assert read_metrics(sweep / "0")["mlflow"] == {
        "tracking_uri": uri,
        "tracking_uri_from": "MLFLOW_TRACKING_URI",
        "experiment": "from_the_environment",
        "experiment_from": "MLFLOW_EXPERIMENT_NAME",
    }
    log = (sweep / "0" / "fcbaseline.log").read_text()
    assert f"in experiment 'from_the_environment' (MLFLOW_EXPERIMENT_NAME) at {uri} (MLFLOW_TRACKING_URI)" in log

    # what was trained on: each split with the digest of its arrays, from the files it was read from
    dataset = mnist_test_images(tmp_path / "images")
    inputs = {i.tags[0].value: i.dataset for i in client.get_run(jobs[0].info.run_id).inputs.dataset_inputs}
    assert sorted(inputs) == ["test", "training", "validation"]  # a sweep validates on a split of its own
    assert inputs["test"].name == "mnist" and inputs["test"].digest == arrays_digest(dataset.x_test, dataset.y_test)
    images = [json.loads(inputs[part].profile)["features_shape"][0] for part in ("training", "validation")]
    assert sum(images) == len(dataset.y_train) and images[1] == read_metrics(sweep / "0")["validation_samples"]
    source = Path(read_metrics(sweep / "0")["data_source"]).resolve()
    assert json.loads(inputs["test"].source)["uri"] == str(source)
    assert json.loads(inputs["test"].profile)["features_shape"] == [10000, 28, 28]

    # with which code: MLflow's source tags, the git commit of this checkout and whether it has changes
    tags = jobs[0].data.tags
    assert tags["mlflow.source.name"].endswith("fcbaseline/__main__.py") and tags["mlflow.source.type"] == "LOCAL"
    if (REPOSITORY / ".git").exists():  # CI and development run from a checkout
        git = lambda *arguments: subprocess.run(["git", *arguments], cwd=REPOSITORY, capture_output=True, text=True)  # noqa: E731
        assert tags["mlflow.source.git.commit"] == git("rev-parse", "HEAD").stdout.strip()
        changed = bool(git("status", "--porcelain", "--untracked-files=no").stdout.strip())
        assert tags["mlflow.source.git.dirty"] == str(changed).lower()

    # the models: registered, loaded in a fresh Python, served over REST, all with predict's classes
    logged = client.search_logged_models(experiment_ids=[experiment.experiment_id])
    assert sorted(model.source_run_id for model in logged) == sorted(job.info.run_id for job in jobs)
    versions = client.search_model_versions("name='mnist_mlp'")
    assert sorted(version.run_id for version in versions) == sorted(job.info.run_id for job in jobs)
    expected = predicted_by_fcbaseline(sweep / "0", tmp_path / "images", tmp_path)
    model_uri = f"runs:/{jobs[0].info.run_id}/model"
    np.save(tmp_path / "images.npy", dataset.x_test[:IMAGES])
    loading = (
        "import sys, numpy, mlflow; model = mlflow.pyfunc.load_model(sys.argv[1]); "
        "print(' '.join(str(c) for c in model.predict(numpy.load(sys.argv[2])).argmax(axis=1)))"
    )
    child = {**cli_environment(), "MLFLOW_TRACKING_URI": uri}
    child["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{child.get('PATH', '')}"  # the venv, activated
    loaded = subprocess.run(
        [sys.executable, "-c", loading, model_uri, str(tmp_path / "images.npy")],
        env=child,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert [int(value) for value in loaded.stdout.split()[-IMAGES:]] == expected
    assert served_classes(model_uri, dataset.x_test[:IMAGES], child, tmp_path) == expected
    assert sum(c == int(y) for c, y in zip(expected, dataset.y_test[:IMAGES])) >= IMAGES // 2  # trained: chance is 4


def served_classes(model_uri: str, images: np.ndarray, environment: dict, folder: Path) -> list:
    """The classes `mlflow models serve` answers for `images` posted as MLflow's tensor input."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "mlflow"), "models", "serve", "-m", model_uri]
    command += ["--env-manager", "local", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    log_path = folder / "serve.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            command, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_for_health(f"http://127.0.0.1:{port}", server, log_path, path="/ping")
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/invocations",
                data=json.dumps({"inputs": images.tolist()}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=120) as response:
                predictions = json.loads(response.read())["predictions"]
        finally:
            stop_process_group(server)
    return [int(np.argmax(row)) for row in predictions]


def test_the_environment_s_experiment_id_is_honoured_and_the_config_wins_over_the_environment(tmp_path, mlflow_server):
    from mlflow import MlflowClient

    uri, _ = mlflow_server
    client = MlflowClient(uri)
    chosen = client.create_experiment("chosen_by_id")
    environment = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9/unused", "MLFLOW_EXPERIMENT_ID": chosen}
    overrides = ["dataset=digits", "training.epochs=1", "tracking=mlflow", f"tracking.mlflow.tracking_uri={uri}"]
    result = run_cli([*overrides, "tracking.mlflow.log_model=false"], cwd=tmp_path, extra_environment=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = client.search_runs([chosen])
    assert run.info.status == "FINISHED"
    assert client.search_logged_models(experiment_ids=[chosen]) == []  # log_model=false
    assert os.path.basename(run.data.tags["mlflow.source.name"]) == "__main__.py"
