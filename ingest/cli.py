"""`sizzle ingest SPEC --out DIR [--media-map JSON] [--hls PLAYLIST]`: build a Mega Asset package,
or index an existing HLS package (`hls_index.py`) when SPEC is a clip list whose "mega_asset" is a
playlist, or when --hls names one.

Bad input prints one line, `sizzle ingest: error: <message>`, to stderr and returns 2; the output
folder is then exactly as it was.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ingest.build import build_package
from ingest.errors import IngestError
from ingest.hls_index import index_package, is_hls_spec

PROG = "sizzle ingest"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Encode and segment a Mega Asset from a JSON ingest spec.")
    parser.add_argument("spec", type=Path, metavar="SPEC",
                        help="ingest spec (JSON), a JSON timeline wrapper, a CMX 3600 .edl or .otio")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="package folder to create or replace (atomically)")
    parser.add_argument("--media-map", type=Path, metavar="JSON",
                        help="for an EDL/.otio: {reel or file name: media file}")
    parser.add_argument("--hls", type=Path, metavar="PLAYLIST",
                        help="index this existing HLS package (master or media playlist) with SPEC "
                             "as its clip list, without touching its media")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    return parser


class ProgressBar:
    """One self-rewriting status line on a terminal: bar, percent, frames, speed and ETA.

    Redrawn at most every whole percent; the CLI only uses it when stderr is a TTY and -q is off.
    """

    WIDTH = 30

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._clock = clock
        self._started = clock()
        self._last = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        if percent == self._last:
            return
        self._last = percent
        filled = self.WIDTH * done // max(total, 1)
        elapsed = max(self._clock() - self._started, 1e-9)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 else 0.0
        self._stream.write(f"\rencoding [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                           f"{percent:3d}% {done}/{total} frames, {rate:.0f} fps, "
                           f"ETA {eta:.0f} s ")
        if done >= total:
            self._stream.write("\n")
        self._stream.flush()


def _note(line: str) -> None:
    print(line, flush=True)


def run(argv: list[str]) -> int:
    """Entry point for `sizzle ingest`; returns the process exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has already printed usage + error (status 2) or help (0)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    progress = None if args.quiet or not sys.stderr.isatty() else ProgressBar(sys.stderr)
    started = time.monotonic()
    report = None if args.quiet else _note
    indexing = args.hls is not None or is_hls_spec(args.spec)
    try:
        if indexing:
            catalog = index_package(args.spec, args.out, args.hls, report=report)
        else:
            catalog = build_package(args.spec, args.out, progress=progress, report=report,
                                    media_map=args.media_map)
    except IngestError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        seconds = sum(s["duration"] for s in catalog["segments"])
        ladder = ", ".join(r["id"] for r in catalog["renditions"])
        print(f"{args.out}: {catalog['asset_id']} version {catalog['version']}: "
              f"{len(catalog['clips'])} clips, {len(catalog['segments'])} segments, "
              f"{seconds:.1f} s, renditions {ladder} "
              f"({'indexed' if indexing else 'built'} in {time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
