"""Continuous timeline, one core: segments served with the tfdt rewrite against the same segments
served as plain files, in the same run.

One edge process (`edge.cli serve --workers 0`) on core 1, wrk on core 0 (one thread, 64
connections), loadtest/wrk/paths.lua cycling through every segment of a rendition in a shuffled
order. Scenarios, per rendition:
  plain   GET /sizzle/media/{version}/{rendition}/sNNNNN.m4s         (aiohttp FileResponse)
  timed   GET /sizzle/media/{version}/{rendition}/sNNNNN.tFRAME.m4s  (read + tfdt rewrite), the same
          segments at random reel frames, every URL distinct
Scenarios alternate over the rounds (noise hits them alike); medians of requests/s, MB/s (body and
headers as wrk received them), p99, the edge's CPU time per request (from /proc: the figure the
other tenants of a shared core distort least), and the ratio timed / plain per rendition.

Default package: a placeholder package (loadtest/synthetic_catalog.py: real box structure, padding
for samples) with realistic sizes per 1.33 s segment, 540p ~150 KB and 360p ~60 KB (+-20%);
`--catalog PATH` serves a real ingested package instead.
Run: `.venv/bin/python benchmarks/retime_serving.py [--rounds 5] [--duration 8] [--catalog PATH]`
(side_by_side.ensure_tools installs wrk and nginx-light with apt-get when missing; loopback only;
~3 min with the defaults: 4 scenarios x 5 rounds x 8 s, plus 3 s of warm-up each).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.side_by_side import (  # noqa: E402
    CLIENT_CORE,
    SERVER_CORE,
    ensure_tools,
    fetch,
    free_port,
    wait_ready,
    wrk,
)
from ingest import boxes  # noqa: E402
from loadtest.synthetic_catalog import make_catalog, write_package  # noqa: E402

SCRIPT = ROOT / "loadtest" / "wrk" / "paths.lua"
SIZES = {"540p": 150_000, "360p": 60_000}  # mean bytes per 40-frame (1.33 s) segment


def placeholder_package(folder: Path, titles: int, seed: int) -> Path:
    """A 2-rendition placeholder package whose segment sizes are those of real 540p/360p H.264."""
    catalog = make_catalog(titles=titles, renditions=2, seed=seed)
    rng = random.Random(seed)
    for segment in catalog["segments"]:
        for rid, mean in SIZES.items():
            segment["bytes"][rid] = round(mean * segment["frames"] / 40 * rng.uniform(0.8, 1.2))
    del catalog["version"]  # the version names the content: recompute it for the new sizes
    catalog["version"] = hashlib.blake2b(orjson.dumps(catalog), digest_size=8).hexdigest()
    return write_package(folder, catalog)


Paths = dict[str, tuple[list[str], list[str]]]


def segment_paths(catalog: dict[str, Any], version: str, rng: random.Random) -> Paths:
    """Per video rendition: (plain paths, timed paths of the same segments at random frames)."""
    out: Paths = {}
    count = len(catalog["segments"])
    for rendition in catalog["renditions"]:
        if rendition.get("container") == "ts":
            continue
        uris = rendition.get("segment_uris") or [rendition["segment_template"].format(index=n)
                                                 for n in range(count)]
        order = list(range(len(uris)))
        rng.shuffle(order)
        plain, timed = [], []
        for n in order:
            stem, _, ext = uris[n].rpartition(".")
            plain.append(f"/sizzle/media/{version}/{uris[n]}")
            timed.append(f"/sizzle/media/{version}/{stem}.t{rng.randrange(0, 1_000_000)}.{ext}")
        out[rendition["id"]] = (plain, timed)
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def check(base: str, plain: str, timed: str) -> int:
    """The timed body is the plain body with only tfdt values changed; returns the body size."""
    a, b = fetch(base + plain), fetch(base + timed)
    if len(a) != len(b) or sum(x != y for x, y in zip(a, b)) > 8 * 4:
        raise RuntimeError(f"{timed}: not the plain segment with tfdt rewritten")
    if not any(True for _ in boxes.find_all(b, None, "moof/traf/tfdt")):
        raise RuntimeError(f"{timed}: no tfdt")
    return len(a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per scenario run")
    parser.add_argument("--rounds", type=int, default=5, help="runs per scenario (median reported)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--titles", type=int, default=16, help="placeholder package size (15 segments each)")
    parser.add_argument("--catalog", type=Path, help="serve this ingested package's catalog.json instead")
    parser.add_argument("--renditions", default="540p,360p", help="comma-separated rendition ids to measure")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=ROOT / "build" / "bench" / "retime_serving.json")
    args = parser.parse_args()
    ensure_tools()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="sizzle-retime-") as scratch, ExitStack() as stack:
        tmp = Path(scratch)
        if args.catalog:
            catalog_path = args.catalog.resolve()
        else:
            catalog_path = placeholder_package(tmp / "pkg", args.titles, args.seed)
        catalog = orjson.loads(catalog_path.read_bytes())
        port = free_port()
        env = {**os.environ, "SIZZLE_SIGNING_KEYS": "1:" + "5a" * 32}
        edge = subprocess.Popen(["taskset", "-c", SERVER_CORE, sys.executable, "-m", "edge.cli", "serve",
                                 "--catalog", str(catalog_path), "--port", str(port), "--workers", "0",
                                 "--log-level", "WARNING", "--watch", "0"],
                                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stack.callback(edge.wait, 20)
        stack.callback(edge.terminate)
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/healthz")
        version = orjson.loads(fetch(f"{base}/readyz"))["catalog"]

        wanted = [r for r in args.renditions.split(",") if r]
        paths = {rid: pair for rid, pair in segment_paths(catalog, version, rng).items() if rid in wanted}
        if not paths:
            raise SystemExit(f"none of {wanted} is a fragmented-MP4 video rendition of {catalog_path}")
        scenarios: dict[str, tuple[Path, str, float]] = {}
        for rid, (plain, timed) in paths.items():
            sizes = [len(fetch(base + p)) for p in plain[:50]]
            check(base, plain[0], timed[0])
            for kind, listing in (("plain", plain), ("timed", timed)):
                name = f"{rid} {kind}"
                file = tmp / f"{rid}-{kind}.txt"
                file.write_text("\n".join(listing) + "\n")
                scenarios[name] = (file, rid, statistics.mean(sizes))

        def run(name: str, duration: float) -> dict[str, float]:
            file, _, _ = scenarios[name]
            summary = tmp / "summary.txt"
            summary.unlink(missing_ok=True)
            before = cpu_seconds(edge.pid)
            result = wrk(base, duration, args.connections, SCRIPT,
                         {"SIZZLE_WRK_PATHS": str(file), "SIZZLE_WRK_SUMMARY": str(summary)})
            requests, received, micros = (int(x) for x in summary.read_text().split())
            result["mb_s"] = received / micros  # bytes per microsecond = MB/s
            # the edge's own CPU per answer: what the other tenants of core 1 do not distort
            result["cpu_us"] = (cpu_seconds(edge.pid) - before) / max(requests, 1) * 1e6
            return result

        for name in scenarios:  # warm up the page cache, the edge and every path
            run(name, 3)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in scenarios}
        for round_number in range(args.rounds):
            names = list(scenarios)
            if round_number % 2:  # alternate who goes first, too
                names.reverse()
            for name in names:
                runs[name].append(run(name, args.duration))
        result: dict[str, dict[str, Any]] = {}
        for name, rs in runs.items():
            result[name] = {"rps": statistics.median(r["rps"] for r in rs),
                            "mb_s": statistics.median(r["mb_s"] for r in rs),
                            "p99_ms": statistics.median(r["p99_ms"] for r in rs),
                            "cpu_us": statistics.median(r["cpu_us"] for r in rs),
                            "errors": sum(r["non2xx"] + r["socket_errors"] for r in rs),
                            "mean_body": scenarios[name][2],
                            "runs": [r["rps"] for r in rs]}

    package = f"catalog {args.catalog}" if args.catalog else f"placeholder package, {args.titles} titles"
    print(f"edge on core {SERVER_CORE} (--workers 0), wrk on core {CLIENT_CORE}, {args.connections} "
          f"connections, {args.rounds} x {args.duration:g} s per scenario, alternated (medians); {package}")
    print(f"{'scenario':<14} {'segments':>8} {'mean KB':>8} {'req/s':>8} {'MB/s':>7} {'p99 ms':>7} "
          f"{'CPU us':>7} {'errors':>6} {'timed/plain':>11}")
    for name, r in result.items():
        rid, kind = name.split()
        ratio = r["rps"] / result[f"{rid} plain"]["rps"]
        print(f"{name:<14} {len(paths[rid][0]):>8} {r['mean_body'] / 1000:>8.1f} {r['rps']:>8.0f} "
              f"{r['mb_s']:>7.1f} {r['p99_ms']:>7.2f} {r['cpu_us']:>7.0f} {r['errors']:>6} {ratio:>10.2f}x")
    per_round = {rid: [t / p for t, p in zip(result[f"{rid} timed"]["runs"], result[f"{rid} plain"]["runs"])]
                 for rid in paths}
    for rid, ratios in per_round.items():
        print(f"{rid}: timed/plain per round {', '.join(f'{x:.2f}' for x in ratios)}; "
              f"median {statistics.median(ratios):.2f}x (target >= 0.8x); edge CPU per request "
              f"plain / timed {result[f'{rid} plain']['cpu_us'] / result[f'{rid} timed']['cpu_us']:.2f}x")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_bytes(orjson.dumps({"results": result, "per_round_ratio": per_round, "args": vars(args)},
                                       default=str, option=orjson.OPT_INDENT_2))
    if any(r["errors"] for r in result.values()):
        raise SystemExit("some requests failed (non-2xx or socket errors): see the table")


if __name__ == "__main__":
    main()
