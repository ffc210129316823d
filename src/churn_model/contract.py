"""The HTTP contract: request and response models derived from the schema, never written by hand.

:data:`CustomerRecord` is built field by field from :data:`churn_model.schema.FEATURES` (type,
bounds, allowed categories, nullability, description), so the service accepts exactly the records
the training data obeys and its OpenAPI document says so. Fields are strict (``"5"`` is not an
integer, ``1`` is not a boolean, ``5.5`` is not an integer but ``5.0`` is, as JSON Schema says),
unknown fields are refused, and a nullable field must still be sent (explicitly ``null``): a
forgotten field must not silently mean "missing".
"""

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model
from pydantic_core import PydanticCustomError

from churn_model.schema import FEATURES, Column


def _number_only(value: object) -> object:
    """Refuse a string or a boolean where an integer is expected (``"5"``, ``true``).

    JSON Schema calls ``5.0`` an integer, so the int fields run in lax mode (which accepts it and
    still refuses ``5.5``); lax mode alone would also accept ``"5"`` and ``true``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


_KIND_TYPES: dict[str, object] = {
    "int": Annotated[int, BeforeValidator(_number_only)],
    "float": float,
    "bool": bool,
}
_STRICT_KINDS = {"float", "bool"}


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


def record_model() -> type[BaseModel]:
    """Build the model of one customer record from the schema's feature columns."""
    fields: dict[str, Any] = {column.name: _definition(column) for column in FEATURES}
    return create_model(
        "CustomerRecord",
        __config__=ConfigDict(extra="forbid", title="CustomerRecord"),
        __doc__="One customer's features, as the training data records them.",
        **fields,
    )


if TYPE_CHECKING:
    # mypy cannot see through ``create_model``; to it a record is a plain model.
    CustomerRecord = BaseModel
else:
    CustomerRecord = record_model()


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


class Prediction(BaseModel):
    """The model's answer for one customer."""

    churn_probability: float = Field(ge=0.0, le=1.0, description="Predicted churn probability.")
    churn_label: Literal[0, 1] = Field(
        description="1 when the probability reaches the model's decision threshold, else 0."
    )


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

    records: list[CustomerRecord]


def batch_model(max_records: int) -> type[_BatchBase]:
    """Build the batch request model: between 1 and ``max_records`` customer records."""
    return create_model(
        "BatchRequest",
        __base__=_BatchBase,
        __doc__=f"Between 1 and {max_records} customer records, scored in order.",
        records=(
            list[CustomerRecord],
            Field(min_length=1, max_length=max_records, description="The records to score."),
        ),
    )


BatchRequest = _BatchBase
"""The static type of a batch request, for annotations (the served model adds the size limits)."""
