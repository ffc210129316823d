"""Calibration measures every metric, reports what the gate names but cannot find, drafts a gate."""

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from churn_model.config import GateConfig, SliceMinimum, load_model_config
from churn_model.data.synthetic import synthetic_frame
from churn_model.domain.schema import SCHEMA
from churn_model.model import evaluation
from churn_model.model.training import split_table
from churn_model.release import calibration
from churn_model.release.calibration import COUNTS, Spread

from model_support import FAST_TIMING, RowSlices, fast_config, lenient_gates
from rich_tables import column_text, rendered

SEEDS = [1, 2, 3]


def _tiny(frame: pd.DataFrame, test_size: float) -> list[int]:
    """Two negative rows of ``frame`` that seeds 1, 2, 3 hold 0, 1 and 2 of in their held-out split.

    Chosen from the splits themselves, so the slice holds what the test says under any schema.
    """
    held = [set(split_table(frame, test_size, seed)[1].index) for seed in SEEDS]
    negative = frame.index[SCHEMA.label.encode(frame[SCHEMA.label.name]) == 0]
    both = [row for row in negative if row in held[1] and row in held[2] and row not in held[0]]
    last = [row for row in negative if row in held[2] and row not in held[0] | held[1]]
    return [int(both[0]), int(last[0])]


def _measured_slices(runs: list[dict[str, float | None]]) -> list[str]:
    """The schema's slices whose recall some seed measured (held a positive of)."""
    return [
        name
        for name in SCHEMA.slice_names()
        if any(run[f"slices.{name}.recall"] is not None for run in runs)
    ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, float | None]]:
    """Three seeds, with one more slice than the schema's: ``tiny``, two rows of the table."""
    config = load_model_config(fast_config(tmp_path_factory.mktemp("calibrate") / "model.toml"))
    frame = synthetic_frame(1_500, seed=3)
    tiny = _tiny(frame, config.split.test_size)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluation, "SCHEMA", RowSlices(tiny=tiny))
        return calibration.run_seeds(frame, config, SEEDS)


def test_a_slice_some_seeds_hold_no_row_of_is_measured_not_a_crash(
    runs: list[dict[str, float | None]],
) -> None:
    assert [run["slices.tiny.rows"] for run in runs] == [0, 1, 2]
    assert [run["slices.tiny.recall"] for run in runs] == [None] * 3  # no positive among them
    found = {spread.metric: spread for spread in calibration.spreads(runs)}
    assert found["slices.tiny.rows"].min == 0
    assert found["slices.tiny.accuracy"].runs == 2
    assert "slices.tiny.recall" not in found


def test_the_draft_floors_only_slices_every_seed_held_enough_of(
    runs: list[dict[str, float | None]],
) -> None:
    found = calibration.spreads(runs)
    by_name = {spread.metric: spread for spread in found}
    for minimum in (SliceMinimum(), SliceMinimum(min_rows=1, min_positives=1)):
        text = calibration.draft_gates(found, [1, 2, 3], "sample.csv", minimum)
        drafted = GateConfig.model_validate(tomllib.loads(text))
        assert drafted.slices == minimum
        notes = calibration.draft_notes(found, [1, 2, 3], minimum)
        for name in [*SCHEMA.slice_names(), "tiny"]:
            rows, positives = (by_name[f"slices.{name}.{count}"].min for count in COUNTS)
            if minimum.shortfall(rows, positives) is None:
                assert not any(note.startswith(f"slice {name!r}") for note in notes)
                continue
            assert name not in drafted.slice_floors
            said = f"slice {name!r} gets no floor: the fewest over the seeds were {rows:,.0f}"
            assert any(note.startswith(said) for note in notes), notes
            assert f"#   {name}: the fewest over the seeds were" in text
        assert "tiny" not in drafted.slice_floors


def test_with_no_slice_measurable_the_draft_says_so(runs: list[dict[str, float | None]]) -> None:
    found = calibration.spreads(runs)
    text = calibration.draft_gates(found, [1, 2, 3], "s.csv", SliceMinimum(min_rows=10**6))
    drafted = GateConfig.model_validate(tomllib.loads(text))
    assert drafted.slice_floors == {}
    assert f"# {calibration.NO_SLICE_FLOORS}" in text
    assert "the schema declares no slice, or none was measurable on every seed" in text


