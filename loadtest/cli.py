"""`sizzle loadtest URL --players N --duration S`: simulate players against an edge."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from loadtest.players import LoadConfig, LoadError, check_target

if TYPE_CHECKING:
    from loadtest.stats import Recorder

MAX_PLAYERS = 5_000
MAX_DURATION_S = 3_600


def _viewers(args: argparse.Namespace) -> tuple[str, ...]:
    if args.profiles is None:
        return tuple(f"viewer-{n}" for n in range(args.viewers))
    users = []
    for number, line in enumerate(args.profiles.read_bytes().splitlines(), 1):
        if line.strip():
            try:
                users.append(str(orjson.loads(line)["user"]))
            except (orjson.JSONDecodeError, KeyError, TypeError):
                raise LoadError(f"{args.profiles}:{number}: not a profile line") from None
    if not users:
        raise LoadError(f"{args.profiles}: no profiles")
    return tuple(users)


def _progress(recorder: Recorder, elapsed: float, duration: float) -> None:
    last = recorder.seconds[-2] if len(recorder.seconds) > 1 else None
    rate = last.get_total_count() if last is not None else 0
    p99 = last.get_value_at_percentile(99.0) / 1000 if last is not None and rate else 0.0
    line = (f"[{elapsed:5.0f}/{duration:.0f} s] {recorder.requests} requests, {rate} req/s, "
            f"p99 {p99:.2f} ms, {recorder.errors} errors")
    if sys.stderr.isatty():
        print("\r" + line, end="", file=sys.stderr, flush=True)
    elif int(elapsed) % 10 == 0:
        print(line, file=sys.stderr, flush=True)


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sizzle loadtest", description=__doc__)
    parser.add_argument("url", help="the edge's base URL, e.g. http://127.0.0.1:8080/")
    parser.add_argument("--players", type=int, default=50)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds")
    parser.add_argument("--burst", action="store_true", help="fetch segments as fast as possible")
    parser.add_argument("--ramp", type=float, default=None,
                        help="seconds over which players join (default: a tenth of --duration, at most 10)")
    parser.add_argument("--profiles", type=Path, help="JSON Lines profiles to draw viewers from")
    parser.add_argument("--viewers", type=int, default=10_000, help="synthetic viewers when no --profiles")
    parser.add_argument("--zipf", type=float, default=1.1, help="Zipf exponent over viewers")
    parser.add_argument("--max-requests", type=int, default=2_000_000)
    parser.add_argument("--cadence", help="ask every master for this cadence")
    parser.add_argument("--segments-per-visit", type=int, help="stop each visit after N segments")
    parser.add_argument("--report", type=Path, default=Path("build/loadtest"), help="output folder")
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback target")
    parser.add_argument("--seed", type=int, default=1)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    try:
        if not 1 <= args.players <= MAX_PLAYERS:
            raise LoadError(f"--players must be 1..{MAX_PLAYERS}")
        if not 0 < args.duration <= MAX_DURATION_S:
            raise LoadError(f"--duration must be in (0, {MAX_DURATION_S}] seconds")
        if args.max_requests < 1 or args.viewers < 1:
            raise LoadError("--max-requests and --viewers must be positive")
        check_target(args.url, args.allow_remote)
        base = args.url if args.url.endswith("/") else args.url + "/"
        ramp = min(10.0, args.duration / 10) if args.ramp is None else max(0.0, args.ramp)
        config = LoadConfig(base, args.players, args.duration, _viewers(args), args.burst, args.zipf,
                            args.max_requests, seed=args.seed, cadence=args.cadence,
                            segments_per_visit=args.segments_per_visit,
                            ramp_s=ramp)
    except (LoadError, OSError) as exc:
        print(f"sizzle loadtest: error: {exc}", file=sys.stderr)
        return 2

    import uvloop

    try:
        from loadtest.players import run_load
        from loadtest.report import summary, table, write_json, write_plots
    except ImportError as exc:
        print(f"sizzle loadtest: error: {exc.name} is missing: pip install 'sizzle-edge[loadtest]'",
              file=sys.stderr)
        return 2

    recorder = uvloop.run(run_load(config, lambda r, e: _progress(r, e, args.duration)))
    if sys.stderr.isatty():
        print(file=sys.stderr)
    report = summary(config, recorder, recorder.elapsed)
    write_json(report, args.report / "report.json")
    print(table(report))
    print(f"{report['requests']} requests, {report['errors']} errors, {report['rate_per_s']} req/s; "
          f"report: {args.report / 'report.json'}")
    if not args.no_plots:
        for path in write_plots(report, recorder, args.report):
            print(f"plot: {path}")
    return 0 if report["errors"] == 0 else 1
