"""Per-request cost of the pure core, and catalog load time and memory, by catalog size.

For each size a fresh process builds a synthetic catalog (titles x 9 clips: 3 x 40, 3 x 80,
3 x 160 frames; 4 renditions by default), serialises it as catalog.json bytes, then measures:
  load    parse_catalog + build_index (what the edge does at start and on reload), peak RSS after it
  master  rank + plan + sign + render_master for a new viewer each call (default cadence, 15 clips)
  variant verify token + render_variant
  ref     building the same master with the `m3u8` library's objects (no planning): the reference
Medians over batches on one core. Run: `.venv/bin/python benchmarks/plan_render.py`
"""
from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import m3u8
import orjson

from loadtest.synthetic_catalog import make_catalog
from manifests.cadence import DEFAULT_CADENCE
from manifests.catalog import Catalog, parse_catalog
from manifests.planner import Plan, plan_reel, rank_titles
from manifests.render import build_index, render_master, render_variant
from manifests.token import Signer

LENGTHS = (40, 40, 40, 80, 80, 80, 160, 160, 160)


def per_call(fn: Callable[[int], object], batches: int, per_batch: int) -> float:
    """Median seconds per call over `batches` batches."""
    samples = []
    n = 0
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(per_batch):
            fn(n)
            n += 1
        samples.append((time.perf_counter() - start) / per_batch)
    return statistics.median(samples)


def m3u8_master(catalog: Catalog, plan: Plan) -> str:
    """The reference: what a naive edge would do per request, minus the planning."""
    master = m3u8.M3U8()
    master.is_independent_segments = True
    duration = sum(catalog.clips[c].duration for c in plan.clips)
    for rendition in catalog.renditions:
        sizes = [catalog.segments[n].bytes[rendition.id] for c in plan.clips
                 for n in catalog.clips[c].segments]
        master.add_playlist(m3u8.Playlist(
            f"../v/x/{rendition.id}.m3u8", stream_info={
                "bandwidth": int(max(sizes) * 8 / 1.333), "average_bandwidth": int(sum(sizes) * 8 / duration),
                "codecs": rendition.codecs, "resolution": f"{rendition.width}x{rendition.height}",
                "frame_rate": rendition.frame_rate}, media=[], base_uri=""))
    return str(master.dumps())


def measure(titles: int, renditions: int, batches: int, per_batch: int) -> dict[str, float]:
    raw = orjson.dumps(make_catalog(titles=titles, lengths=LENGTHS, renditions=renditions))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    catalog = parse_catalog(raw)
    index = build_index(catalog, "../../media/0123456789abcdef/")
    load = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    signer = Signer({1: b"k" * 32}, 1)
    tastes = [[f"t{(n * 7919 + k * 104729) % titles}" for k in range(5)] for n in range(256)]
    cadence = DEFAULT_CADENCE

    def master(n: int) -> None:
        ranking = rank_titles(catalog, tastes[n & 255], cadence.depth)
        plan = plan_reel(catalog, ranking, f"user{n}", cadence, "20426")
        render_master(index, plan, f"../v/{signer.sign(plan)}/")

    plans = [plan_reel(catalog, rank_titles(catalog, tastes[n], cadence.depth), f"user{n}", cadence)
             for n in range(256)]
    tokens = [signer.sign(plan) for plan in plans]
    first = catalog.renditions[0].id

    def variant(n: int) -> None:
        render_variant(index, signer.verify(tokens[n & 255]), first)

    def reference(n: int) -> None:
        m3u8_master(catalog, plans[n & 255])

    return {
        "titles": titles, "renditions": renditions, "load_s": load, "rss_mb": rss,
        "rss_before_mb": before / 1024, "catalog_mb": len(raw) / 1e6,
        "master_us": per_call(master, batches, per_batch) * 1e6,
        "variant_us": per_call(variant, batches, per_batch) * 1e6,
        "ref_us": per_call(reference, max(5, batches // 3), max(50, per_batch // 5)) * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, nargs="+", default=[100, 5000])
    parser.add_argument("--renditions", type=int, default=4)
    parser.add_argument("--batches", type=int, default=31)
    parser.add_argument("--per-batch", type=int, default=1000)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(orjson.dumps(measure(args.one, args.renditions, args.batches, args.per_batch)).decode())
        return
    print(f"{'titles':>7} {'catalog MB':>10} {'load s':>7} {'RSS MB':>7} {'plan+sign+master us':>20} "
          f"{'verify+variant us':>18} {'m3u8 ref us':>12} {'ref/master':>10}")
    for titles in args.titles:
        out = subprocess.run([sys.executable, __file__, "--one", str(titles), "--renditions",
                              str(args.renditions), "--batches", str(args.batches), "--per-batch",
                              str(args.per_batch)], check=True, capture_output=True, text=True).stdout
        r = orjson.loads(out)
        print(f"{titles:>7} {r['catalog_mb']:>10.1f} {r['load_s']:>7.2f} {r['rss_mb']:>7.0f} "
              f"{r['master_us']:>20.1f} {r['variant_us']:>18.1f} {r['ref_us']:>12.1f} "
              f"{r['ref_us'] / r['master_us']:>9.1f}x")


if __name__ == "__main__":
    main()