def test_every_measured_metric_gets_a_spread(runs: list[dict[str, float | None]]) -> None:
    found = {spread.metric: spread for spread in calibration.spreads(runs)}
    for name in _measured_slices(runs):
        assert f"slices.{name}.recall" in found
    assert {"overall.roc_auc", "overall.accuracy", "model_loaded_bytes"} <= set(found)
    assert {f"latency.{name}.cpu_p50_ms" for name in FAST_TIMING.runs} <= set(found)
    auc = found["overall.roc_auc"]
    assert auc.runs == 3
    assert auc.min <= auc.mean <= auc.max
    assert auc.std > 0


def test_the_gates_limits_sit_beside_and_unknown_names_are_listed(
    runs: list[dict[str, float | None]],
) -> None:
    gates = lenient_gates()
    typo = gates.model_copy(
        update={"slice_floors": {**gates.slice_floors, "never_seen": {"recall": 0.8}}}
    )
    found = calibration.spreads(runs, typo)
    auc = next(s for s in found if s.metric == "overall.roc_auc")
    assert (auc.floor, auc.max_drop) == (gates.floors["roc_auc"], gates.max_drop["roc_auc"])
    # A slice of one value among hundreds may hold no positive on any seed's held-out rows.
    measured = _measured_slices(runs)
    never = [f"slices.{name}.recall" for name in SCHEMA.slice_names() if name not in measured]
    assert calibration.unmeasured(found, typo) == [*never, "slices.never_seen.recall"]
    assert calibration.unmeasured(found, gates) == never


def test_the_draft_is_a_valid_gate_config_following_the_rule(
    runs: list[dict[str, float | None]], tmp_path: Path
) -> None:
    found = calibration.spreads(runs)
    text = calibration.draft_gates(found, [1, 2, 3], "sample.csv")
    drafted = GateConfig.model_validate(tomllib.loads(text))
    by_name = {spread.metric: spread for spread in found}
    for metric, floor in drafted.floors.items():
        spread = by_name[f"overall.{metric}"]
        assert floor <= spread.min
        assert floor <= spread.mean - 4 * spread.std + 1e-9
    for name, floors in drafted.slice_floors.items():
        assert name in SCHEMA.slice_names()
        assert by_name[f"slices.{name}.rows"].min >= drafted.slices.min_rows
        assert by_name[f"slices.{name}.positives"].min >= drafted.slices.min_positives
        for metric, floor in floors.items():
            assert floor <= by_name[f"slices.{name}.{metric}"].min
    for metric, drop in drafted.max_drop.items():
        spread = by_name[f"overall.{metric}"]
        assert drop > spread.max - spread.min
        assert drop > 3 * 2**0.5 * spread.std
    assert drafted.size.max_loaded_bytes >= 3 * by_name["model_loaded_bytes"].max
    assert drafted.latency.factor == calibration.LATENCY_FACTOR
    for run, floor in drafted.latency.floor_ms.items():
        assert floor >= by_name[f"latency.{run}.cpu_p50_ms"].mean / 4
    assert "Drafted by `just calibrate`" in text
    (tmp_path / "gates.toml").write_text(calibration.gates_toml(drafted))


@pytest.mark.parametrize(
    ("mean", "std", "low", "expected"),
    [
        (0.9, 0.01, 0.88, 0.86),
        (0.62, 0.0165, 0.585, 0.55),
        (0.2, 0.1, 0.05, None),
        # Every seed perfect (a slice never missed): one step under, not a floor one miss fails.
        (1.0, 0.0, 1.0, 0.99),
        (0.9, 0.0, 0.9, 0.89),
    ],
)
def test_floors_are_four_deviations_under_the_mean_or_left_out(
    mean: float, std: float, low: float, expected: float | None
) -> None:
    spread = calibration.Spread(
        metric="overall.recall", runs=20, mean=mean, std=std, min=low, max=1
    )
    assert calibration.draft_floor(spread, 20) == expected
    assert calibration.draft_floor(spread, 21) is None  # a seed could not measure it


def test_an_auc_floor_at_chance_is_left_out() -> None:
    spread = calibration.Spread(
        metric="slices.x.roc_auc", runs=5, mean=0.6, std=0.03, min=0.55, max=0.65
    )
    assert calibration.draft_floor(spread, 5) is None


