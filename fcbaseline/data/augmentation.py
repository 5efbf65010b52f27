"""What `dataset.augment` may name, and the checks it needs: the names and each once (with the config),
and images to work on (once the data is read). Pure; the augmentation itself is training/augment.py."""

from typing import Sequence

from fcbaseline.errors import ConfigError, check_name

AUGMENTATIONS = ("flip", "translate")  # flip: left-right; translate: by up to translate_pixels each way


def validate(names: Sequence[str]) -> None:
    """Known names, each once (dataset.translate_pixels has its range in the schema)."""
    for position, name in enumerate(names):
        check_name(f"dataset.augment[{position}]", name, AUGMENTATIONS)
    if len(set(names)) != len(names):
        raise ConfigError(f"dataset.augment={list(names)} names an augmentation twice: give each once.")


def check_images(dataset_config, shape, features: bool) -> None:
    """Augmentation needs images, H x W or H x W x C, larger than the translation."""
    names, pixels = list(dataset_config.augment), dataset_config.translate_pixels
    if names and (features or len(shape) not in (2, 3)):
        kind = "feature vectors" if features else f"samples of shape {tuple(shape)}"
        raise ConfigError(
            f"dataset.augment={names} flips and translates images (H x W or H x W x C), and this dataset "
            f"holds {kind}: leave dataset.augment empty for it."
        )
    if "translate" in names and pixels >= min(shape[:2]):
        raise ConfigError(
            f"dataset.translate_pixels={pixels} would move {shape[0]}x{shape[1]} images out of sight: give fewer "
            f"pixels than the image's side, e.g. dataset.translate_pixels={max(1, min(shape[:2]) // 8)}."
        )
