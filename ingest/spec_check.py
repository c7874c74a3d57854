"""Validate a spec by timecode against its sources, collecting every problem rather than the first.

Checked before anything is encoded: each title's source exists and is usable media (probed once per
file), every clip ends within its source, and no title has two identical clips (same resolved start
and length; `1.5` and `"00:00:01:15"` at 30 fps are the same clip). Lengths that are not whole frames
and malformed timecodes are rejected by the spec loader itself. Every message names the title, the
clip and its start as written, so an editor can find it on the timeline.
"""
from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from ingest.errors import IngestError
from ingest.probe import SourceInfo, probe
from ingest.spec import Spec

# Tolerance when checking a clip against the end of its source.
END_EPSILON = Fraction(1, 1000)


def probe_all(spec: Spec) -> tuple[dict[str, SourceInfo], list[str]]:
    """({title id: SourceInfo} for the usable sources, [one line per unusable source])."""
    by_path: dict[str, SourceInfo | str] = {}
    found: dict[str, SourceInfo] = {}
    problems: list[str] = []
    for title in spec.titles:
        key = str(title.source)
        if key not in by_path:
            try:
                by_path[key] = probe(title.source, title.where)
            except IngestError as exc:
                by_path[key] = str(exc)
                problems.append(str(exc))
        info = by_path[key]
        if isinstance(info, SourceInfo):
            found[title.id] = info
    return found, problems


def clip_problems(spec: Spec, sources: Mapping[str, SourceInfo],
                  frame_rate: Fraction) -> list[str]:
    """One line per clip that cannot be cut from its source (titles without a source are skipped)."""
    problems: list[str] = []
    for title in spec.titles:
        source = sources.get(title.id)
        if source is None:
            continue
        seen: dict[tuple[Fraction, int], str] = {}
        for clip in title.clips:
            where = f"{clip.where} (start {clip.start.text})"
            try:
                start = clip.start.resolve(source.frame_rate, where)
            except IngestError as exc:
                problems.append(str(exc))
                continue
            if (start, clip.frames) in seen:
                problems.append(f"{where}: same start and length as clip "
                                f"{seen[start, clip.frames]!r}")
            seen.setdefault((start, clip.frames), clip.id)
            span_end = start + Fraction(clip.frames) / frame_rate
            if span_end > source.duration + END_EPSILON:
                problems.append(
                    f"{where}: clip runs past the end of {source.path.name}: needs "
                    f"{float(start):.3f}s + {clip.frames} frames = {float(span_end):.3f}s, "
                    f"source video ends at {float(source.duration):.3f}s")
    return problems
