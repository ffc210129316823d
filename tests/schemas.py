"""A schema unlike the project's, for testing the machinery on something it was not written for.

No id column, a text label with a positive value, a nullable float with an exclusive bound, a
nullable boolean, a five-value category, a float that goes negative, and a slice of every
operator. Tests pass it explicitly (``schema=OTHER``) to the functions that take a schema.
"""

from churn_model.spec import Column, Label, Schema, Slice

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
