"""A completed run's model as an MLflow model, through MLflow's own Keras flavor: a `model` in the run's
Models column, loadable with `mlflow.pyfunc.load_model("runs:/<run id>/model")`, servable over REST with
`mlflow models serve`, and registrable under a name (tracking.mlflow.register_as).

The model takes the dataset's raw samples, uint8 images of its shape as `fcbaseline predict` decodes
them (or float32 feature vectors; its first layers scale or standardize them), and gives each class's
probability; the signature says so, and a few test samples are its input example. The requirements
are given (the Keras and TensorFlow this run used) rather than inferred: MLflow infers them by loading
the model in a new Python process, seconds a run.
"""

import os
from contextlib import contextmanager
from types import SimpleNamespace

import numpy as np

MODEL_NAME = "model"  # runs:/<run id>/model
EXAMPLE_IMAGES = 2


def signature(image_shape, num_classes: int, dtype: str = "uint8"):
    """Raw samples in (uint8 images, or float32 feature vectors), one probability per class out."""
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    pixels = TensorSpec(np.dtype(dtype), (-1, *image_shape))
    probabilities = TensorSpec(np.dtype(np.float32), (-1, num_classes))
    return ModelSignature(inputs=Schema([pixels]), outputs=Schema([probabilities]))


@contextmanager
def tracking_uri(uri: str):
    """MLflow's model logging reads the process-wide tracking URI (it has no client argument): this
    run's for the call, then what was there before, $MLFLOW_TRACKING_URI included (MLflow's
    set_tracking_uri writes that variable, and removes it when set back to none)."""
    import mlflow
    from mlflow.tracking._tracking_service import utils

    before, variable = utils._tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(before)
        if variable is not None:
            os.environ["MLFLOW_TRACKING_URI"] = variable


def save_keras_model(path, **settings) -> None:
    """mlflow.keras.save_model, with the model's folder made first: MLflow 3.17 writes the input example
    into it before making it (mlflow/mlflow#16183, open), so an example fails with FileNotFoundError."""
    import mlflow.keras

    settings.pop("validate_serving_input", None)  # Model.log's own setting, which it passes on to the flavor
    os.makedirs(path, exist_ok=True)
    mlflow.keras.save_model(path=path, **settings)


# What Model.log calls a flavor: a module's name and its save_model
KERAS_FLAVOR = SimpleNamespace(__name__="mlflow.keras", save_model=save_keras_model)


def log_keras_model(uri: str, run_id: str, model, example_images: np.ndarray, register_as=None):
    """Log `model` to the run `run_id` at `uri` as an MLflow Keras model; returns MLflow's ModelInfo.

    The logged model is created here, in the run's experiment: left to Model.log, it goes into the
    process's active experiment instead (by default experiment 0, whose files a local store keeps in
    ./mlruns), since this run was made by a client and is not MLflow's active run."""
    import keras
    import tensorflow as tf
    from mlflow import MlflowClient
    from mlflow.models import Model

    from fcbaseline.tracking.mlflow_context import source_tags

    client = MlflowClient(uri)
    run = client.get_run(run_id)
    logged = client.create_logged_model(
        experiment_id=run.info.experiment_id,
        name=MODEL_NAME,
        source_run_id=run_id,
        params=dict(run.data.params),
        tags=source_tags(),
    )
    image_shape, num_classes = tuple(model.input_shape[1:]), int(model.output_shape[-1])
    dtype = str(model.inputs[0].dtype)
    settings = {
        "artifact_path": None,
        "name": MODEL_NAME,
        "flavor": KERAS_FLAVOR,
        "model": model,
        "run_id": run_id,
        "model_id": logged.model_id,
        "signature": signature(image_shape, num_classes, dtype),
        "input_example": np.asarray(example_images[:EXAMPLE_IMAGES], dtype=dtype),
        "pip_requirements": [f"keras=={keras.__version__}", f"tensorflow=={tf.__version__}"],
        "registered_model_name": register_as,
        # MLflow would load the model again and predict the example, printing Keras' progress bar into
        # the run's log: the signature is fixed above, and tests/integration/test_mlflow_models.py serves
        # a logged model for real
        "validate_serving_input": False,
    }
    try:
        with tracking_uri(uri):
            return Model.log(**settings)
    except Exception:
        from mlflow.entities import LoggedModelStatus

        client.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)  # not left PENDING in the list
        raise
