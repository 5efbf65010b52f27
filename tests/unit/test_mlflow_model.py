"""The model logged as an MLflow Keras model, in process against local SQLite stores: it lands in the run's
experiment and its files beside that store, never in ./mlruns; MLflow's process-wide tracking URI and
$MLFLOW_TRACKING_URI are as they were afterwards; pyfunc predicts what the Keras model predicts."""

import os

import keras
import mlflow
import numpy as np
from mlflow import MlflowClient

from fcbaseline.models import build_model
from fcbaseline.tracking.mlflow_model import log_keras_model
from tests.helpers import compose_config


def test_the_model_goes_to_the_run_s_experiment_and_the_process_keeps_its_mlflow_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    elsewhere = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", elsewhere)  # the user's own setting, which must stay
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    (tmp_path / "store").mkdir()
    client = MlflowClient(uri)
    experiment = client.create_experiment("runs", artifact_location=(tmp_path / "store" / "artifacts").as_uri())
    run = client.create_run(experiment)
    model = build_model(compose_config(["dataset=digits"]).model, (8, 8), 10)
    images = np.random.default_rng(0).integers(0, 256, (3, 8, 8), dtype=np.uint8)
    before = mlflow.get_tracking_uri()

    info = log_keras_model(uri, run.info.run_id, model, images, register_as="digits_mlp")

    assert os.environ["MLFLOW_TRACKING_URI"] == elsewhere and mlflow.get_tracking_uri() == before
    (logged,) = client.search_logged_models(experiment_ids=[experiment])
    assert logged.model_id == info.model_id and logged.source_run_id == run.info.run_id
    assert list((tmp_path / "store" / "artifacts").glob("models/*/artifacts/MLmodel"))
    assert not (tmp_path / "mlruns").exists()
    with_store = mlflow.MlflowClient(uri)
    assert with_store.get_registered_model("digits_mlp").name == "digits_mlp"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    predicted = np.asarray(mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model").predict(images))
    np.testing.assert_allclose(predicted, keras.ops.convert_to_numpy(model(images)), rtol=1e-6)
