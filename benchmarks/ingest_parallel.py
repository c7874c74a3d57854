"""How to spread a ladder encode over the cores: one pass feeding every rendition's x264 (frame
threads inside each encoder, the shipped design) vs one process per rendition (each conforms the
clips itself and encodes one rung).

    .venv/bin/python benchmarks/ingest_parallel.py [--media ../shared/media] [--rungs 2] [--repeat 1]

Prints wall seconds per strategy. Results are recorded in docs/benchmarks.md ("Ingest").
"""
from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import orjson

from ingest.build import plan_spec
from ingest.demo_spec import write_demo_spec
from ingest.encode import encode_plan
from ingest.plan import Plan

REPO = Path(__file__).resolve().parents[1]


def _one_rung(plan: Plan, index: int, folder: Path, threads: int) -> None:
    rung = dataclasses.replace(plan, renditions=(plan.renditions[index],))
    encode_plan(rung, folder, threads=threads)


def one_pass(plan: Plan, folder: Path, threads: int) -> None:
    encode_plan(plan, folder, threads=threads)


def per_process(plan: Plan, folder: Path, threads: int) -> None:
    context = multiprocessing.get_context("spawn")  # fork after x264/PyAV threads can deadlock
    with ProcessPoolExecutor(len(plan.renditions), mp_context=context) as pool:
        jobs = [pool.submit(_one_rung, plan, i, folder, threads) for i in range(len(plan.renditions))]
        for job in jobs:
            job.result()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--media", type=Path, default=REPO.parent / "shared" / "media")
    parser.add_argument("--rungs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        spec_path = write_demo_spec(args.media, work / "spec.json")
        spec = orjson.loads(spec_path.read_bytes())
        spec["max_renditions"] = args.rungs
        spec_path.write_bytes(orjson.dumps(spec))
        plan = plan_spec(spec_path)
        seconds = plan.total_frames / float(plan.frame_rate)
        print(f"{len(plan.clips)} clips, {seconds:.1f} s of Mega Asset, "
              f"renditions {[r.id for r in plan.renditions]}, {os.cpu_count()} cores", flush=True)
        runs: list[tuple[str, Callable[[Plan, Path, int], None], int]] = [
            ("one pass, x264 threads auto", one_pass, 0),
            ("one pass, x264 threads=1", one_pass, 1),
            ("process per rendition, x264 threads auto", per_process, 0),
            ("process per rendition, x264 threads=1", per_process, 1),
        ]
        for name, run, threads in runs:
            best = float("inf")
            for _ in range(args.repeat):
                out = Path(tempfile.mkdtemp(dir=work))
                started = time.perf_counter()
                run(plan, out, threads)
                best = min(best, time.perf_counter() - started)
            print(f"{name:45s} {best:7.2f} s  ({seconds / best:.2f}x real time)", flush=True)


if __name__ == "__main__":
    main()
