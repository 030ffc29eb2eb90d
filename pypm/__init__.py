"""pypm: an npm-style package and project manager for Python."""

__version__ = "0.1.0"
