"""Keys the config gained after runs were already saved, each with the value that does what the
versions without it did. A run or a sweep saved by an earlier fcbaseline resumes as it ran, instead of
failing validation (a saved config lacks the key) or rerunning every job (the key looks changed)."""

from omegaconf import DictConfig, OmegaConf

ADDED_KEYS = {  # dotted key -> the value an earlier version's run had in effect
    "model.name": "mlp",  # 2026-12-02: models by name; before, only the MLP
    "dataset.augment": [],  # 2026-12-02: augmentation; before, none
    "dataset.translate_pixels": 4,
}


def with_added_keys(saved: DictConfig) -> DictConfig:
    """A copy of a saved run config with every key of ADDED_KEYS it lacks set to that value."""
    upgraded = OmegaConf.create(OmegaConf.to_container(saved))
    for key, value in ADDED_KEYS.items():
        if OmegaConf.select(upgraded, key, default="__missing__") == "__missing__":
            OmegaConf.update(upgraded, key, value, force_add=True)
    return upgraded
