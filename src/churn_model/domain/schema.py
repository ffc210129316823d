"""The dataset's contract: every column, its type, its allowed values, and the dataset-wide rules.

This module is *domain*: it is the one place that says what a valid customer record is. The data
validation (pandera, before training and batch scoring) and the request models of the HTTP service
(pydantic) are both derived from it, so training and serving cannot disagree about the input.
Adapting the template to another dataset starts here.
"""

from dataclasses import dataclass
from typing import Literal

ColumnKind = Literal["id", "int", "float", "bool", "category", "label"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the dataset and the rules its values obey.

    Attributes:
        name: The column name, as in the file and in request bodies.
        kind: How values are typed: an identifier string, an integer, a float, a boolean, a
            category from ``categories``, or the 0/1 label.
        description: What the column means, shown in docs and in the OpenAPI document.
        ge: Inclusive lower bound, if any.
        gt: Exclusive lower bound, if any.
        le: Inclusive upper bound, if any.
        categories: The allowed values of a ``category`` column.
        nullable: Whether a value may be missing (and what missing means is in ``description``).
    """

    name: str
    kind: ColumnKind
    description: str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    categories: tuple[str, ...] = ()
    nullable: bool = False


ID = Column("customer_id", "id", "Unique customer identifier.")

TARGET = Column("churn", "label", "1 if the customer churned in the following period, else 0.")

FEATURES: tuple[Column, ...] = (
    Column("tenure_months", "int", "Months since the customer signed up.", ge=0, le=120),
    Column("monthly_charges", "float", "Current monthly bill, in currency units.", gt=0, le=10_000),
    Column("total_charges", "float", "Amount billed over the whole tenure.", ge=0, le=1_200_000),
    Column("num_products", "int", "Number of products the customer holds.", ge=1, le=10),
    Column("has_support_calls", "bool", "Whether the customer called support in the last 90 days."),
    Column(
        "contract",
        "category",
        "Contract type.",
        categories=("month-to-month", "one-year", "two-year"),
    ),
    Column(
        "payment_method",
        "category",
        "How the customer pays.",
        categories=("credit-card", "bank-transfer", "electronic-check", "mailed-check"),
    ),
    Column(
        "days_since_last_purchase",
        "float",
        "Days since the last purchase; missing when the customer never purchased.",
        ge=0,
        le=10_000,
        nullable=True,
    ),
)

COLUMNS: tuple[Column, ...] = (ID, *FEATURES, TARGET)

# Dataset-wide rules, checked before training.
MIN_ROWS = 500
"""Fewer rows than this cannot train and evaluate a model worth gating."""

POSITIVE_RATE_RANGE = (0.05, 0.60)
"""The share of churners a sane extract has; outside it, the extract or its labels are broken."""


def feature_names() -> list[str]:
    """Return the model's input columns, in the order the pipeline expects them."""
    return [column.name for column in FEATURES]
