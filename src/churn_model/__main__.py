"""Allow ``python -m churn_model``."""

from churn_model.cli import app

app(prog_name="churn-model")
