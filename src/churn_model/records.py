"""The records every stage shares: a frozen pydantic base, and reading and writing one as JSON.

Model cards, metrics, verdicts, the baseline, the registry's pointer, the configuration: each is a
:class:`Record`, so a field nobody declared is refused and nothing changes a record once it is made.
Read from a file, a record that does not validate is a ``UserError`` naming the file, what it
should have been and the first fields that are wrong, in one line.
"""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from churn_model.errors import UserError
from churn_model.files import write_atomic


class Record(BaseModel):
    """A frozen record that refuses undeclared fields: the base of every record the stages share."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def field_errors(error: ValidationError) -> list[str]:
    """Each failure of ``error`` as ``field.path: why`` (``(top level)`` for the whole record)."""
    return [
        f"{'.'.join(str(part) for part in failure['loc']) or '(top level)'}: {failure['msg']}"
        for failure in error.errors()
    ]


def _first_field_errors(error: ValidationError, limit: int = 3) -> str:
    """The first ``limit`` of :func:`field_errors` on one line, with how many more there are."""
    found = field_errors(error)
    more = f"; and {len(found) - limit} more" if len(found) > limit else ""
    return "; ".join(found[:limit]) + more


def read_record[Kind: BaseModel](path: Path, kind: type[Kind], what: str) -> Kind:
    """Read ``path`` as JSON and validate it as ``kind``; an invalid file is a UserError.

    The error reads ``<path>: invalid <what> (<the first fields and why>)``. A missing file raises
    :class:`FileNotFoundError`, for the caller to say what its absence means (none yet, or a
    mistake).
    """
    try:
        return kind.model_validate_json(path.read_bytes())
    except ValidationError as error:
        raise UserError(f"{path}: invalid {what} ({_first_field_errors(error)})") from None


def write_record(path: Path, record: BaseModel) -> None:
    """Write ``record`` to ``path`` as indented JSON, atomically (see :func:`write_atomic`)."""
    write_atomic(path, (record.model_dump_json(indent=2) + "\n").encode())
