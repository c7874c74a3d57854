"""`sizzle`: ingest | serve | demo. Bad input ends in a one-line error and exit status 2."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.settings import Settings, default_player_js, signing_keys_from_env
from manifests.cadence import BUILTIN, CadenceError, parse_cadences


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--cadences", type=Path, help="cadence file (JSON); built-ins: default, short, long")
    parser.add_argument("--rotation", type=int, default=86_400, metavar="SECONDS",
                        help="a viewer gets a fresh reel every SECONDS (0: never); default daily")
    parser.add_argument("--grace", type=float, default=3_600.0, metavar="SECONDS",
                        help="how long reels of a replaced catalog keep playing (default 3600)")


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
    return Settings(catalog=catalog, profiles=profiles, host=args.host, port=args.port,
                    signing_keys=keys, active_key=active, demo=demo,
                    player_js=default_player_js() if demo else None, access_log=args.access_log,
                    cadences=cadences, rotation_seconds=args.rotation, grace_seconds=args.grace)


def _run_serve(args: argparse.Namespace) -> int:
    from edge.serve import configure_logging, serve
    from edge.startup import check_startup

    configure_logging(args.log_level)
    settings = _settings(args, args.catalog, args.profiles, demo=args.demo_page)
    check_startup(settings)
    serve(settings, on_ready=lambda url: print(f"serving on {url}", flush=True))
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    from edge.demo import prepare_demo
    from edge.serve import configure_logging, serve
    from edge.startup import check_startup

    configure_logging(args.log_level)
    catalog, profiles = prepare_demo(args.out, args.media)
    settings = _settings(args, catalog, profiles, demo=True)
    check_startup(settings)

    def ready(url: str) -> None:
        print(f"\nSizzle Edge demo is up: open {url}\n"
              f"  viewers: {profiles}\n  e.g. {url}sizzle/ana/master.m3u8\n(Ctrl-C stops it)",
              flush=True)

    serve(settings, on_ready=ready)
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
    serve_p.add_argument("--catalog", type=Path, required=True, help="PACKAGE/catalog.json")
    serve_p.add_argument("--profiles", type=Path, help="viewer profiles, JSON Lines")
    serve_p.add_argument("--demo-page", action="store_true", help="also serve the player page at /")
    _serve_args(serve_p)

    demo_p = sub.add_parser("demo", help="build the demo Mega Asset if missing and serve it")
    demo_p.add_argument("--out", type=Path, default=Path("build/demo"))
    demo_p.add_argument("--media", type=Path, default=None,
                        help="footage folder (default ../shared/media beside the repo)")
    _serve_args(demo_p)

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
