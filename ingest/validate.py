"""`sizzle validate SPEC|DIR`: every problem with a spec (before encoding) or a package (on disk).

A spec is loaded (a structural error is the one problem reported: nothing after it can be trusted),
then every source is probed and every clip checked by timecode (`spec_check`), and every music bed's
file is probed. A folder is checked
as a built package against its catalog (`audit`).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ingest.audit import audit_package
from ingest.errors import IngestError
from ingest.inputs import load_input
from ingest.plan import bed_too_short
from ingest.probe import default_frame_rate, probe_music
from ingest.spec_check import clip_problems, probe_all

PROG = "sizzle validate"


def validate_spec(path: Path, media_map: Path | None = None) -> list[str]:
    """Every problem with the spec at path and its sources, one line each; [] when it is sound."""
    try:
        spec = load_input(path, media_map)
    except IngestError as exc:
        return [str(exc)]
    sources, problems = probe_all(spec)
    frame_rate = spec.frame_rate
    if sources:
        frame_rate = frame_rate or default_frame_rate(sources.values())
        problems += clip_problems(spec, sources, frame_rate)
    for bed in spec.music:
        try:
            info = probe_music(bed.source, bed.start, bed.where)
        except IngestError as exc:
            problems.append(str(exc))
            continue
        short = bed_too_short(bed, info, spec.segment_frames, frame_rate) if frame_rate else None
        if short:
            problems.append(short)
    return problems


def validate(path: Path, media_map: Path | None = None) -> list[str]:
    """A folder is a package; anything else is a spec (JSON, timeline wrapper, EDL, .otio)."""
    return audit_package(path) if path.is_dir() else validate_spec(path, media_map)


def run(argv: list[str]) -> int:
    """Exit status 0: clean; 1: problems (one stdout line each); 2: usage."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Check an ingest spec (by timecode, before encoding) or a built "
                               "package folder (on disk, against its catalog).")
    parser.add_argument("target", type=Path, metavar="SPEC|DIR")
    parser.add_argument("--media-map", type=Path, metavar="JSON",
                        help="for an EDL/.otio: {reel or file name: media file}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no 'ok' line when clean")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    target: Path = args.target
    if not target.exists():
        print(f"{PROG}: error: {target}: no such file or folder", file=sys.stderr)
        return 2
    problems = validate(target, args.media_map)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{PROG}: {target}: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"{target}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
