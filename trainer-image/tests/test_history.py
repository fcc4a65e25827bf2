"""metrics-history.json: bounded, schema-valid, continued by a resumed attempt (lathe_trainer/history.py)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from conftest import ARTIFACTS, new_run_id
from lathe_trainer import helpers, records
from lathe_trainer.errors import TrainerError
from lathe_trainer.history import FILE, SCHEMA, MetricsHistory, thin
from lathe_trainer.uris import S3Uri


def _points(n: int, evals: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    return [{"step": i, "epoch": 1, "time": "2026-12-02T10:00:00Z", "loss": 1.0 / (i + 1),
             **({"evalLoss": 0.5} if i in evals else {})} for i in range(n)]


def test_thin_keeps_the_first_point_the_newest_half_and_every_evaluation() -> None:
    points, dropped = thin(_points(11, evals=(3,)), 10)
    steps = [p["step"] for p in points]
    assert len(points) <= 10 and dropped == 11 - len(points)
    assert steps[0] == 0 and 3 in steps
    assert steps[-5:] == [6, 7, 8, 9, 10]  # the newest half untouched
    assert steps == sorted(steps)


def test_thin_of_a_long_run_stays_bounded_and_spans_the_whole_run() -> None:
    points, dropped = thin(_points(5000), 100)
    assert len(points) <= 100 and dropped == 5000 - len(points)
    assert points[0]["step"] == 0 and points[-1]["step"] == 4999


def test_thin_when_only_evaluation_points_are_left_drops_the_oldest() -> None:
    points, _ = thin(_points(6, evals=tuple(range(6))), 4)
    assert [p["step"] for p in points] == [2, 3, 4, 5]


def test_add_merges_a_second_point_of_the_same_step_and_drops_steps_trained_again() -> None:
    h = MetricsHistory(S3Uri(ARTIFACTS, "x/"), "r", max_points=10)
    h.add(1, 1, 2.0, 0.01)
    h.add(2, 1, 1.5, 0.009)
    h.add(2, 1, None, 0.009, {"evalLoss": 1.7, "perplexity": 5.5})
    assert h.points[-1]["loss"] == 1.5 and h.points[-1]["evalLoss"] == 1.7
    h.add(1, 1, 1.9, 0.01)  # an attempt resumed from step 0 trains step 1 again
    assert [p["step"] for p in h.points] == [1]
    doc = h.document()
    jsonschema.validate(doc, records.load_schema(SCHEMA),
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_a_bad_history_is_refused_before_it_is_written() -> None:
    h = MetricsHistory(S3Uri(ARTIFACTS, "x/"), "r")
    h.add(1, 1, 1.0, 0.1, {"accuracy": 0.5})
    h.points[0]["accuracy"] = "high"  # type: ignore[assignment]
    with pytest.raises(TrainerError, match="metrics-history.schema.json violation at points/0/accuracy"):
        h.write()


def test_the_schema_rejects_what_a_reader_cannot_plot() -> None:
    schema = records.load_schema(SCHEMA)
    good = MetricsHistory(S3Uri(ARTIFACTS, "x/"), "r").add(3, 1, 0.5, 0.1)
    jsonschema.validate(good, schema)
    for change in ({"points": [{"step": -1, "epoch": 1, "time": "2026-12-02T10:00:00Z"}]},
                   {"maxPoints": 1}, {"color": "blue"}, {"schemaVersion": 2}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**good, **change}, schema)


def test_resume_keeps_the_points_up_to_the_checkpoint_and_restarts_a_broken_file(
        s3: Any, unique: str) -> None:
    out = S3Uri(ARTIFACTS, f"{unique}models/m/{new_run_id()}/")
    first = MetricsHistory(out, "run-a")
    for step in (5, 10, 15):
        first.add(step, 1, 1.0 / step, 0.01)
    first.write()

    resumed = MetricsHistory(out, "run-a")
    resumed.resume(10)
    assert [p["step"] for p in resumed.points] == [5, 10]
    other = MetricsHistory(out, "run-b")  # another run's file is not continued
    other.resume(10)
    assert other.points == []

    s3.put_object(Bucket=ARTIFACTS, Key=out.key + FILE, Body=b"{not json")
    broken = MetricsHistory(out, "run-a")
    broken.resume(10)
    assert broken.points == []
    broken.add(11, 2, 0.4, 0.005)
    broken.write()
    stored = json.loads(s3.get_object(Bucket=ARTIFACTS, Key=out.key + FILE)["Body"].read())
    assert [p["step"] for p in stored["points"]] == [11]


def test_the_custom_helper_appends_to_the_history(s3: Any, unique: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    out = S3Uri(ARTIFACTS, f"{unique}models/m/{new_run_id()}/")
    monkeypatch.setenv("LATHE_OUTPUT_URI", str(out))
    monkeypatch.setenv("LATHE_RUN_ID", "run-c")
    helpers.progress(1, 2, 10, 0.9)
    helpers.progress(1, 2, 20, 0.7)
    stored = json.loads(s3.get_object(Bucket=ARTIFACTS, Key=out.key + FILE)["Body"].read())
    assert [(p["step"], p["loss"]) for p in stored["points"]] == [(10, 0.9), (20, 0.7)]
