"""churn_model: a customer-churn classifier shipped through validation, gates and a registry."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("churn-model")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
