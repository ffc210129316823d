"""The names scoring gives its answer, after the schema's label: what every way of scoring shares.

``<label>_probability`` is the probability of the label's positive value,
``<label>_predicted`` the predicted value itself, one of the two the schema's
:class:`~churn_model.table.Label` declares (``1``/``0``, ``true``/``false``,
``"Yes"``/``"No"``). Batch scoring adds columns of these names to the table it scores;
every other answer uses the same names.
"""

from churn_model.domain.schema import SCHEMA
from churn_model.table import Schema, SchemaError


def probability_field(schema: Schema = SCHEMA) -> str:
    """The name of the probability of the label's positive value: ``<label>_probability``.

    The column batch scoring adds, and the field of every other answer: the one place other code
    (the gate, tests, benchmarks) finds it.
    """
    return f"{schema.label.name}_probability"


def predicted_field(schema: Schema = SCHEMA) -> str:
    """The name of the predicted label value: ``<label>_predicted`` (beside the label, if any)."""
    return f"{schema.label.name}_predicted"


def check_added_columns(schema: Schema = SCHEMA) -> None:
    """Refuse a schema with a feature named as a column batch scoring adds.

    The output keeps every input column, so a feature of that name could never be scored.

    Raises:
        SchemaError: one sentence naming the column and the name it takes.
    """
    added = (probability_field(schema), predicted_field(schema))
    for column in schema.features:
        if column.name in added:
            raise SchemaError(
                f"invalid schema: column {column.name!r}: batch scoring adds a column of that "
                f"name (named after the label {schema.label.name!r}); rename the feature"
            )
