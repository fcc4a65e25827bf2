"""metrics-history.json: the run's curves over steps (loss, learning rate, evaluation), rank 0 only.

Written beside progress.json each time progress.json is written, so a finished run's curves stay in
S3 after its pods are gone (kubectl-lathe draws them). Bounded at `max_points`: when full, every
other training-only point of the older half is dropped, so the whole run stays on the curve at a
coarser grain while the newest half and every evaluation point keep full detail. A resumed attempt
continues the history it finds, without the points past the step it resumes from (those steps are
trained again). Validated against schemas/metrics-history.schema.json before every write.
"""

from __future__ import annotations

import json
from typing import Any

from lathe_trainer import records, s3
from lathe_trainer.errors import TrainerError
from lathe_trainer.log import log
from lathe_trainer.uris import S3Uri

FILE = "metrics-history.json"
SCHEMA = "metrics-history.schema.json"
DEFAULT_MAX_POINTS = 1000


def thin(points: list[dict[str, Any]], max_points: int) -> tuple[list[dict[str, Any]], int]:
    """`points` cut down to at most `max_points`, and how many were dropped.

    Drops every other training-only point of the older half until it fits; evaluation points
    (with `evalLoss` or another metric) and the first point are never dropped, unless nothing
    else is left to drop, when the oldest go first.
    """
    dropped = 0
    while len(points) > max_points:
        half = len(points) // 2
        kept: list[dict[str, Any]] = []
        odd = False
        for i, p in enumerate(points):
            if i == 0 or i >= half or _is_eval(p):
                kept.append(p)
                continue
            odd = not odd
            if odd:
                kept.append(p)
        if len(kept) == len(points):  # only evaluation points left in the older half
            kept = points[len(points) - max_points:]
        dropped += len(points) - len(kept)
        points = kept
    return points, dropped


def _is_eval(point: dict[str, Any]) -> bool:
    return any(k not in ("step", "epoch", "time", "loss", "learningRate") for k in point)


class MetricsHistory:
    """The history in memory, and its writes to <output>/metrics-history.json."""

    def __init__(self, output: S3Uri, run_id: str, max_points: int = DEFAULT_MAX_POINTS) -> None:
        self.uri = output.child(FILE)
        self.run_id, self.max_points = run_id, max(2, max_points)
        self.points: list[dict[str, Any]] = []
        self.thinned = 0

    def resume(self, up_to_step: int | None) -> None:
        """Continue what an earlier attempt wrote, keeping points up to `up_to_step` (None: none).

        A history that is absent, unreadable or not valid is started again, with a log line: the
        curve is for people, and must never stop a run.
        """
        if up_to_step is None:
            return
        raw = s3.get_bytes(self.uri)
        if raw is None:
            return
        try:
            doc = json.loads(raw)
            records.validate(doc, SCHEMA)
        except (ValueError, TrainerError) as exc:
            log(f"{self.uri} is not a valid history, starting a new one: {exc}")
            return
        if doc["runId"] != self.run_id:
            log(f"{self.uri} belongs to run {doc['runId']}, starting a new one")
            return
        self.points = [p for p in doc["points"] if p["step"] <= up_to_step]
        self.thinned = int(doc["thinned"])

    def add(self, step: int, epoch: int, loss: float | None, learning_rate: float | None,
            evaluation: dict[str, float] | None = None) -> dict[str, Any]:
        """Appends a point (a second one at the same step is merged into it); the document."""
        point: dict[str, Any] = {"step": step, "epoch": max(1, epoch), "time": records.now()}
        if loss is not None:
            point["loss"] = loss
        if learning_rate is not None:
            point["learningRate"] = learning_rate
        for name, value in (evaluation or {}).items():
            point[name] = float(value)
        if self.points and self.points[-1]["step"] == step:
            self.points[-1].update(point)
        else:
            self.points = [p for p in self.points if p["step"] < step]
            self.points.append(point)
        self.points, dropped = thin(self.points, self.max_points)
        self.thinned += dropped
        return self.document()

    def document(self) -> dict[str, Any]:
        return {"schemaVersion": records.SCHEMA_VERSION, "runId": self.run_id,
                "maxPoints": self.max_points, "thinned": self.thinned, "points": self.points,
                "updatedAt": records.now()}

    def write(self) -> None:
        doc = self.document()
        records.validate(doc, SCHEMA)
        s3.put_json(self.uri, doc)
