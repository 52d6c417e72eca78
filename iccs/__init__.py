"""Core library of the ICCS coding service: taxonomy, text, embedders and the classifier."""

__version__ = "0.1.0"
