"""churn_model: a classifier shipped through validation, gates and a registry."""

from importlib.metadata import PackageNotFoundError, version

PROJECT_NAME = "churn-model"
"""The distribution's name: the package version's, and the tracked experiment's and model's."""

try:
    __version__ = version(PROJECT_NAME)
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["PROJECT_NAME", "__version__"]
