"""The metric registry (recscale.metrics) is the one list: computations, records, spec and log checks follow it."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
import torch

from harness.check.logs import kind_ok
from recscale.metrics import METRIC_NAMES, METRICS, TARGET_METRICS, Metric
from recscale.records import CurvePoint, Metrics, Quality
from recscale.spec import QualitySpec
from reference.metrics import COMPUTE, evaluate_logits

REPO = Path(__file__).resolve().parent.parent


def test_every_registered_metric_has_a_computation_and_nothing_else() -> None:
    assert set(COMPUTE) == set(METRICS)
    labels = torch.tensor([0, 1, 0, 1, 1, 0, 0, 0], dtype=torch.float32)
    logits = torch.tensor([-2.0, 1.5, -0.3, 0.2, 2.0, 0.1, -1.0, -3.0])
    metrics = evaluate_logits(logits, labels)
    assert tuple(metrics) == METRIC_NAMES
    assert all(METRICS[name].possible(value) for name, value in metrics.items()), metrics


def test_records_and_spec_follow_the_registry() -> None:
    assert tuple(Metrics.model_fields) == METRIC_NAMES
    assert tuple(CurvePoint.model_fields)[:len(METRIC_NAMES)] == METRIC_NAMES
    assert all(Metrics.model_fields[name].description == METRICS[name].description for name in METRIC_NAMES)
    assert set(get_args(QualitySpec.model_fields["metric"].annotation)) == set(TARGET_METRICS)
    assert set(get_args(Quality.model_fields["metric"].annotation)) == set(TARGET_METRICS)
    for name in TARGET_METRICS:
        assert QualitySpec(metric=name, target=0.9).higher_is_better == METRICS[name].higher_is_better


def test_records_refuse_values_a_metric_cannot_take() -> None:
    good = {name: min(METRICS[name].high, 0.5) for name in METRIC_NAMES}
    Metrics(**good)
    for name, metric in METRICS.items():
        for bad in (metric.low - 1.0, math.inf, math.nan, *([metric.high + 0.5] if math.isfinite(metric.high) else [])):
            with pytest.raises(ValueError):
                Metrics(**{**good, name: bad})
            assert not kind_ok({**good, name: bad}, "metrics")


def test_a_target_out_of_the_metrics_range_is_refused() -> None:
    with pytest.raises(ValueError, match=r"AUC target must be in \(0.5, 1\]"):
        QualitySpec(metric="auc", target=0.3)
    assert QualitySpec(metric="auc", target=0.8).reached(0.81)
    assert QualitySpec(metric="ne", target=0.8).reached(0.79)
    assert not QualitySpec(metric="auc", target=0.8).reached(math.inf)


def test_direction_and_loss_of_a_higher_is_better_metric() -> None:
    recall = Metric("recall", "share of the clicks in the top decile", higher_is_better=True, best=1.0, target=True,
                    high=1.0)
    assert recall.reached(0.9, 0.8) and not recall.reached(0.7, 0.8) and not recall.reached(math.nan, 0.8)
    assert recall.to_loss(0.75) == pytest.approx(0.25) and recall.from_loss(0.25) == pytest.approx(0.75)
    assert recall.comparison() == ">=" and recall.loss_definition == "1 - recall"
    with pytest.raises(ValueError, match="no loss"):
        METRICS["calibration"].to_loss(1.0)


ADD_A_METRIC = """
import json, recscale.metrics as registry
registry.METRICS["recall"] = registry.Metric("recall", "share of the clicks in the top decile",
                                             higher_is_better=True, best=1.0, target=True, high=1.0)
registry.METRIC_NAMES = tuple(registry.METRICS)
registry.TARGET_METRICS = registry.TARGET_METRICS + ("recall",)
from recscale.records import Metrics, RunResult
from recscale.spec import QualitySpec
from harness.check.logs import kind_ok
quality = QualitySpec(metric="recall", target=0.6)
schema = RunResult.model_json_schema()
print(json.dumps({
    "fields": list(Metrics.model_fields), "higher_is_better": quality.higher_is_better,
    "reached": [quality.reached(0.7), quality.reached(0.5)],
    "schema_max": schema["$defs"]["Metrics"]["properties"]["recall"]["maximum"],
    "old_object_refused": not kind_ok({"ne": 1.0, "logloss": 1.0, "auc": 0.5, "calibration": 1.0}, "metrics"),
}))
"""


def test_adding_a_metric_is_one_registry_entry() -> None:
    """A metric registered before the models are built is recorded, targetable in its direction and checked."""
    done = subprocess.run([sys.executable, "-c", ADD_A_METRIC], cwd=REPO, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen == {"fields": [*METRIC_NAMES, "recall"], "higher_is_better": True, "reached": [True, False],
                    "schema_max": 1.0, "old_object_refused": True}
