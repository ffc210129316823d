"""The schema strategies reach every corner real tables bring, and draw tables that validate.

Cheap: drawing a table only builds a schema and its synthetic rows; nothing is trained or served.
``hypothesis.find`` draws tables until, between them, they are in every corner of
``schema_strategies.CORNERS``; the tables written down (``EXAMPLES``, run end to end) are too.
"""

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis.errors import NoSuchExample

from churn_model.data.tables import read_whole, write_csv
from churn_model.data.validation import validate

from drawn_tables import DrawnTable
from schema_strategies import CORNERS, EXAMPLES, corners_of, drawn_tables

SEARCH = settings(
    max_examples=1_000,
    derandomize=True,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def test_the_strategies_reach_every_corner() -> None:
    reached: dict[str, int] = {}  # corner -> the draw that first reached it
    drawn = 0

    def all_reached(table: DrawnTable) -> bool:
        nonlocal drawn
        drawn += 1
        for corner in corners_of(table):
            reached.setdefault(corner, drawn)
        return len(reached) == len(CORNERS)

    try:
        find(drawn_tables(), all_reached, settings=SEARCH)
    except NoSuchExample:
        pytest.fail(f"{drawn} drawn tables never reach: {sorted(set(CORNERS) - set(reached))}")
    print(f"every corner reached within {drawn} drawn tables: {reached}")


def test_the_tables_written_down_are_in_every_corner() -> None:
    covered = set().union(*(corners_of(table) for table in EXAMPLES.values()))
    assert sorted(set(CORNERS) - covered) == []


@settings(
    max_examples=5,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(table=drawn_tables())
def test_drawn_rows_are_valid_rows_of_their_schema(
    table: DrawnTable, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("drawn") / "table.csv"
    write_csv(table.frame(), path, schema=table.schema)
    valid = validate(read_whole(path, schema=table.schema), str(path), schema=table.schema)
    assert len(valid) == table.rows
    assert list(valid.columns) == table.schema.column_names()


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_the_source_of_a_drawn_schema_declares_it(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(EXAMPLES[name].source(), namespace)  # noqa: S102 -- our own rendering of a schema
    assert namespace["SCHEMA"] == EXAMPLES[name].schema
