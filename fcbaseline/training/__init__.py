"""Training: the compiled epoch and evaluator (epoch.py), the per-epoch loop driving Keras callbacks
(loop.py), the checkpoint (checkpoint.py), the compiled epoch reused by the next run of the same shape
(reuse.py). `fcbaseline.training.fit` is loop.fit; it is imported on
first use, so that reading a checkpoint (resume decisions) never starts TensorFlow."""


def __getattr__(name):
    if name == "fit":
        from fcbaseline.training.loop import fit

        return fit
    raise AttributeError(f"module 'fcbaseline.training' has no attribute {name!r}")
