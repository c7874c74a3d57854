"""Check a package on disk against its catalog, the way a player will meet it: one line per problem.

For every rendition: `init.mp4` parses, and its real avcC/esds give exactly the catalog's
`video_codec` and `codecs`; with an audio rendition (schema 2, demuxed) it holds one track only.
For every segment of every rendition: the file exists and has the catalog's byte size; its video
`tfdt` (version 1) is the segment's start frame on the video timescale; the `trun` holds the
catalog's frame count and sums to the catalog's duration (to the microsecond it is rounded to); the
first video sample is flagged sync and really contains an IDR slice (NAL type 5). Across
renditions: every segment has the same video and audio `tfdt`, frame count and duration as in the
first rendition, so players can switch anywhere.

The audio rendition (`audio_renditions`): its `init.mp4` holds one `soun` track whose esds gives the
catalog's `codecs`; every segment file has the catalog's size, one track, a version-1 `tfdt` equal
to the AAC grid's first frame for that segment (`grid.py`), exactly the grid's frame count, and sums
to the segment's `audio_duration`. Every music bed: the same for each `s` and `f` file on the bed's
own grid (segment length segment_frames / frame_rate), sizes `bytes` / `fade_bytes`, durations equal.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import orjson

from ingest import audio_package, boxes
from ingest.grid import AAC_FRAME, AUDIO_RATE, first_frame_at, mega_asset_spans
from ingest.package import (
    PackagingError,
    Track,
    audio_codec_of,
    read_tracks,
    track_of,
    video_codec_of,
)

CATALOG = "catalog.json"
_IDR = 5
_DURATION_SLACK = 1.5e-6  # catalog durations are rounded to 6 decimals


@dataclass(frozen=True, slots=True)
class SegmentFacts:
    """What one segment file really holds."""

    video_tfdt: int
    video_samples: int
    video_duration: int
    audio_tfdt: int | None
    first_sync: bool
    first_nal_types: tuple[int, ...]


class _Bad(Exception):
    """A problem that stops the check of one file."""


def audit_package(folder: Path) -> list[str]:
    """Every problem found in the package at folder, one line each; [] when it is sound."""
    try:
        catalog = orjson.loads((folder / CATALOG).read_bytes())
    except OSError as exc:
        return [f"{folder / CATALOG}: cannot read: {exc.strerror or exc}"]
    except orjson.JSONDecodeError as exc:
        return [f"{folder / CATALOG}: not valid JSON: {exc}"]
    try:
        return list(_audit(folder, catalog))
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        return [f"{folder / CATALOG}: not a schema 1 or 2 catalog ({type(exc).__name__}: {exc})"]


def _audit(folder: Path, catalog: dict[str, Any]) -> Iterator[str]:
    num, den = catalog["frame_rate"]
    rate = Fraction(int(num), int(den))
    segments = catalog["segments"]
    reference: dict[int, SegmentFacts] = {}
    reference_id = ""
    demuxed = bool(catalog.get("audio_renditions"))
    for rendition in catalog["renditions"]:
        rid = rendition["id"]
        uris = rendition.get("segment_uris")  # an indexed third-party package (docs/catalog.md)
        if rendition.get("container") == "ts":  # timing and IDRs were checked when it was indexed
            yield from _audit_sizes(folder, rid, uris, segments)
            continue
        try:
            video, nal_size = _check_init(folder, rendition, demuxed)
        except (OSError, _Bad, boxes.BoxError, PackagingError, IndexError) as exc:
            yield f"{rendition['init']}: {_reason(exc)}"
            continue
        offset: int | None = None if uris else 0  # a third-party timeline may start anywhere
        for segment in segments:
            index = segment["index"]
            name = uris[index] if uris else rendition["segment_template"].format(index=index)
            try:
                facts, size = _read_segment(folder / name, video, nal_size)
            except (OSError, _Bad, boxes.BoxError, PackagingError, IndexError) as exc:
                yield f"{name}: {_reason(exc)}"
                continue
            if offset is None:
                offset = facts.video_tfdt - round(Fraction(segment["start_frame"] * video.timescale) / rate)
            for problem in _check_segment(facts, size, segment, rid, rate, video.timescale, offset):
                yield f"{name}: {problem}"
            if not reference_id or reference_id == rid:
                reference_id = rid
                reference[index] = facts
            elif index in reference:
                for problem in _compare(facts, reference[index], reference_id):
                    yield f"{name}: {problem}"
    for audio in catalog.get("audio_renditions") or ():
        spans = mega_asset_spans([s["start_frame"] for s in segments],
                                 segments[-1]["start_frame"] + segments[-1]["frames"], rate)
        yield from _audit_audio(folder, audio, [
            (s["index"], spans[i], s["audio_duration"], s["bytes"].get(audio["id"]))
            for i, s in enumerate(segments)], "segment_template")
    seconds = Fraction(int(catalog["segment_frames"])) / rate
    for bed in catalog.get("music") or ():
        bed_segments = bed["segments"]
        spans = [(first_frame_at(k * seconds), first_frame_at((k + 1) * seconds))
                 for k in range(len(bed_segments))]
        for template, size_key in (("segment_template", "bytes"), ("fade_template", "fade_bytes")):
            yield from _audit_audio(folder, bed, [
                (k, spans[k], s["duration"], s[size_key]) for k, s in enumerate(bed_segments)],
                template, check_init=template == "segment_template")


def _audit_audio(folder: Path, rendition: dict[str, Any],
                 expected: list[tuple[int, tuple[int, int], float, int | None]], template: str,
                 check_init: bool = True) -> Iterator[str]:
    """An audio-only rendition or bed: (index, grid span, duration, byte size) per segment."""
    if check_init:
        try:
            _, codec = audio_package.check_init((folder / rendition["init"]).read_bytes())
            if rendition["codecs"] != codec:
                raise _Bad(f"catalog CODECS {rendition['codecs']!r} but esds says {codec!r}")
        except (OSError, _Bad, boxes.BoxError, PackagingError, IndexError) as exc:
            yield f"{rendition['init']}: {_reason(exc)}"
            return
    for index, (first, stop), duration, size in expected:
        name = rendition[template].format(index=index)
        try:
            data = (folder / name).read_bytes()
            tfdt, samples, ticks = audio_package.read_fragment(data)
        except (OSError, boxes.BoxError, PackagingError, IndexError) as exc:
            yield f"{name}: {_reason(exc)}"
            continue
        if len(data) != size:
            yield f"{name}: {len(data)} bytes on disk, catalog says {size}"
        if tfdt != first * AAC_FRAME:
            yield (f"{name}: audio tfdt {tfdt}, the AAC grid starts this segment at frame {first} "
                   f"(sample {first * AAC_FRAME})")
        if samples != stop - first:
            yield f"{name}: {samples} AAC frames, the grid gives {stop - first}"
        if abs(ticks / AUDIO_RATE - duration) > _DURATION_SLACK:
            yield (f"{name}: trun sample durations sum to {ticks / AUDIO_RATE:.6f} s, catalog "
                   f"says {duration} s")


def _check_init(folder: Path, rendition: dict[str, Any], video_only: bool) -> tuple[Track, int]:
    """(video track, NAL length size); raises _Bad when CODECS disagree with the real boxes."""
    moov = _moov((folder / rendition["init"]).read_bytes())
    tracks = read_tracks(moov)
    video = track_of(tracks, "vide")
    if video_only and len(tracks) != 1:
        raise _Bad(f"{len(tracks)} tracks, want 1: the package has a separate audio rendition")
    avcc = next((boxes.find(moov, trak, "mdia/minf/stbl/stsd/avc1/avcC")
                 for trak in boxes.find_all(moov, None, "moov/trak")
                 if boxes.find(moov, trak, "mdia/minf/stbl/stsd/avc1/avcC") is not None), None)
    if avcc is None:
        raise _Bad("no avc1/avcC sample entry")
    muxed = any(t.handler == "soun" for t in tracks.values())
    real = f"{video_codec_of(moov)},{audio_codec_of(moov)}" if muxed else video_codec_of(moov)
    if rendition["video_codec"] != video_codec_of(moov):
        raise _Bad(f"catalog video_codec {rendition['video_codec']!r} but the SPS in avcC says "
                   f"{video_codec_of(moov)!r}")
    if rendition["codecs"] != real:
        raise _Bad(f"catalog CODECS {rendition['codecs']!r} but avcC/esds say {real!r}")
    return video, boxes.read_avcc(moov, avcc).nal_length_size


def _moov(data: bytes) -> bytes:
    for box in boxes.iter_boxes(data):
        if box.type == "moov":
            return data[box.offset:box.end]
    raise _Bad("no moov box")


def _read_segment(path: Path, video: Track, nal_size: int) -> tuple[SegmentFacts, int]:
    """Facts of a segment file: one moof+mdat pair, or several (a stream-copied package)."""
    data = path.read_bytes()
    moofs = [b for b in boxes.iter_boxes(data) if b.type == "moof"]
    if not moofs:
        raise _Bad("no moof box")
    first: tuple[int, bool, tuple[int, ...]] | None = None  # video tfdt, sync flag, NAL types
    samples = duration = 0
    audio_tfdt = None
    for moof in moofs:
        for traf in boxes.find_all(data, moof, "traf"):
            tfhd_box, tfdt_box = boxes.find(data, traf, "tfhd"), boxes.find(data, traf, "tfdt")
            if tfhd_box is None or tfdt_box is None:
                raise _Bad("traf without tfhd/tfdt")
            tfhd = boxes.read_tfhd(data, tfhd_box)
            version, tfdt = boxes.read_tfdt(data, tfdt_box)
            if tfhd.track_id != video.id:
                audio_tfdt = tfdt if audio_tfdt is None else audio_tfdt
                continue
            if version != 1:
                raise _Bad(f"video tfdt version {version}, want 1 (64-bit)")
            default = tfhd.default_sample_duration
            runs = [boxes.read_trun(data, t, video.default_duration if default is None else default)
                    for t in boxes.find_all(data, traf, "trun")]
            samples += sum(r.sample_count for r in runs)
            duration += sum(r.duration for r in runs)
            if first is not None:
                continue
            if not runs or not runs[0].sample_count:
                raise _Bad("no video samples")
            flags = runs[0].first_sample_flags
            for fallback in (tfhd.default_sample_flags, video.default_flags):
                flags = fallback if flags is None else flags
            base = moof.offset if tfhd.base_data_offset is None else tfhd.base_data_offset
            at = base + (runs[0].data_offset or 0)
            sample = data[at:at + runs[0].sizes[0]] if runs[0].sizes[0] else b""
            first = (tfdt, flags is not None and boxes.is_sync_sample(flags),
                     _nal_types(sample, nal_size))
    if first is None:
        raise _Bad("no video track fragment")
    tfdt, sync, nals = first
    return SegmentFacts(tfdt, samples, duration, audio_tfdt, sync, nals), len(data)


def _nal_types(sample: bytes, length_size: int) -> tuple[int, ...]:
    types: list[int] = []
    pos = 0
    while pos + length_size < len(sample):
        length = int.from_bytes(sample[pos:pos + length_size], "big")
        types.append(sample[pos + length_size] & 0x1F)
        pos += length_size + length
    return tuple(types)


def _audit_sizes(folder: Path, rid: str, uris: list[str], segments: list[dict[str, Any]]) -> Iterator[str]:
    for segment, name in zip(segments, uris):
        try:
            size = (folder / name).stat().st_size
        except OSError as exc:
            yield f"{name}: {_reason(exc)}"
            continue
        if size != segment["bytes"].get(rid):
            yield f"{name}: {size} bytes on disk, catalog says {segment['bytes'].get(rid)}"


def _check_segment(facts: SegmentFacts, size: int, segment: dict[str, Any], rid: str,
                   rate: Fraction, timescale: int, offset: int = 0) -> Iterator[str]:
    if size != segment["bytes"].get(rid):
        yield f"{size} bytes on disk, catalog says {segment['bytes'].get(rid)}"
    if not facts.first_sync or _IDR not in facts.first_nal_types:
        yield (f"does not start with an IDR frame (sync flag {facts.first_sync}, "
               f"NAL types {list(facts.first_nal_types)})")
    expected = Fraction(segment["start_frame"] * timescale) / rate + offset
    if facts.video_tfdt != expected:
        yield (f"video tfdt {facts.video_tfdt}, catalog start frame {segment['start_frame']} "
               f"means {float(expected):g}")
    if facts.video_samples != segment["frames"]:
        yield f"{facts.video_samples} video samples, catalog says {segment['frames']} frames"
    real = facts.video_duration / timescale
    if abs(real - segment["duration"]) > _DURATION_SLACK:
        yield f"trun sample durations sum to {real:.6f} s, catalog says {segment['duration']} s"


def _compare(facts: SegmentFacts, reference: SegmentFacts, reference_id: str) -> Iterator[str]:
    for label, mine, theirs in (
            ("video tfdt", facts.video_tfdt, reference.video_tfdt),
            ("audio tfdt", facts.audio_tfdt, reference.audio_tfdt),
            ("video samples", facts.video_samples, reference.video_samples),
            ("video duration", facts.video_duration, reference.video_duration)):
        if mine != theirs:
            yield f"{label} {mine} differs from {reference_id}'s {theirs}: boundaries not shared"


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split())
