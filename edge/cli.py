"""`sizzle`: ingest | serve | demo. Bad input ends in a one-line error and exit status 2."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from edge.settings import (
    TIMELINES,
    Settings,
    check_media_base_url,
    cpu_count,
    default_player_js,
    signing_keys_from_env,
)
from manifests.cadence import BUILTIN, CadenceError, parse_cadences


def _env(name: str, default: str | None = None) -> str | None:
    """Container configuration: SIZZLE_<NAME> supplies a flag's default."""
    return os.environ.get(f"SIZZLE_{name}", default)


def _serve_args(parser: argparse.ArgumentParser, workers_default: int | None) -> None:
    parser.add_argument("--host", default=_env("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(_env("PORT", "8080") or 8080))
    parser.add_argument("--access-log", action="store_true",
                        help="log every request (= --access-log-sample 1)")
    parser.add_argument("--access-log-sample", type=float, default=float(_env("ACCESS_LOG_SAMPLE", "0") or 0),
                        metavar="RATE", help="log this fraction of requests as JSON (default 0: off)")
    parser.add_argument("--log-level", default=_env("LOG_LEVEL", "INFO"))
    parser.add_argument("--log-format", choices=("json", "text"), default=_env("LOG_FORMAT", "json"))
    parser.add_argument("--cadences", type=Path, help="cadence file (JSON); built-ins: default, short, long")
    parser.add_argument("--rotation", type=int, default=86_400, metavar="SECONDS",
                        help="a viewer gets a fresh reel every SECONDS (0: never); default daily")
    parser.add_argument("--grace", type=float, default=3_600.0, metavar="SECONDS",
                        help="how long reels of a replaced catalog keep playing (default 3600)")
    workers = _env("WORKERS")
    parser.add_argument("--workers", type=int, default=int(workers) if workers else workers_default,
                        metavar="N", help="gunicorn worker processes (default: one per CPU available; "
                        "0: a single process without gunicorn)")
    parser.add_argument("--graceful-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="on SIGTERM, how long in-flight requests may take to finish (default 30)")
    parser.add_argument("--watch", type=float, default=1.0, metavar="SECONDS",
                        help="poll the catalog and profiles files for changes this often (0: off)")
    parser.add_argument("--media-base-url", default=_env("MEDIA_BASE_URL"), metavar="URL",
                        help="init and segment URIs point at URL/{catalog version}/{rendition}/... "
                        "(a CDN or object store); default: served by this edge")
    parser.add_argument("--timeline", choices=TIMELINES, default=_env("TIMELINE"),
                        help="reels on one continuous timeline (segments served with tfdt rewritten; "
                             "default) or with a discontinuity at every cut (default with "
                             "--media-base-url: a pure static origin cannot rewrite)")
    parser.add_argument("--redis-url", default=_env("REDIS_URL"), metavar="URL",
                        help="viewer profiles from Redis (redis://host:port/db) instead of --profiles")
    parser.add_argument("--redis-timeout-ms", type=float, default=20.0, metavar="MS",
                        help="per-request Redis lookup budget before the default ranking (default 20)")
    parser.add_argument("--profile-cache", type=float, default=5.0, metavar="SECONDS",
                        help="in-process cache of Redis profiles (default 5 s)")


def _settings(args: argparse.Namespace, catalog: Path, profiles: Path | None, demo: bool) -> Settings:
    from edge.startup import StartupError

    try:
        keys, active = signing_keys_from_env()
    except ValueError as exc:
        raise StartupError(f"SIZZLE_SIGNING_KEYS: {exc}") from None
    cadences = BUILTIN
    if args.cadences is not None:
        try:
            cadences = parse_cadences(args.cadences.read_bytes(), str(args.cadences))
        except OSError as exc:
            raise StartupError(f"cadences {args.cadences}: {exc.strerror}") from None
        except CadenceError as exc:
            raise StartupError(str(exc)) from None
    if args.rotation < 0 or args.grace < 0:
        raise StartupError("--rotation and --grace must not be negative")
    if args.workers < 0 or args.graceful_timeout < 0 or args.watch < 0:
        raise StartupError("--workers, --graceful-timeout and --watch must not be negative")
    sample = 1.0 if args.access_log else args.access_log_sample
    if not 0 <= sample <= 1:
        raise StartupError("--access-log-sample is a fraction between 0 and 1")
    media_base_url = None
    if args.media_base_url:
        try:
            media_base_url = check_media_base_url(args.media_base_url)
        except ValueError as exc:
            raise StartupError(f"--media-base-url {exc}") from None
    timeline = args.timeline or ("discontinuous" if media_base_url else "continuous")
    if timeline not in TIMELINES:
        raise StartupError(f"--timeline: want one of {', '.join(TIMELINES)}, got {timeline!r}")
    if timeline == "discontinuous":
        beds = sorted(c.name for c in cadences.cadences.values() if c.bed)
        if beds:
            raise StartupError(f"cadences {beds} ask for a music bed, which needs --timeline continuous")
    if args.redis_url:
        if urlsplit(args.redis_url).scheme not in ("redis", "rediss", "unix"):
            raise StartupError("--redis-url: want redis://HOST:PORT[/DB], rediss://... or unix://PATH")
        from redis.asyncio.connection import parse_url

        try:
            parse_url(args.redis_url)
        except ValueError as exc:
            raise StartupError(f"--redis-url: {exc}") from None
        if profiles is not None:
            raise StartupError("--redis-url and --profiles are alternatives: choose one")
    if not 0 < args.redis_timeout_ms <= 10_000 or args.profile_cache < 0:
        raise StartupError("--redis-timeout-ms wants 0 < MS <= 10000, --profile-cache >= 0")
    return Settings(catalog=catalog, profiles=profiles, host=args.host, port=args.port,
                    signing_keys=keys, active_key=active, demo=demo,
                    player_js=default_player_js() if demo else None,
                    cadences=cadences, rotation_seconds=args.rotation, grace_seconds=args.grace,
                    workers=args.workers, graceful_seconds=args.graceful_timeout, watch_seconds=args.watch,
                    media_base_url=media_base_url, redis_url=args.redis_url or None,
                    redis_timeout=args.redis_timeout_ms / 1000, profile_cache_seconds=args.profile_cache,
                    access_log_sample=sample, timeline=timeline)


def _run_serve(args: argparse.Namespace) -> int:
    from edge.serve import configure_logging, serve
    from edge.startup import StartupError, check_startup

    configure_logging(args.log_level, args.log_format)
    if args.catalog is None:
        raise StartupError("--catalog is required (or set SIZZLE_CATALOG)")
    settings = _settings(args, args.catalog, args.profiles, demo=args.demo_page)
    check_startup(settings)
    serve(settings, on_ready=lambda url: print(f"serving on {url}", flush=True),
          log_level=args.log_level, log_format=args.log_format)
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    from edge.demo import demo_cadences, prepare_demo
    from edge.serve import configure_logging, serve
    from edge.startup import check_startup

    configure_logging(args.log_level, args.log_format)
    catalog, profiles = prepare_demo(args.out, args.media)
    if args.cadences is None:
        args.cadences = demo_cadences(catalog)  # adds "music" when the package has a bed
    settings = _settings(args, catalog, profiles, demo=True)
    check_startup(settings)

    def ready(url: str) -> None:
        print(f"\nSizzle Edge demo is up: open {url}\n"
              f"  viewers: {profiles}\n  e.g. {url}sizzle/ana/master.m3u8\n(Ctrl-C stops it)",
              flush=True)

    serve(settings, on_ready=ready, log_level=args.log_level, log_format=args.log_format)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "loadtest":
        from loadtest.cli import run as run_loadtest

        return run_loadtest(argv[1:])
    if argv and argv[0] == "ingest":
        from ingest.cli import run as run_ingest

        return run_ingest(argv[1:])
    if argv and argv[0] == "check":
        from conformance.cli import run as run_check

        return run_check(argv[1:])
    if argv and argv[0] == "validate":
        from ingest.validate import run as run_validate

        return run_validate(argv[1:])

    parser = argparse.ArgumentParser(prog="sizzle", description="Personalised HLS sizzle reels")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("ingest", help="build a Mega Asset package: sizzle ingest SPEC --out DIR")
    sub.add_parser("check", help="check a master playlist against the HLS rules: sizzle check URL")
    sub.add_parser("validate", help="check a spec or a built package: sizzle validate SPEC|DIR")

    serve_p = sub.add_parser("serve", help="serve per-viewer playlists for a package")
    catalog_env = _env("CATALOG")
    serve_p.add_argument("--catalog", type=Path, default=Path(catalog_env) if catalog_env else None,
                         help="PACKAGE/catalog.json (or a `current` symlink's); env SIZZLE_CATALOG")
    profiles_env = _env("PROFILES")
    serve_p.add_argument("--profiles", type=Path, default=Path(profiles_env) if profiles_env else None,
                         help="viewer profiles, JSON Lines (reloaded on change)")
    serve_p.add_argument("--demo-page", action="store_true", help="also serve the player page at /")
    _serve_args(serve_p, workers_default=cpu_count())

    demo_p = sub.add_parser("demo", help="build the demo Mega Asset if missing and serve it")
    demo_p.add_argument("--out", type=Path, default=Path("build/demo"))
    demo_p.add_argument("--media", type=Path, default=None,
                        help="footage folder (default ../shared/media beside the repo)")
    _serve_args(demo_p, workers_default=0)

    args = parser.parse_args(argv)
    from edge.startup import StartupError

    try:
        if args.command == "serve":
            return _run_serve(args)
        return _run_demo(args)
    except StartupError as exc:
        print(f"sizzle {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
