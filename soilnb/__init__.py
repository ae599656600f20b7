"""soilnb: a runnable reproduction of Sun et al., *Self-supervised and Multi-fidelity Learning
for Extended Predictive Soil Spectroscopy*."""

__version__ = "0.2.0"
