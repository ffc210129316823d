"""The HTTP contract: request and answer models derived from the schema, never written by hand.

:data:`Record` is built field by field from the schema's features (type, bounds, allowed
categories, nullability, description), so the service accepts exactly the records the training data
obeys and its OpenAPI document says so. Fields are strict (``"5"`` is not an integer, ``5.5`` is not
an integer but ``5.0`` is, as JSON Schema says), and a nullable field must still be sent
(explicitly ``null``): a forgotten field must not silently mean "missing". A number is a JSON
number, whose grammar (RFC 8259) is the one rule a file's field is read by too
(:mod:`churn_model.data.parsing`): ``1_000``, ``+5``, ``.5``, ``007`` are numbers in
neither.

**Columns the model does not read are ignored**: every feature is required, the id is optional
(and echoed), and any other key (the label, a column of the extract the schema does not declare)
is accepted and dropped (batch scoring carries such columns through, and checks a label value
present against the label's two). So a record copied from a scored file is
accepted, and a misspelt feature is still refused, as missing.

The JSON keys are the column names exactly, whatever they are (``monthly charges``, ``2nd-line``,
``model_config``): each field carries its column's name as its alias, and the attribute that holds
it in Python is generated (:func:`record_fields`).

A boolean is ``true``/``false`` or the number ``1``/``0`` (``1.0``/``0.0`` too), the values
validation accepts in a training file, so a record copied from the training data is accepted;
the strings ``"true"`` and ``"1"`` are not booleans in JSON. When the schema has an id column, a
record may carry its id (a string or an integer), and the answer echoes it under the same name.

The answer speaks the label's language: ``<label>_probability`` is the probability of the label's
positive value, ``<label>_predicted`` the predicted value itself, one of the two the
schema's :class:`~churn_model.table.Label` declares (``1``/``0``, ``true``/``false``,
``"Yes"``/``"No"``).
Batch scoring adds columns of the same names
(:mod:`churn_model.serving.answer_names`).
"""

import json
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    create_model,
)
from pydantic_core import PydanticCustomError

from churn_model.domain.schema import SCHEMA
from churn_model.serving.answer_names import (
    check_added_columns,
    predicted_field,
    probability_field,
)
from churn_model.table import Column, LabelValue, Schema, SchemaError


def _number_only(value: object) -> object:
    """Refuse a string or a boolean where an integer is expected (``"5"``, ``true``).

    JSON Schema calls ``5.0`` an integer, so the int fields run in lax mode (which accepts it and
    still refuses ``5.5``); lax mode alone would also accept ``"5"`` and ``true``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def _boolean(value: object) -> object:
    """Accept ``true``/``false`` and the numbers ``1``/``0``; refuse anything else (``"true"``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in {0, 1}:
        return bool(value)
    raise PydanticCustomError("bool_type", "Input should be true, false, 1 or 0")


ID_LENGTH = 64
"""Longest id a record may carry as a string (characters)."""

ID_LIMIT = 2**63
"""An integer id lies in ``[-ID_LIMIT, ID_LIMIT)``, the range of a 64-bit integer."""


def _identifier(value: object) -> object:
    """Accept an id as a string or an integer (a ``null`` is handled by the optional type).

    As JSON Schema says, ``30.0`` is the integer ``30`` (and is echoed as ``30``).
    """
    if isinstance(value, str):
        if len(value) > ID_LENGTH:
            raise PydanticCustomError("id_too_long", f"An id has at most {ID_LENGTH} characters")
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and -ID_LIMIT <= value < ID_LIMIT:
        return value
    raise PydanticCustomError("id_type", "Input should be a string or a 64-bit integer")


Identifier = Annotated[
    StrictStr | StrictInt,
    BeforeValidator(_identifier),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": ID_LENGTH},
                {"type": "integer", "minimum": -ID_LIMIT, "maximum": ID_LIMIT - 1},
            ]
        }
    ),
]
"""An id as a record carries it: a string or an integer, echoed back as it came."""

_CHECKS: dict[str, tuple[type, tuple[object, ...]]] = {
    "int": (int, (BeforeValidator(_number_only),)),
    "float": (float, ()),
    "bool": (
        bool,
        (
            BeforeValidator(_boolean),
            WithJsonSchema({"anyOf": [{"type": "boolean"}, {"enum": [0, 1]}]}),
        ),
    ),
}
"""Each kind's Python type, and what checks a JSON value before the type's own rules apply."""
_STRICT_KINDS = {"float", "bool"}

