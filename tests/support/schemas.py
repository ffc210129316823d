"""A schema unlike the project's, for testing the machinery on something it was not written for.

No id column, a text label with a positive value, a nullable float with an exclusive bound, a
nullable boolean, a five-value category, a float that goes negative, and a slice of every
operator. Tests pass it explicitly (``schema=OTHER``) to the functions that take a schema.
``RANKED`` has an ordered category and a 200-value one.
"""

from churn_model.table import Column, Label, Schema, Slice

OTHER = Schema(
    features=(
        Column("amount", "float", "Amount of the order.", gt=0, le=5_000, nullable=True),
        Column("visits", "int", "Visits in the last year.", ge=0, le=50),
        Column(
            "region",
            "category",
            "Where the order was placed.",
            categories=("north", "south", "east", "west", "centre"),
        ),
        Column("member", "bool", "Whether the buyer is a member.", nullable=True),
        Column("score", "float", "A score between -1 and 1.", ge=-1, le=1),
    ),
    label=Label("outcome", positive="yes", negative="no", description="Whether they returned it."),
    slices=(
        Slice("no_amount", "amount", "is_missing"),
        Slice("region", "region", "each"),
        Slice("south_or_east", "region", "in", ("south", "east")),
        Slice("members", "member", "eq", True),
        Slice("few_visits", "visits", "lt", 5),
        Slice("many_visits", "visits", "ge", 40),
        Slice("middling", "score", "between", (-0.5, 0.5)),
    ),
    min_rows=100,
    positive_rate=(0.1, 0.9),
)

REGIONS = tuple(f"région {number:03d}" for number in range(200))
"""Two hundred values, not ASCII: a category as large as real tables have (a region code)."""

RANKED = Schema(
    features=(
        Column("spend", "float", "Spend last month.", ge=0, le=1_000),
        Column(
            "grade",
            "category",
            "A rating, lowest first; missing when not rated.",
            categories=("Low", "Medium", "High", "Very_High"),
            nullable=True,
            ordered=True,
        ),
        Column("region", "category", "Where the customer lives.", categories=REGIONS),
        Column("active", "bool", "Whether the customer logged in this month."),
    ),
    label=Label("left", positive="Yes", negative="No", description="Whether the customer left."),
    slices=(
        Slice("grade", "grade", "each"),
        Slice("top_grade", "grade", "eq", "Very_High"),
        Slice("ungraded", "grade", "is_missing"),
    ),
    min_rows=200,
    positive_rate=(0.1, 0.9),
)
"""An ordered category (nullable, with slices on it) beside a 200-value unordered one."""

ODD = Schema(
    id=Column("Record ID", "id", "The row's id, named as a spreadsheet would."),
    features=(
        Column("monthly charges", "float", "A name with a space.", ge=0, le=1_000),
        Column("2nd-line", "int", "A leading digit and a dash.", ge=0, le=9),
        Column("Tenure", "int", "A capital.", ge=0, le=120, nullable=True),
        Column("_hidden", "bool", "A leading underscore.", nullable=True),
        Column("model_config", "category", "Pydantic's own name.", categories=("a", "b", "c")),
        Column("copy", "float", "A method of every model.", ge=-1, le=1),
        Column("json", "bool", "Another method."),
        Column("schema", "int", "Another method.", ge=0, le=3),
        Column("feature_0", "float", "The attribute name of another column.", ge=0, le=1),
        Column("record_id", "category", "The id's attribute name.", categories=("x", "y")),
        Column("naïve", "float", "Not ASCII.", ge=0, le=1),
    ),
    label=Label(
        "Default status",
        positive="bad",
        negative="good",
        description="Whether the loan went bad.",
    ),
    slices=(Slice("no tenure", "Tenure", "is_missing"),),
    min_rows=100,
    positive_rate=(0.05, 0.95),
)
"""A schema of names that are no Python identifiers, or are pydantic's own, and a text label."""
