"""A model on a test set: loss, accuracy, each image's class probabilities and predicted class, and
scikit-learn's classification report. Used by every run and by `fcbaseline evaluate`."""

from dataclasses import dataclass

import numpy as np

from fcbaseline import report
from fcbaseline.training.epoch import make_evaluator


@dataclass
class Evaluation:
    loss: float
    accuracy: float
    probabilities: np.ndarray  # (images, classes)
    predicted: np.ndarray  # (images,) class indices
    report_text: str  # the classification report, as printed
    per_class: dict  # the same figures, as metrics.json records them


def evaluate(model, x, y, class_names) -> Evaluation:
    loss, accuracy, probabilities = make_evaluator(model, len(class_names))(x, y)
    predicted = probabilities.argmax(axis=1)
    text, per_class = report.classification_summary(y, predicted, class_names)
    return Evaluation(loss, accuracy, probabilities, predicted, text, per_class)