MODEL_ID = "model_id"
THRESHOLD = "threshold"


def reserved_names(schema: Schema = SCHEMA) -> tuple[str, ...]:
    """Names of the answer's own fields: the id column, echoed beside them, may not take one."""
    return (probability_field(schema), predicted_field(schema), MODEL_ID, THRESHOLD)


def check_names(schema: Schema = SCHEMA) -> None:
    """Refuse a schema whose columns would clash with the answer's names.

    A feature may not be called as a column batch scoring adds (the output keeps every input
    column), the id may not be called as any field of an answer (it is echoed beside them).

    Raises:
        SchemaError: one sentence naming the column and the name it takes.
    """
    check_added_columns(schema)
    reserved = reserved_names(schema)
    if schema.id is not None and schema.id.name in reserved:
        raise SchemaError(
            f"invalid schema: the id column may not be called {schema.id.name!r}, the name of a "
            f"field of the answer ({', '.join(reserved)})"
        )


ID_ATTRIBUTE = "record_id"
"""The attribute of a validated record (and of an answer) that holds the id, when there is one."""


@cache
def record_fields(schema: Schema = SCHEMA) -> dict[str, str]:
    """The attribute of a validated record holding each column (features, then the id), by name.

    Attributes are generated (``feature_0``, ``feature_1``, ..., :data:`ID_ATTRIBUTE`), never the
    column names themselves: a column may be called anything, ``monthly charges``, ``2nd-line``,
    ``_private`` or ``model_config``, none of which a Python attribute of a model can be.
    """
    fields = {column.name: f"feature_{i}" for i, column in enumerate(schema.features)}
    return fields | ({schema.id.name: ID_ATTRIBUTE} if schema.id is not None else {})


def _definition(column: Column) -> tuple[object, object]:
    """Return the type a JSON value of ``column`` must have, and the ``Field`` that names it.

    The value's rules (bounds, strictness, no infinity) sit on the value's own type, inside the
    optional of a nullable column: so the OpenAPI document states them as JSON Schema does
    (``minimum``, ``maximum``) whatever the kind, and ``null`` stays the only other value.
    """
    if column.kind == "category":
        value: Any = Literal.__getitem__(column.categories)  # a string outside them is refused
    else:
        rules: dict[str, Any] = {"strict": column.kind in _STRICT_KINDS}
        if column.kind == "float":
            rules["allow_inf_nan"] = False
        kind, checks = _CHECKS[column.kind]
        bounds = Field(ge=column.ge, gt=column.gt, le=column.le, **rules)
        # The bounds first, on the type itself: so JSON Schema states them (minimum, maximum)
        # even where a check runs before the type's own (a function-before schema hides them).
        value = Annotated[kind, bounds, *checks]
    named = Field(alias=column.name, title=column.name, description=column.description)
    return value | None if column.nullable else value, named


def _id_field(schema: Schema) -> dict[str, Any]:
    """The optional id field of a record and of an answer, or nothing when there is no id."""
    if schema.id is None:
        return {}
    described = Field(
        default=None,
        alias=schema.id.name,
        title=schema.id.name,
        description=f"{schema.id.description} Optional; echoed back.",
    )
    return {ID_ATTRIBUTE: (Identifier | None, described)}


def record_model(schema: Schema = SCHEMA) -> type[BaseModel]:
    """Build the model of one record from the schema's feature columns (and its optional id).

    Keys are read by column name (the fields' aliases); any other key is ignored.

    Raises:
        SchemaError: a column clashes with the answer's names (:func:`check_names`).
    """
    check_names(schema)
    attributes = record_fields(schema)
    fields: dict[str, Any] = {
        attributes[column.name]: _definition(column) for column in schema.features
    }
    return create_model(
        "Record",
        __config__=ConfigDict(extra="ignore", title="Record"),
        __doc__="One record's features, as the training data records them. Keys that are not "
        "features (nor the id) are ignored.",
        **_id_field(schema),
        **fields,
    )


MAX_PROBLEMS = 20
"""Most problems one error answer lists: validation stops there, so an answer stays small."""


class Problem(BaseModel):
    """One thing wrong with a request."""

    field: str = Field(description="Dotted path of the offending field ('' for the whole body).")
    message: str
    type: str


