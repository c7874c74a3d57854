"""`sizzle check URL [--json] [--segments N|all]`: one line per violation; exit 0 clean, 1 when
violations, 2 on usage or network errors. Checks the master's variants and its separate audio
renditions (EXT-X-MEDIA TYPE=AUDIO), whatever the timeline (continuous or discontinuous)."""
from __future__ import annotations

import argparse
import json
import sys

from conformance.check import CheckError, check_url
from conformance.fetch import Fetcher, FetchError


def _segments(value: str) -> int | None:
    if value == "all":
        return None
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"want a number or 'all', got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return number


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sizzle check",
                                     description="check a master playlist and everything it names "
                                                 "against the HLS rules")
    parser.add_argument("url", help="master playlist URL (http or https)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--segments", type=_segments, default=None, metavar="N|all",
                        help="segments per playlist (variant or audio rendition) to fetch whole and "
                             "decode (default all; the rest are read up to their first sample)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    if not args.url.startswith(("http://", "https://")):
        print(f"sizzle check: error: not an http(s) URL: {args.url}", file=sys.stderr)
        return 2
    try:
        report = check_url(args.url, segments=args.segments, fetcher=Fetcher(args.timeout))
    except (CheckError, FetchError) as exc:
        print(f"sizzle check: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        for violation in report.violations:
            print(violation.line())
        print(f"{len(report.violations)} violation(s): {report.variants} variants, {report.renditions} "
              f"audio renditions, {report.segments} segments ({report.segments_decoded} decoded), "
              f"{report.requests} requests",
              file=sys.stderr)
    return 0 if report.ok else 1
