"""A model on a test set: loss, accuracy, each image's class probabilities and predicted class, and
scikit-learn's classification report. Used by every run and by `fcbaseline evaluate`."""

from dataclasses import dataclass

import numpy as np

from fcbaseline import report
from fcbaseline.predictions import confused_pairs, confused_pairs_text
from fcbaseline.training.epoch import make_evaluator


@dataclass
class Evaluation:
    loss: float
    accuracy: float
    probabilities: np.ndarray  # (images, classes)
    predicted: np.ndarray  # (images,) class indices
    report_text: str  # the classification report, as printed
    per_class: dict  # the same figures, as metrics.json records them
    confused: list  # the most confused (true, predicted, images) class pairs (predictions.confused_pairs)

    @property
    def report_file(self) -> str:
        """classification_report.txt: the report and the most confused pairs."""
        return f"{self.report_text}\n{confused_pairs_text(self.confused)}"


def evaluate(model, x, y, class_names) -> Evaluation:
    loss, accuracy, probabilities = make_evaluator(model, len(class_names))(x, y)
    predicted = probabilities.argmax(axis=1)
    text, per_class = report.classification_summary(y, predicted, class_names)
    confused = confused_pairs(np.asarray(y), predicted, class_names)
    return Evaluation(loss, accuracy, probabilities, predicted, text, per_class, confused)
