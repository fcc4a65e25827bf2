"""The pure parts of the download benchmark's toxiproxy set-up (bench/toxiproxy.py): rates, toxics, /proc."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from toxiproxy import cpu_seconds_from_stat, rate_kb_per_s, toxics  # noqa: E402


def test_rate_is_decimal_kilobytes_per_second() -> None:
    # toxiproxy sleeps len(data) ms / rate: rate is bytes per millisecond.
    assert rate_kb_per_s(90) == 90_000
    assert rate_kb_per_s(0.5) == 500
    with pytest.raises(ValueError):
        rate_kb_per_s(0)


def test_toxics_put_latency_then_bandwidth_on_the_response_side() -> None:
    lat, bw = toxics(90, 15, 5)
    assert lat == {"name": "s3_latency", "type": "latency", "stream": "downstream", "toxicity": 1.0,
                   "attributes": {"latency": 15, "jitter": 5}}
    assert bw["type"] == "bandwidth" and bw["stream"] == "downstream"
    assert bw["attributes"] == {"rate": 90_000}


@pytest.mark.parametrize(("latency", "jitter"), [(-1, 0), (10, 11), (5, -1)])
def test_toxics_refuse_a_latency_range_below_zero(latency: int, jitter: int) -> None:
    with pytest.raises(ValueError):
        toxics(90, latency, jitter)


def test_cpu_seconds_count_fields_after_the_command_name() -> None:
    # A command name with a space and a ')' must not shift the fields.
    fields = ["S"] + ["0"] * 10 + ["250", "50"] + ["0"] * 30
    stat = "4242 (toxi) proxy) " + " ".join(fields)
    assert cpu_seconds_from_stat(stat, 100) == 3.0
