"""Latency bookkeeping for the load generator: HDR histograms per request kind and per second."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 60_000_000  # one minute
DIGITS = 3
PERCENTILES = (50.0, 90.0, 99.0, 99.9)


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


@dataclass(slots=True)
class KindStats:
    histogram: HdrHistogram = field(default_factory=new_histogram)
    errors: int = 0
    bytes: int = 0

    def summary(self, seconds: float) -> dict[str, Any]:
        h = self.histogram
        count = h.get_total_count()
        out: dict[str, Any] = {"requests": count, "errors": self.errors, "bytes": self.bytes,
                               "rate_per_s": round(count / seconds, 1) if seconds > 0 else 0.0}
        for p in PERCENTILES:
            out[f"p{p:g}_ms"] = round(h.get_value_at_percentile(p) / 1000, 3) if count else None
        out["max_ms"] = round(h.get_max_value() / 1000, 3) if count else None
        return out


@dataclass(slots=True)
class Recorder:
    """Collects every request's latency by kind, and a per-second timeline."""

    start: float
    end: float = 0.0  # set when the run is over
    kinds: dict[str, KindStats] = field(default_factory=dict)
    seconds: list[HdrHistogram] = field(default_factory=list)
    errors_by_second: list[int] = field(default_factory=list)

    def _second(self, now: float) -> int:
        index = max(0, int(now - self.start))
        while len(self.seconds) <= index:
            self.seconds.append(new_histogram())
            self.errors_by_second.append(0)
        return index

    def ok(self, kind: str, latency_s: float, size: int, now: float) -> None:
        micros = max(LOWEST_US, min(HIGHEST_US, int(latency_s * 1e6)))
        stats = self.kinds.setdefault(kind, KindStats())
        stats.histogram.record_value(micros)
        stats.bytes += size
        self.seconds[self._second(now)].record_value(micros)

    def error(self, kind: str, now: float) -> None:
        self.kinds.setdefault(kind, KindStats()).errors += 1
        self.errors_by_second[self._second(now)] += 1

    @property
    def elapsed(self) -> float:
        return max(1e-9, self.end - self.start)

    @property
    def requests(self) -> int:
        return sum(k.histogram.get_total_count() for k in self.kinds.values())

    @property
    def errors(self) -> int:
        return sum(k.errors for k in self.kinds.values())

    def timeline(self) -> list[dict[str, Any]]:
        return [{"second": i, "requests": h.get_total_count(), "errors": e,
                 "p99_ms": round(h.get_value_at_percentile(99.0) / 1000, 3) if h.get_total_count() else None}
                for i, (h, e) in enumerate(zip(self.seconds, self.errors_by_second))]

    def cdf(self, kind: str, points: int = 200) -> list[tuple[float, float]]:
        """(latency ms, fraction of requests at or below it) for a latency CDF plot."""
        h = self.kinds[kind].histogram
        if not h.get_total_count():
            return []
        out = []
        for i in range(points + 1):
            p = 100.0 * (1 - 10 ** (-5 * i / points)) if i < points else 100.0  # dense near the tail
            out.append((h.get_value_at_percentile(p) / 1000, p / 100))
        return out
