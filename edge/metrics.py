"""Prometheus metrics, one set per app in its own registry. Under gunicorn (PROMETHEUS_MULTIPROC_DIR
set before prometheus_client is imported) every worker writes its samples to that folder and /metrics
adds them up, whichever worker answers."""
from __future__ import annotations

import os
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
STORE_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1)


@dataclass(frozen=True, slots=True)
class Metrics:
    registry: CollectorRegistry
    multiprocess_dir: str | None
    requests: Counter  # route, status
    latency: Histogram  # route
    plans: Counter
    token_rejections: Counter
    retimed: Counter
    profile_latency: Histogram  # backend
    profile_fallbacks: Counter  # reason
    catalog_info: Gauge  # version
    catalog_loaded: Gauge
    catalog_age: Gauge
    reloads: Counter  # what
    reload_failures: Counter  # what

    def render(self) -> tuple[bytes, str]:
        if self.multiprocess_dir is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST

    def catalog_swapped(self, old: str | None, new: str, loaded_at: float) -> None:
        if old is not None and old != new:
            self.catalog_info.labels(old).set(0)
        self.catalog_info.labels(new).set(1)
        self.catalog_loaded.set(loaded_at)


def create_metrics() -> Metrics:
    registry = CollectorRegistry()
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
    return Metrics(
        registry=registry,
        multiprocess_dir=folder,
        requests=Counter("sizzle_http_requests", "HTTP requests by route template and status",
                         ["route", "status"], registry=registry),
        latency=Histogram("sizzle_http_request_duration_seconds", "Handler time by route template",
                          ["route"], buckets=LATENCY_BUCKETS, registry=registry),
        plans=Counter("sizzle_plans_built", "Reels planned (master.m3u8 and plan.json)", registry=registry),
        token_rejections=Counter("sizzle_token_rejections", "Variant tokens rejected (forged, other key, "
                                 "clips out of range)", registry=registry),
        retimed=Counter("sizzle_segments_retimed", "Segments served with tfdt rewritten to a reel's "
                        "continuous timeline", registry=registry),
        profile_latency=Histogram("sizzle_profile_lookup_seconds", "Profile store lookup time",
                                  ["backend"], buckets=STORE_BUCKETS, registry=registry),
        profile_fallbacks=Counter("sizzle_profile_fallbacks", "Requests planned on the default ranking "
                                  "because the profile store was slow or down", ["reason"],
                                  registry=registry),
        catalog_info=Gauge("sizzle_catalog_info", "1 for the catalog version being served",
                           ["version"], registry=registry, multiprocess_mode="livemax"),
        catalog_loaded=Gauge("sizzle_catalog_loaded_timestamp_seconds", "When the current catalog was loaded",
                             registry=registry, multiprocess_mode="livemin"),
        catalog_age=Gauge("sizzle_catalog_age_seconds", "Seconds since the current catalog was loaded",
                          registry=registry, multiprocess_mode="livemax"),
        reloads=Counter("sizzle_reloads", "Successful reloads", ["what"], registry=registry),
        reload_failures=Counter("sizzle_reload_failures", "Rejected reloads (broken or incompatible files)",
                                ["what"], registry=registry),
    )