@pytest.mark.parametrize(
    ("std", "span", "expected"),
    [(0.0076, 0.026, 0.035), (0.0165, 0.0681, 0.075), (0.0, 0.01, 0.015)],
)
def test_drops_exceed_the_noise(std: float, span: float, expected: float) -> None:
    spread = calibration.Spread(
        metric="overall.f1", runs=5, mean=0.5, std=std, min=0.5, max=0.5 + span
    )
    assert calibration.draft_drop(spread) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "expected"), [(43.96, 50), (56.9, 100), (4.45e6, 5e6), (2.0, 2.0), (0.7, 1.0)]
)
def test_budgets_round_up_to_1_2_or_5(value: float, expected: float) -> None:
    assert calibration.nice_ceiling(value) == pytest.approx(expected)


def _spread(metric: str, mean: float, std: float, low: float) -> Spread:
    return Spread(metric=metric, runs=20, mean=mean, std=std, min=low, max=mean + (mean - low))


@pytest.mark.parametrize(
    ("spread", "floor", "drop", "lenient"),
    [
        # Half of a recall of 0.50 is 0.25: a floor at or under it would pass that model.
        (_spread("slices.x.recall", 0.5, 0.07, 0.3), 0.25, None, True),
        (_spread("slices.x.recall", 0.5, 0.07, 0.3), 0.26, None, False),
        # ROC AUC: half of its lead over chance, 0.5 + (0.74 - 0.5) / 2 = 0.62.
        (_spread("slices.x.roc_auc", 0.74, 0.03, 0.68), 0.62, None, True),
        (_spread("slices.x.roc_auc", 0.74, 0.03, 0.68), 0.63, None, False),
        # An allowed drop of at least half the mean passes a model at half the baseline.
        (_spread("overall.f1", 0.2, 0.02, 0.15), None, 0.1, True),
        (_spread("overall.f1", 0.2, 0.02, 0.15), None, 0.095, False),
    ],
)
def test_a_threshold_that_passes_a_halved_model_is_too_lenient(
    spread: Spread, floor: float | None, drop: float | None, lenient: bool
) -> None:
    assert (calibration.lenient(spread, floor=floor, drop=drop) is not None) is lenient


def test_the_draft_warns_about_a_lenient_floor_and_prints_the_rule() -> None:
    found = [
        _spread("overall.recall", 0.6, 0.01, 0.58),
        _spread("slices.wide.recall", 0.5, 0.07, 0.3),  # floor 0.22: under half of 0.50
        _spread("slices.wide.rows", 400, 10, 380),
        _spread("slices.wide.positives", 90, 5, 80),
        _spread("slices.tight.recall", 0.8, 0.02, 0.75),  # floor 0.72: far above 0.40
        _spread("slices.tight.rows", 400, 10, 380),
        _spread("slices.tight.positives", 90, 5, 80),
        _spread("latency.batch_1.cpu_p50_ms", 0.4, 0.01, 0.38),
    ]
    seeds = list(range(20))
    notes = calibration.draft_notes(found, seeds)
    warning = "slices.wide.recall: the floor 0.22 passes a model at 0.25, half the mean 0.50"
    assert notes == [f"too lenient: {warning}", " ".join(calibration.LENIENT.split())]
    text = calibration.draft_gates(found, seeds, "s.csv")
    assert f"#   {warning}" in text
    assert tomllib.loads(text)["slice_floors"] == {
        "wide": {"recall": 0.22},
        "tight": {"recall": 0.72},
    }


def test_a_slice_whose_name_has_dots_is_reported_and_drafted() -> None:
    # A category value "St. Louis" gives the slice "city=St. Louis": its metrics are
    # "slices.city=St. Louis.recall", split at the first and the last dot only.
    runs: list[dict[str, float | None]] = [
        {
            "slices.city=St. Louis.recall": 0.6 + step / 100,
            "slices.city=St. Louis.roc_auc": 0.8 + step / 100,
            "slices.city=St. Louis.rows": 400,  # over the [slices] minimum: floors are drafted
            "slices.city=St. Louis.positives": 100,
            "latency.batch_1.cpu_p50_ms": 1.0,
            "model_loaded_bytes": 1_000,
        }
        for step in range(3)
    ]
    found = calibration.spreads(runs)
    assert {"slices.city=St. Louis.recall", "slices.city=St. Louis.roc_auc"} <= {
        spread.metric for spread in found
    }
    drafted = GateConfig.model_validate(
        tomllib.loads(calibration.draft_gates(found, [1, 2, 3], "sample.csv"))
    )
    assert set(drafted.slice_floors["city=St. Louis"]) == {"recall", "roc_auc"}
    assert set(drafted.latency.floor_ms) == {"batch_1"}


