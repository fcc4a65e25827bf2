"""Prometheus metrics, on a registry of their own so a test can build several apps in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "lathe_requests", "HTTP requests served, by route, method and status code.",
            ["route", "method", "code"], registry=r,
        )
        self.latency = Histogram(
            "lathe_request_duration_seconds", "Time from request to the end of the response, by route.",
            ["route"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self.in_flight = Gauge(
            "lathe_requests_in_flight", "Generation requests admitted and not yet finished (queued or running).",
            registry=r,
        )
        self.running = Gauge("lathe_generations_running", "Generations running on the model now.", registry=r)
        self.shed = Counter(
            "lathe_requests_shed", "Requests refused for overload or shutdown, by reason.", ["reason"], registry=r
        )
        self.prompt_tokens = Counter("lathe_prompt_tokens", "Prompt tokens processed.", registry=r)
        self.tokens_generated = Counter("lathe_tokens_generated", "Completion tokens generated.", registry=r)
        self.images_generated = Counter("lathe_images_generated", "Images generated.", registry=r)
        self.time_to_first_token = Histogram(
            "lathe_time_to_first_token_seconds", "Streaming: time from admission to the first token.",
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.model_load_seconds = Gauge(
            "lathe_model_load_seconds", "Seconds from start to model ready (download included).", registry=r
        )
        self.model_download_seconds = Gauge(
            "lathe_model_download_seconds", "Seconds spent fetching the model files from S3.", registry=r
        )
        self.model_download_bytes = Gauge(
            "lathe_model_download_bytes", "Bytes fetched from S3 for the model.", registry=r
        )
        self.model_ready = Gauge("lathe_model_ready", "1 once the model is loaded and serving.", registry=r)
        self.model_load_failures = Counter(
            "lathe_model_load_failures", "Failed model loads, by reason.", ["reason"], registry=r
        )
