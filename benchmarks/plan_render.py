"""Per-request cost of the pure core: plan + sign + master render, and verify + variant render.

Reference measured in the same run: building the same master with the `m3u8` library's objects
(the obvious way), so the ratio says how much precomputed fragments buy. Medians over many
batches; one process, one core. Run: `make bench` or `.venv/bin/python benchmarks/plan_render.py`.
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import m3u8
import orjson

from loadtest.synthetic_catalog import make_catalog
from manifests.cadence import DEFAULT_CADENCE
from manifests.catalog import parse_catalog
from manifests.planner import plan_reel, rank_titles
from manifests.render import build_index, render_master, render_variant
from manifests.token import Signer


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


def m3u8_master(catalog, plan) -> str:  # the reference: what a naive edge would do per request
    master = m3u8.M3U8()
    master.is_independent_segments = True
    for rendition in catalog.renditions:
        sizes = [catalog.segments[n].bytes[rendition.id] for c in plan.clips
                 for n in catalog.clips[c].segments]
        duration = sum(catalog.clips[c].duration for c in plan.clips)
        master.add_playlist(m3u8.Playlist(
            f"../v/x/{rendition.id}.m3u8", stream_info={
                "bandwidth": int(max(sizes) * 8 / 1.333), "average_bandwidth": int(sum(sizes) * 8 / duration),
                "codecs": rendition.codecs, "resolution": f"{rendition.width}x{rendition.height}",
                "frame_rate": rendition.frame_rate}, media=[], base_uri=""))
    return master.dumps()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, nargs="+", default=[100, 5000])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--per-batch", type=int, default=500)
    args = parser.parse_args()
    signer = Signer({1: b"k" * 32}, 1)
    print(f"{'titles':>7} {'load s':>7} {'plan+sign+master us':>20} {'verify+variant us':>18} "
          f"{'m3u8 master us':>15} {'ratio':>6}")
    for titles in args.titles:
        raw = orjson.dumps(make_catalog(titles=titles, lengths=(40, 40, 40, 80, 80, 80, 160, 160, 160)))
        start = time.perf_counter()
        catalog = parse_catalog(raw)
        index = build_index(catalog, "../../media/v/")
        load = time.perf_counter() - start
        rankings = [rank_titles(catalog, [f"t{(n * 7 + k) % titles}" for k in range(5)]) for n in range(64)]

        def master(n: int) -> None:
            plan = plan_reel(catalog, rankings[n % 64], f"user{n}", DEFAULT_CADENCE)
            render_master(index, plan, f"../v/{signer.sign(plan)}/")

        tokens = [signer.sign(plan_reel(catalog, rankings[n % 64], f"user{n}", DEFAULT_CADENCE))
                  for n in range(256)]

        def variant(n: int) -> None:
            render_variant(index, signer.verify(tokens[n % 256]), "540p")

        plans = [plan_reel(catalog, rankings[n % 64], f"user{n}", DEFAULT_CADENCE) for n in range(64)]

        def reference(n: int) -> None:
            m3u8_master(catalog, plans[n % 64])

        ours = per_call(master, args.batches, args.per_batch)
        var = per_call(variant, args.batches, args.per_batch)
        ref = per_call(reference, max(5, args.batches // 3), max(50, args.per_batch // 5))
        print(f"{titles:>7} {load:>7.2f} {ours * 1e6:>20.1f} {var * 1e6:>18.1f} {ref * 1e6:>15.1f} "
              f"{ref / ours:>5.1f}x")


if __name__ == "__main__":
    main()