def test_the_table_shows_every_metric_name_whole_at_80_columns() -> None:
    # Rich prints 80 columns without a terminal; a slice's names differ only at their end.
    long_slice = "slices.a_rather_long_column_name=a_rather_long_category_value"
    found = [
        _spread("overall.roc_auc", 0.8, 0.01, 0.78),
        _spread(f"{long_slice}.roc_auc", 0.7, 0.03, 0.65),
        _spread(f"{long_slice}.recall", 0.6, 0.04, 0.55),
    ]
    for width in (80, 140):
        text = rendered(calibration.render_table(found, [1, 2, 3], "ci/gates.toml"), width)
        assert "…" not in text
        assert column_text(text, 0) == "".join(spread.metric for spread in found)


def test_a_drop_past_1_is_drafted_as_1_and_the_draft_loads() -> None:
    # Two seeds whose recall lies 0.4 apart: three times the noise of a difference is 1.2, which
    # no score can drop by; the gate refuses a max_drop over 1, so the draft stops at 1 (any drop).
    runs: list[dict[str, float | None]] = [
        {
            "overall.recall": recall,
            "overall.f1": recall,
            "latency.batch_1.cpu_p50_ms": 1.0,
            "model_loaded_bytes": 1_000,
        }
        for recall in (0.1, 0.5)
    ]
    found = calibration.spreads(runs)
    recall = next(spread for spread in found if spread.metric == "overall.recall")
    assert calibration.draft_drop(recall) == 1.0
    drafted = GateConfig.model_validate(tomllib.loads(calibration.draft_gates(found, [1, 2], "x")))
    assert drafted.max_drop == {"recall": 1.0, "f1": 1.0}


def test_the_gate_config_writer_round_trips_any_slice_or_batch_name() -> None:
    lenient = lenient_gates()
    odd = lenient.model_copy(
        update={
            "slice_floors": {
                'plan="pro" \\ yearly': {"recall": 0.25},
                "région=Île-de-France": {"roc_auc": 0.55, "recall": 0.125},
                "tab\tand.dot": {"f1": 0.1},
            },
            "latency": lenient.latency.model_copy(update={"floor_ms": {"batch 1": 2.0}}),
        }
    )
    text = calibration.gates_toml(odd, ["a header line", "", "and another"])
    assert text.startswith("# a header line\n#\n# and another\n")
    assert GateConfig.model_validate(tomllib.loads(text)) == odd
    assert GateConfig.model_validate(tomllib.loads(calibration.gates_toml(lenient))) == lenient


def _auc(mean: float, std: float) -> calibration.Spread:
    return calibration.Spread(
        metric="overall.roc_auc",
        runs=len(SEEDS),
        mean=mean,
        std=std,
        min=mean - std,
        max=mean + std,
    )


@pytest.mark.parametrize(
    ("mean", "std", "said"),
    [(0.53, 0.11, "0.53 ± 0.22 over 3 seeds"), (0.6, 0.05, "0.60 ± 0.10"), (0.8, 0.03, None)],
)
def test_seeds_that_do_not_show_the_model_beats_chance_are_said(
    runs: list[dict[str, float | None]], mean: float, std: float, said: str | None
) -> None:
    # A table that teaches nothing (the public exercise table: 90 rows) gave ROC AUC 0.53 ± 0.11
    # over 20 seeds, and the threshold that flags every row: recall 1, a gate to match.
    found = [
        _auc(mean, std) if spread.metric == "overall.roc_auc" else spread
        for spread in calibration.spreads(runs)
    ]
    note = calibration.chance_note(found)
    text = calibration.draft_gates(found, SEEDS, "tiny.csv", SliceMinimum())
    if said is None:
        assert note is None
        assert "chance:" not in text
    else:
        assert note is not None
        assert note.startswith(f"overall.roc_auc: {said}")
        assert "does not clear 0.5, a random ranking" in note
        assert "# Not shown to beat chance:" in text
        assert "#   overall.roc_auc: " + said in text
