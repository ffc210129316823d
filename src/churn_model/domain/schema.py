"""The table's contract: every column, its type and allowed values, the slices, the dataset rules.

This module is *domain*: it is the one place that says what a valid customer record is. Data
validation (before training and batch scoring), the HTTP request models, the synthetic test data,
the evaluation slices and the model card are all derived from :data:`SCHEMA`, so training and
serving cannot disagree about the input. Adapting the template to another table starts here:
``just infer-schema path/to/extract.csv`` drafts this file from your data.
"""

from churn_model.table import Column, Label, Schema, Slice

SCHEMA = Schema(
    id=Column("customer_id", "id", "Unique customer identifier."),
    label=Label(
        "churned",
        positive=1,
        negative=0,
        description="1 if the customer churned in the following period, else 0.",
    ),
    features=(
        Column("tenure_months", "int", "Months since the customer signed up.", ge=0, le=120),
        Column(
            "monthly_charges", "float", "Current monthly bill, in currency units.", gt=0, le=10_000
        ),
        Column(
            "total_charges", "float", "Amount billed over the whole tenure.", ge=0, le=1_200_000
        ),
        Column("num_products", "int", "Number of products the customer holds.", ge=1, le=10),
        Column(
            "has_support_calls", "bool", "Whether the customer called support in the last 90 days."
        ),
        Column(
            "contract_type",
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
    ),
    # The sub-populations a model must not fail silently. Customers who never purchased are the
    # classic casualty of training code that drops rows with missing values; each contract type is
    # a business segment. ci/gates.toml puts floors on them by these names.
    slices=(
        Slice("never_purchased", "days_since_last_purchase", "is_missing"),
        Slice("contract", "contract_type", "each"),
    ),
    min_rows=500,
    # The share of churners a sane extract has; outside it, the extract or its labels are broken.
    positive_rate=(0.05, 0.60),
)
