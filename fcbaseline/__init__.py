"""fcbaseline: config-driven fully-connected (MLP) baselines for image classification."""

__version__ = "0.1.0"
