"""The load test's report: a JSON summary and PNG plots (latency CDF per request kind; throughput
and p99 over time)."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from loadtest.players import LoadConfig
from loadtest.stats import Recorder

KIND_ORDER = ("master", "variant", "init", "segment")


def summary(config: LoadConfig, recorder: Recorder, elapsed: float) -> dict[str, Any]:
    kinds = sorted(recorder.kinds, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99)
    settings = asdict(config)
    settings["viewers"] = len(config.viewers)
    return {
        "config": settings,
        "elapsed_s": round(elapsed, 3),
        "requests": recorder.requests,
        "errors": recorder.errors,
        "rate_per_s": round(recorder.requests / elapsed, 1) if elapsed > 0 else 0.0,
        "kinds": {kind: recorder.kinds[kind].summary(elapsed) for kind in kinds},
        "timeline": recorder.timeline(),
    }


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")


def write_plots(report: dict[str, Any], recorder: Recorder, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    cdf_path = folder / "latency-cdf.png"
    fig, ax = plt.subplots(figsize=(8, 5))
    for kind in report["kinds"]:
        points = recorder.cdf(kind)
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], label=kind)
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("fraction of requests")
    ax.set_title(f"Latency CDF by request kind ({report['requests']} requests)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(cdf_path, dpi=110)
    plt.close(fig)

    time_path = folder / "over-time.png"
    timeline = report["timeline"]
    seconds = [row["second"] for row in timeline]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    top.plot(seconds, [row["requests"] for row in timeline], label="requests/s")
    top.plot(seconds, [row["errors"] for row in timeline], label="errors/s", color="red")
    top.set_ylabel("per second")
    top.legend()
    top.grid(True, alpha=0.3)
    bottom.plot(seconds, [row["p99_ms"] if row["p99_ms"] is not None else float("nan") for row in timeline],
                color="purple")
    bottom.set_ylabel("p99 latency (ms)")
    bottom.set_xlabel("seconds since start")
    bottom.grid(True, alpha=0.3)
    fig.suptitle("Throughput and p99 latency over time (all request kinds)")
    fig.tight_layout()
    fig.savefig(time_path, dpi=110)
    plt.close(fig)
    return [cdf_path, time_path]


def table(report: dict[str, Any]) -> str:
    rows = [f"{'kind':<8} {'requests':>9} {'errors':>6} {'req/s':>8} {'p50 ms':>7} {'p90 ms':>7} "
            f"{'p99 ms':>7} {'p99.9 ms':>8} {'max ms':>7}"]
    for kind, k in report["kinds"].items():
        ms = {key: "-" if k[key] is None else f"{k[key]:.2f}"
              for key in ("p50_ms", "p90_ms", "p99_ms", "p99.9_ms", "max_ms")}
        rows.append(f"{kind:<8} {k['requests']:>9} {k['errors']:>6} {k['rate_per_s']:>8.1f} "
                    f"{ms['p50_ms']:>7} {ms['p90_ms']:>7} {ms['p99_ms']:>7} {ms['p99.9_ms']:>8} "
                    f"{ms['max_ms']:>7}")
    return "\n".join(rows)
