"""Commands on finished runs and sweeps, outside Hydra: `fcbaseline evaluate`, `predict` and `summarize`."""
