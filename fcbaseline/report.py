"""Write a run's results: classification report, plots and the model (atomically, see files.py)."""

import textwrap
from pathlib import Path
from typing import Dict, List

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or wanted
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay, classification_report, confusion_matrix  # noqa: E402

from fcbaseline.files import write_atomically  # noqa: E402


def classification_summary(y_true, y_predicted, class_names):
    """(the sklearn report as text, the same figures as a dict) for the console and metrics.json."""
    labels = list(range(len(class_names)))
    text = classification_report(
        y_true, y_predicted, labels=labels, target_names=class_names, digits=4, zero_division=0
    )
    figures = classification_report(
        y_true, y_predicted, labels=labels, target_names=class_names, output_dict=True, zero_division=0
    )
    return text, figures


def plot_history(path: Path, history: Dict[str, List[float]], title: str) -> None:
    """The recipe's figure: train/val loss and accuracy per epoch on one ggplot-style chart, and below
    it the learning rate per epoch when a schedule changed it."""
    rates = history.get("learning_rate", [])
    varying = len(set(rates)) > 1
    with plt.style.context("ggplot"):
        if varying:
            figure, (axes, rate_axes) = plt.subplots(
                2, 1, figsize=(8, 8), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
            )
        else:
            figure, axes = plt.subplots(figsize=(8, 6))
        epochs = history["epoch"]
        axes.plot(epochs, history["loss"], label="train_loss")
        axes.plot(epochs, history["val_loss"], label="val_loss")
        axes.plot(epochs, history["accuracy"], label="train_acc")
        axes.plot(epochs, history["val_accuracy"], label="val_acc")
        axes.set_title(f"Training Loss and Accuracy\n{textwrap.fill(title, 64)}")
        axes.set_ylabel("Loss/Accuracy")
        axes.legend()
        if varying:
            rate_axes.plot(epochs, rates, color="tab:green", label="learning_rate")
            rate_axes.set_ylabel("Learning rate")
            rate_axes.legend()
        (rate_axes if varying else axes).set_xlabel("Epoch #")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        figure.tight_layout()
        write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=100))
        plt.close(figure)


def plot_confusion_matrix(path: Path, y_true, y_predicted, class_names, title: str) -> None:
    matrix = confusion_matrix(y_true, y_predicted, labels=list(range(len(class_names))))
    figure, axes = plt.subplots(figsize=(8, 7))
    ConfusionMatrixDisplay(matrix, display_labels=class_names).plot(
        ax=axes, cmap="Blues", colorbar=False, xticks_rotation=45, values_format="d"
    )
    axes.set_title(f"Confusion matrix (test set)\n{textwrap.fill(title, 64)}")
    figure.tight_layout()
    write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=100))
    plt.close(figure)


def drawable(sample_shape) -> bool:
    """Whether samples of this shape are pictures: H x W (grey), H x W x 1, 3 or 4; not feature vectors,
    flat vectors or other channel counts."""
    return len(sample_shape) == 2 or (len(sample_shape) == 3 and sample_shape[2] in (1, 3, 4))


def plot_misclassified(path: Path, images, true_classes, probabilities, indices, class_names, title: str) -> None:
    """The test images at `indices` (the most confidently wrong ones) in a grid, each titled with its true
    class, the class predicted and that class's probability; a note when there is none."""
    columns = 5
    rows = max(1, -(-len(indices) // columns))
    figure, grid = plt.subplots(rows, columns, figsize=(2.2 * columns, 2.5 * rows + 0.8), squeeze=False)
    for axes in grid.flat:
        axes.axis("off")
    for axes, index in zip(grid.flat, indices):
        predicted = int(np.argmax(probabilities[index]))
        image = images[index][..., 0] if images[index].shape[-1:] == (1,) and images.ndim == 4 else images[index]
        axes.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
        axes.set_title(
            f"#{index} true {class_names[true_classes[index]]}\n"
            f"taken for {class_names[predicted]} ({probabilities[index][predicted]:.2f})",
            fontsize=8,
        )
    if not len(indices):
        grid.flat[0].text(0.5, 0.5, "no test image was misclassified", ha="center", va="center")
    figure.suptitle(f"Most confidently wrong test images\n{textwrap.fill(title, 80)}", fontsize=10)
    figure.tight_layout()
    write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=100))
    plt.close(figure)


def save_model(path: Path, model) -> None:
    write_atomically(path, lambda temporary: model.save(temporary))


def best_epoch(history: Dict[str, List[float]]):
    """(best validation accuracy, its epoch), or (None, None) before the first epoch ends."""
    finite = [(value, epoch) for value, epoch in zip(history["val_accuracy"], history["epoch"]) if np.isfinite(value)]
    if not finite:
        return None, None
    value, epoch = max(finite, key=lambda pair: (pair[0], -pair[1]))
    return value, epoch