class ErrorResponse(BaseModel):
    """The body of every 4xx answer to a bad request."""

    message: str = Field(description="One line per problem: field, then what is wrong.")
    detail: list[Problem] = Field(
        description=f"The problems, at most {MAX_PROBLEMS}: validation stops there."
    )
    truncated: bool = Field(
        default=False,
        description=f"Validation stopped after {MAX_PROBLEMS} problems; there may be more.",
    )


class _Prediction(BaseModel):
    """The model's answer for one record."""

    model_config = ConfigDict(serialize_by_alias=True)

    probability: float
    predicted: LabelValue


def prediction_model(schema: Schema = SCHEMA) -> type[_Prediction]:
    """The answer for one record, its fields named after the schema's label.

    ``<label>_probability`` is the probability of the label's positive value and
    ``<label>_predicted`` one of the label's two values (typed: a Literal of the two, so the
    OpenAPI document lists them); the record's id is echoed when the schema has an id. Fields are
    read and written by those names (their aliases).

    Raises:
        SchemaError: a column clashes with the answer's names (:func:`check_names`).
    """
    check_names(schema)
    label = schema.label
    values: Any = Literal.__getitem__((label.positive, label.negative))
    positive, negative = json.dumps(label.positive), json.dumps(label.negative)  # 1, true, "Yes"
    return create_model(
        "Prediction",
        __base__=_Prediction,
        __doc__=_Prediction.__doc__,
        probability=(
            float,
            Field(
                alias=probability_field(schema),
                title=probability_field(schema),
                ge=0.0,
                le=1.0,
                description=f"Predicted probability that {label.name} is {positive}.",
            ),
        ),
        predicted=(
            values,
            Field(
                alias=predicted_field(schema),
                title=predicted_field(schema),
                description=f"{positive} when the probability reaches the model's decision "
                f"threshold, else {negative}.",
            ),
        ),
        **_id_field(schema),
    )


if TYPE_CHECKING:
    # mypy cannot see through ``create_model``: to it these are the static bases.
    Record = BaseModel
    Prediction = _Prediction
else:
    Record = record_model()
    Prediction = prediction_model()


def prediction(record: BaseModel, probability: float, positive: int) -> Prediction:
    """The answer for ``record``: its probability, its predicted value, and its id if it has one.

    ``positive`` is 1 when the probability reached the threshold (the label's positive value is
    predicted), else 0.
    """
    label = SCHEMA.label
    answer: dict[str, object] = {
        probability_field(): probability,
        predicted_field(): label.positive if positive else label.negative,
    }
    if SCHEMA.id is not None:
        answer[SCHEMA.id.name] = getattr(record, ID_ATTRIBUTE)
    return Prediction.model_validate(answer)


def summary(schema: Schema = SCHEMA) -> str:
    """What the service predicts, in the schema's words (the OpenAPI document's summary)."""
    return f"Predicts {schema.label.name}: {schema.label.description}"


def answered_probability(answer: Mapping[str, Any]) -> float:
    """The probability in one answered prediction, as JSON.

    ``answer`` is ``POST /predict``'s answer or an item of ``POST /predict/batch``'s
    ``predictions``. The one place a client in this package reads the field by name.
    """
    return float(answer[probability_field()])


class PredictionResponse(Prediction):
    """The answer to ``POST /predict``."""

    model_id: str = Field(description="Id of the model card of the model that answered.")
    threshold: float = Field(description="The decision threshold the label was taken at.")


class BatchResponse(BaseModel):
    """The answer to ``POST /predict/batch``: one prediction per record, in request order."""

    model_id: str = Field(description="Id of the model card of the model that answered.")
    threshold: float = Field(description="The decision threshold the labels were taken at.")
    predictions: list[Prediction]


class _BatchBase(BaseModel):
    """What every batch request model provides to the code (the list is typed by the subclass)."""

    model_config = ConfigDict(extra="forbid")

    records: list[Record]


def batch_model(max_records: int) -> type[_BatchBase]:
    """Build the batch request model: between 1 and ``max_records`` records."""
    return create_model(
        "BatchRequest",
        __base__=_BatchBase,
        __doc__=f"Between 1 and {max_records} records, scored in order.",
        records=(
            list[Record],
            Field(min_length=1, max_length=max_records, description="The records to score."),
        ),
    )


BatchRequest = _BatchBase
"""The static type of a batch request, for annotations (the served model adds the size limits)."""
