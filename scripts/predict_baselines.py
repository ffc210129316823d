"""The two yardsticks ``just bench-predict`` sets ``churn-model predict`` against.

Run as ``python scripts/predict_baselines.py naive|limit TABLE OUTPUT MODEL_DIR``, in a process of
its own (the benchmark measures its time and peak memory):

- ``naive``: what a data scientist writes first: ``pandas.read_csv`` of the whole table, the
  fitted ``Pipeline.predict_proba`` on its feature columns, ``DataFrame.to_csv``. No validation,
  memory that grows with the table.
- ``limit``: what the model allows: the table streamed through Arrow's multi-threaded CSV reader
  (types guessed by Arrow, no validation), the compiled preprocessing
  (:mod:`churn_model.serving.fast_path`) and the fitted classifier, and Arrow's CSV
  writer, chunk by chunk. Nothing in it can be made faster without a faster model: it is the
  floor a validating, byte-exact batch scorer is measured against.

Both score with one thread, as ``churn-model predict`` does by default
(:data:`churn_model.serving.batch_scoring.THREADS`), so the three differ only in what
surrounds the model.
"""

import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from threadpoolctl import threadpool_limits

from churn_model.domain.schema import SCHEMA
from churn_model.serving.answer_names import predicted_field, probability_field
from churn_model.serving.batch_scoring import THREADS
from churn_model.serving.served_model import (
    CompiledModel,
    load_compiled_model,
)

BLOCK_BYTES = 16 << 20
"""The bytes Arrow's reader parses at a time: about as many rows as a chunk of ``predict``."""


def naive(table: Path, output: Path, model: CompiledModel) -> None:
    """Read the whole table with pandas, score it with the pipeline, write it with pandas."""
    frame = pd.read_csv(table)
    probability = model.pipeline.predict_proba(frame[SCHEMA.feature_names()])[:, 1]
    positive = probability >= model.card.threshold
    label = SCHEMA.label
    frame[probability_field()] = probability
    frame[predicted_field()] = np.where(positive, label.positive, label.negative)
    frame.to_csv(output, index=False)


def _columns(batch: "pa.RecordBatch") -> dict[str, npt.NDArray[np.generic]]:
    """The features of a batch as the compiled path takes them: numbers, or Python strings."""
    columns: dict[str, npt.NDArray[np.generic]] = {}
    for column in SCHEMA.features:
        values = batch.column(column.name)
        if column.kind == "category":
            columns[column.name] = np.asarray(values.to_pylist(), dtype=object)
        else:
            columns[column.name] = np.asarray(
                pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
            )
    return columns


def limit(table: Path, output: Path, model: CompiledModel) -> None:
    """Stream the table through Arrow's reader, the compiled model and Arrow's writer."""
    compiled = model.compiled
    if compiled is None:
        sys.exit("this model has no compiled path: the limit cannot be measured with it")
    reader = pcsv.open_csv(
        table,
        read_options=pcsv.ReadOptions(block_size=BLOCK_BYTES),
        convert_options=pcsv.ConvertOptions(
            column_types={c.name: pa.string() for c in SCHEMA.features if c.kind == "category"}
        ),
    )
    writer: pcsv.CSVWriter | None = None
    label = SCHEMA.label
    try:
        for batch in reader:
            probability = compiled.positive_probability(_columns(batch))
            positive = pa.array(probability >= model.card.threshold)
            predicted = pc.if_else(positive, pa.scalar(label.positive), pa.scalar(label.negative))
            scored = pa.Table.from_batches([batch])
            scored = scored.append_column(probability_field(), pa.array(probability))
            scored = scored.append_column(predicted_field(), predicted)
            if writer is None:
                writer = pcsv.CSVWriter(output, scored.schema)
            writer.write_table(scored)
    finally:
        if writer is not None:
            writer.close()


def main() -> None:
    """Run the yardstick the first argument names."""
    kind, table, output, model_dir = sys.argv[1:5]
    model = load_compiled_model(Path(model_dir))
    with threadpool_limits(limits=THREADS):
        if kind == "naive":
            naive(Path(table), Path(output), model)
        elif kind == "limit":
            limit(Path(table), Path(output), model)
        else:
            sys.exit(f"unknown yardstick {kind!r}: naive or limit")


if __name__ == "__main__":
    main()
