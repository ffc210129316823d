"""The shared records: frozen and strict, read and written as JSON, an invalid file one sentence."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from churn_model.errors import UserError, first_line
from churn_model.records import Record, field_errors, read_record, write_record


class _Inner(Record):
    count: int


class _Outer(Record):
    name: str
    inner: _Inner
    tags: tuple[str, ...] = ()


def test_a_record_is_frozen_and_refuses_an_undeclared_field() -> None:
    record = _Outer(name="a", inner=_Inner(count=1))
    with pytest.raises(ValidationError, match="frozen"):
        record.name = "b"  # type: ignore[misc] # the assignment a frozen record refuses
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        _Outer.model_validate({"name": "a", "inner": {"count": 1}, "colour": "red"})


def test_a_record_written_is_read_back_the_same(tmp_path: Path) -> None:
    record = _Outer(name="a", inner=_Inner(count=1), tags=("x",))
    path = tmp_path / "record.json"
    write_record(path, record)
    assert path.read_text().endswith("}\n")
    assert read_record(path, _Outer, "record") == record


def test_an_invalid_file_names_itself_and_its_first_fields(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    bad = {"name": 3, "inner": {"count": "many"}, "a": 1, "b": 2}
    path.write_text(json.dumps(bad))
    with pytest.raises(UserError) as caught:
        read_record(path, _Outer, "thing")
    message = str(caught.value)
    assert message.startswith(f"{path}: invalid thing (name: Input should be a valid string; ")
    assert "inner.count: Input should be a valid integer" in message
    assert message.endswith("; and 1 more)")
    assert "\n" not in message


def test_a_file_that_is_not_json_is_invalid_and_a_missing_one_is_the_callers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "record.json"
    path.write_bytes(b"\xff\xfe not json")
    with pytest.raises(UserError, match=r"invalid thing \(\(top level\): Invalid JSON"):
        read_record(path, _Outer, "thing")
    with pytest.raises(FileNotFoundError):
        read_record(tmp_path / "absent.json", _Outer, "thing")


def test_field_errors_name_each_field() -> None:
    with pytest.raises(ValidationError) as caught:
        _Outer.model_validate({"inner": {}})
    assert field_errors(caught.value) == ["name: Field required", "inner.count: Field required"]


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (ValueError("\n  bad value  \nTraceback follows\n"), "bad value"),
        (ValueError(""), "ValueError"),
        (OSError("   \n"), "OSError"),
    ],
)
def test_first_line_of_an_exception(error: BaseException, line: str) -> None:
    assert first_line(error) == line
