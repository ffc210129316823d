"""The HTTP contract: request and response models derived from the schema, never written by hand.

:data:`Record` is built field by field from the schema's features (type, bounds, allowed
categories, nullability, description), so the service accepts exactly the records the training data
obeys and its OpenAPI document says so. Fields are strict (``"5"`` is not an integer, ``5.5`` is not
an integer but ``5.0`` is, as JSON Schema says), unknown fields are refused, and a nullable field
must still be sent (explicitly ``null``): a forgotten field must not silently mean "missing".

A boolean is ``true``/``false`` or the number ``1``/``0`` (``1.0``/``0.0`` too), the values
validation accepts in a training file, so a record copied from the training data is accepted;
the strings ``"true"`` and ``"1"`` are not booleans in JSON. When the schema has an id column, a
record may carry its id (a string or an integer), and the answer echoes it under the same name.
"""

from collections.abc import Mapping
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
from churn_model.spec import Column, Schema, SchemaError


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

_KIND_TYPES: dict[str, object] = {
    "int": Annotated[int, BeforeValidator(_number_only)],
    "float": float,
    "bool": Annotated[
        bool,
        BeforeValidator(_boolean),
        WithJsonSchema({"anyOf": [{"type": "boolean"}, {"enum": [0, 1]}]}),
    ],
}
_STRICT_KINDS = {"float", "bool"}

RESERVED = ("churn_probability", "churn_label", "model_id", "threshold", "predictions")
"""Names of the answer's own fields: an id column may not take one of them."""


def _definition(column: Column) -> tuple[object, object]:
    """Return the type a JSON value of ``column`` must have, and the ``Field`` with its rules."""
    rules: dict[str, Any] = {}
    if column.kind == "category":
        base: Any = Literal.__getitem__(column.categories)  # a string outside them is refused
    else:
        base = _KIND_TYPES[column.kind]
        rules["strict"] = column.kind in _STRICT_KINDS
    if column.kind == "float":
        rules["allow_inf_nan"] = False
    return base | None if column.nullable else base, Field(
        description=column.description,
        ge=column.ge,
        gt=column.gt,
        le=column.le,
        **rules,
    )


def _id_field(schema: Schema) -> dict[str, Any]:
    """The optional id field of a record and of an answer, or nothing when there is no id."""
    if schema.id is None:
        return {}
    if schema.id.name in RESERVED:
        raise SchemaError(f"invalid schema: the id column may not be called {schema.id.name!r}")
    described = Field(default=None, description=f"{schema.id.description} Optional; echoed back.")
    return {schema.id.name: (Identifier | None, described)}


def record_model(schema: Schema = SCHEMA) -> type[BaseModel]:
    """Build the model of one record from the schema's feature columns (and its optional id)."""
    fields: dict[str, Any] = {column.name: _definition(column) for column in schema.features}
    return create_model(
        "Record",
        __config__=ConfigDict(extra="forbid", title="Record"),
        __doc__="One record's features, as the training data records them.",
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

    churn_probability: float = Field(
        ge=0.0, le=1.0, description="Predicted probability of the label's positive value."
    )
    churn_label: Literal[0, 1] = Field(
        description="1 when the probability reaches the model's decision threshold, else 0."
    )


def prediction_model(schema: Schema = SCHEMA) -> type[_Prediction]:
    """The answer for one record, with the record's id echoed when the schema has an id."""
    return create_model(
        "Prediction", __base__=_Prediction, __doc__=_Prediction.__doc__, **_id_field(schema)
    )


if TYPE_CHECKING:
    # mypy cannot see through ``create_model``: to it these are the static bases.
    Record = BaseModel
    Prediction = _Prediction
else:
    Record = record_model()
    Prediction = prediction_model()


def prediction(record: BaseModel, probability: float, label: int) -> Prediction:
    """The answer for ``record``: its probability and label, and its id when it has one."""
    echoed = {SCHEMA.id.name: getattr(record, SCHEMA.id.name)} if SCHEMA.id is not None else {}
    return Prediction(churn_probability=probability, churn_label=1 if label else 0, **echoed)


def answered_probability(answer: Mapping[str, Any]) -> float:
    """The probability in one answered prediction, as JSON.

    ``answer`` is ``POST /predict``'s answer or an item of ``POST /predict/batch``'s
    ``predictions``. The one place a client in this package reads the field by name.
    """
    return float(answer["churn_probability"])


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
