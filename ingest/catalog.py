"""Assemble and write `catalog.json` (schema 2, see docs/catalog.md) from the plan and the packages.

Segment durations come from the video `trun` sample durations and must be identical in every
rendition (as must every tfdt); anything else is an internal error. `audio_duration` comes from the
audio rendition's `trun` (from the muxed audio track in a stream-copied package). `version` is the
first 16 hex characters of a blake2b over the catalog index (everything but `version`, `created`
included), the build time in nanoseconds, and the digests of every rendition's (video, audio, music
bed) init and segment bytes: different
media always get a different version, and so does a rebuild of identical media (even within the same
second of `created`), so "changes on every new encode" holds.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ingest.package import INIT_NAME, SEGMENT_NAME, PackagedRendition, PackagingError
from ingest.plan import AUDIO_CHANNELS, AUDIO_RATE, Plan
from manifests.render import bandwidth, target_duration

if TYPE_CHECKING:  # their modules load numpy & co.: only where there is audio or music to encode
    from ingest.audio_package import PackagedAudio
    from ingest.music import PackagedBed

SCHEMA = 2
CATALOG_NAME = "catalog.json"
AUDIO_NAME = "Original"  # the audio rendition's NAME in players' menus


def build_catalog(plan: Plan, packaged: Sequence[PackagedRendition],
                  audio: PackagedAudio | None = None, music: Sequence[PackagedBed] = (),
                  created: datetime | None = None) -> dict[str, Any]:
    """The catalog dict, with `version` computed over the index and the media digests.

    `audio` is the audio rendition (demuxed layout); None when the video renditions carry muxed
    audio (a stream-copied package).
    """
    _check_aligned(packaged)
    top = packaged[0]
    durations = [round(float(top.duration(s.index)), 6) for s in plan.segments]
    when = created or datetime.now(UTC)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    audio_codec, audio_durations = _audio_figures(plan, packaged, audio)
    catalog: dict[str, Any] = {
        "schema": SCHEMA,
        "asset_id": plan.asset_id,
        "version": "",
        "created": stamp,
        "frame_rate": [plan.frame_rate.numerator, plan.frame_rate.denominator],
        "segment_frames": plan.segment_frames,
        "timescale": top.timescale,
        "audio": {"codec": audio_codec, "sample_rate": AUDIO_RATE, "channels": AUDIO_CHANNELS},
        "renditions": [_rendition(p, plan, durations) for p in packaged],
    }
    if audio is not None:
        catalog["audio_renditions"] = [_audio_rendition(audio, plan, audio_durations)]
    catalog.update({
        "titles": [{"id": t.id, "name": t.name, "talent": list(t.talent)} for t in plan.titles],
        "segments": [
            {"index": s.index, "start_frame": s.start_frame, "frames": s.frames,
             "duration": durations[s.index], "audio_duration": audio_durations[s.index],
             "bytes": {p.rendition.id: p.fragments[s.index].bytes for p in packaged}
             | ({audio.id: audio.fragments[s.index].bytes} if audio is not None else {})}
            for s in plan.segments
        ],
        "clips": [
            {"id": c.id, "title": c.title.id, "talent": list(c.talent), "frames": c.frames,
             "start_frame": c.start_frame,
             "start": round(float(c.start_frame / plan.frame_rate), 6),
             "duration": round(sum(float(top.duration(i)) for i in c.segments), 6),
             "source": {"file": Path(c.title.source_text).name,
                        "start": round(float(c.source_start), 6)},
             "segments": list(c.segments)}
            for c in plan.clips
        ],
        "music": [_bed(b) for b in music],
    })
    digests = [p.digest for p in packaged] + ([audio.digest] if audio is not None else []) \
        + [b.digest for b in music]
    catalog["version"] = _version(catalog, digests, time.time_ns() if created is None else 0)
    return catalog


def _audio_figures(plan: Plan, packaged: Sequence[PackagedRendition],
                   audio: PackagedAudio | None) -> tuple[str, list[float]]:
    """(audio codec, audio_duration of every segment) from the audio rendition or muxed tracks."""
    if audio is not None:
        if any(p.audio_codec is not None for p in packaged):
            raise PackagingError("an audio rendition and muxed audio in the video renditions")
        if any(p.rendition.id == audio.id for p in packaged):
            raise PackagingError(f"rendition id {audio.id!r} is used twice")
        if len(audio.fragments) != len(plan.segments):
            raise PackagingError(f"audio: {len(audio.fragments)} segments, planned "
                                 f"{len(plan.segments)}")
        return audio.codec, [round(float(f.seconds), 6) for f in audio.fragments]
    codecs = {p.audio_codec for p in packaged}
    top = packaged[0]
    if len(codecs) != 1 or None in codecs or top.audio_timescale is None:
        raise PackagingError(f"no audio rendition and no common muxed audio: {sorted(map(str, codecs))}")
    timescale = top.audio_timescale
    return str(codecs.pop()), [round(f.audio_duration / timescale, 6) for f in top.fragments]


def _audio_rendition(audio: PackagedAudio, plan: Plan, durations: list[float]) -> dict[str, Any]:
    sizes = [f.bytes for f in audio.fragments]
    peak, average = bandwidth(durations, [8 * size for size in sizes], target_duration(durations))
    return {
        "id": audio.id,
        "name": AUDIO_NAME,
        "language": plan.language,
        "channels": AUDIO_CHANNELS,
        "sample_rate": AUDIO_RATE,
        "codecs": audio.codec,
        "bandwidth": peak,
        "average_bandwidth": average,
        "init": f"{audio.id}/{INIT_NAME}",
        "segment_template": f"{audio.id}/{SEGMENT_NAME}",
    }


def _bed(bed: PackagedBed) -> dict[str, Any]:
    from ingest.music import FADE_NAME
    from ingest.music import SEGMENT_NAME as BED_SEGMENT_NAME

    return {
        "id": bed.bed.id,
        "name": bed.bed.spec.name,
        "credit": bed.bed.spec.credit,
        "codecs": bed.codec,
        "channels": AUDIO_CHANNELS,
        "sample_rate": AUDIO_RATE,
        "init": f"{bed.folder}/{INIT_NAME}",
        "segment_template": f"{bed.folder}/{BED_SEGMENT_NAME}",
        "fade_template": f"{bed.folder}/{FADE_NAME}",
        "segments": [{"duration": round(float(s.seconds), 6), "bytes": s.bytes,
                      "fade_bytes": f.bytes} for s, f in zip(bed.segments, bed.fades, strict=True)],
    }


def write_catalog(catalog: dict[str, Any], folder: Path) -> Path:
    path = folder / CATALOG_NAME
    path.write_bytes(orjson.dumps(catalog, option=orjson.OPT_INDENT_2) + b"\n")
    return path


def _rendition(p: PackagedRendition, plan: Plan, durations: list[float]) -> dict[str, Any]:
    r = p.rendition
    sizes = [f.bytes for f in p.fragments]
    peak, average = bandwidth(durations, [8 * size for size in sizes], target_duration(durations))
    return {
        "id": r.id,
        "width": r.width,
        "height": r.height,
        "frame_rate": round(float(plan.frame_rate), 3),
        "video_codec": p.video_codec,
        "codecs": p.video_codec if p.audio_codec is None else f"{p.video_codec},{p.audio_codec}",
        "bandwidth": peak,
        "average_bandwidth": average,
        "init": f"{r.id}/{INIT_NAME}",
        "segment_template": f"{r.id}/{SEGMENT_NAME}",
    }


def _check_aligned(packaged: Sequence[PackagedRendition]) -> None:
    """Every rendition must have the same segment timestamps, durations and frame counts."""
    top = packaged[0]
    for other in packaged[1:]:
        if other.timescale != top.timescale:
            raise PackagingError(f"{other.rendition.id}: timescale {other.timescale} "
                                 f"!= {top.timescale}")
        for a, b in zip(top.fragments, other.fragments, strict=True):
            if (a.video_tfdt, a.video_duration, a.video_samples) != \
                    (b.video_tfdt, b.video_duration, b.video_samples):
                raise PackagingError(f"segment {a.index}: {other.rendition.id} video timing differs "
                                     f"from {top.rendition.id}")


def _version(catalog: dict[str, Any], digests: Sequence[bytes], salt: int) -> str:
    index = {k: v for k, v in catalog.items() if k != "version"}
    digest = hashlib.blake2b(orjson.dumps(index, option=orjson.OPT_SORT_KEYS), digest_size=32)
    digest.update(salt.to_bytes(16, "big"))
    for media in digests:
        digest.update(media)
    return digest.hexdigest()[:16]
