"""Split one rendition's fragmented MP4 into `init.mp4` + `sNNNNN.m4s`; verify it against the plan.

An encoded rendition is video only (one track; the audio is its own rendition, `audio_package.py`);
a stream-copied one (`preencoded.py`) keeps the file's muxed audio track.

`init.mp4` is everything before the first `moof` (ftyp + moov); each segment file is one fragment
(`styp` if present + `moof` + `mdat`; FFmpeg's trailing `mfra` index is dropped). With
`default_base_moof`, trun data offsets are relative to the moof, so fragments stand alone.

Checked against the plan (a mismatch is an internal error, not bad input): one fragment per planned
segment, each fragment's video `tfdt` (version 1) equal to the planned start, its video sample count
equal to the planned frames, and a sync sample first. Real durations come from the video `trun`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

from ingest import boxes
from ingest.ladder import Rendition
from ingest.plan import Plan

SEGMENT_NAME = "s{index:05d}.m4s"
INIT_NAME = "init.mp4"
_SKIPPED = frozenset({"mfra", "free", "skip"})


class PackagingError(AssertionError):
    """The encoder's output does not match the plan: a bug, not bad input."""


Track = boxes.Track


@dataclass(frozen=True, slots=True)
class Fragment:
    index: int
    bytes: int
    video_tfdt: int
    video_samples: int
    video_duration: int  # video timescale ticks
    audio_tfdt: int | None
    audio_samples: int
    audio_duration: int  # audio timescale ticks


@dataclass(frozen=True, slots=True)
class PackagedRendition:
    rendition: Rendition
    timescale: int
    audio_timescale: int | None  # None: video only
    video_codec: str  # e.g. avc1.64001f
    audio_codec: str | None  # e.g. mp4a.40.2; None: video only
    fragments: tuple[Fragment, ...]
    digest: bytes  # blake2b of init.mp4 and every segment, in order

    def duration(self, index: int) -> Fraction:
        return Fraction(self.fragments[index].video_duration, self.timescale)


def package_rendition(fmp4: Path, folder: Path, plan: Plan, rendition: Rendition, *,
                      video_only: bool = True) -> PackagedRendition:
    """Write folder/init.mp4 and folder/sNNNNN.m4s from fmp4, verify them, describe them.

    video_only: the file must hold exactly one track (video); else video plus one audio track.
    """
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.blake2b(digest_size=32)
    fragments: list[Fragment] = []
    current: tuple[Fragment, bytearray] | None = None  # the segment being assembled
    starts: frozenset[Fraction] = frozenset()

    def flush() -> None:
        if current is not None:
            fragment, data = current
            (folder / SEGMENT_NAME.format(index=fragment.index)).write_bytes(data)
            digest.update(data)
            fragments.append(fragment)

    with fmp4.open("rb") as src:
        pieces = _top_level(src)
        init = bytearray()
        pending = bytearray()  # styp & co. waiting for their moof
        moov: bytes | None = None
        tracks: dict[int, Track] = {}
        for kind, data in pieces:
            if kind == "moof":
                if moov is None:
                    raise PackagingError(f"{fmp4.name}: moof before moov")
                if current is None:
                    (folder / INIT_NAME).write_bytes(init)
                    digest.update(init)
                    timescale = track_of(tracks, "vide").timescale
                    starts = frozenset(Fraction(s.start_frame * timescale) / plan.frame_rate
                                       for s in plan.segments)
                mdat_kind, mdat = next(pieces, ("", b""))
                if mdat_kind != "mdat":
                    raise PackagingError(f"{fmp4.name}: moof not followed by mdat")
                segment = bytes(pending) + data + mdat
                pending.clear()
                index = len(fragments) + (current is not None)
                fragment = _describe(data, index, len(segment), tracks)
                if current is not None and fragment.video_tfdt not in starts:
                    # A fragment inside a planned segment (a stream-copied source with more
                    # keyframes than segments): the segment file holds several moof+mdat pairs.
                    current = (_merge(current[0], fragment), current[1] + segment)
                    continue
                flush()
                current = (fragment, bytearray(segment))
            elif current is None and kind != "mdat":
                init += data
                if kind == "moov":
                    moov = data
                    tracks = read_tracks(moov)
            elif kind in _SKIPPED:
                continue
            elif kind == "mdat":
                raise PackagingError(f"{fmp4.name}: mdat outside a fragment")
            else:
                pending += data
        flush()
    if moov is None:
        raise PackagingError(f"{fmp4.name}: no moov")
    video = track_of(tracks, "vide")
    want = 1 if video_only else 2
    if len(tracks) != want:
        raise PackagingError(f"{fmp4.name}: {len(tracks)} tracks, want {want}")
    audio = None if video_only else track_of(tracks, "soun")
    result = PackagedRendition(
        rendition=rendition, timescale=video.timescale,
        audio_timescale=audio.timescale if audio else None,
        video_codec=video_codec_of(moov), audio_codec=audio_codec_of(moov) if audio else None,
        fragments=tuple(fragments), digest=digest.digest())
    verify(result, plan)
    return result


def verify(packaged: PackagedRendition, plan: Plan) -> None:
    """Fragments must be exactly the planned segments."""
    rid = packaged.rendition.id
    if len(packaged.fragments) != len(plan.segments):
        raise PackagingError(f"{rid}: {len(packaged.fragments)} fragments, "
                             f"planned {len(plan.segments)} segments")
    for fragment, segment in zip(packaged.fragments, plan.segments):
        expected = Fraction(segment.start_frame * packaged.timescale) / plan.frame_rate
        if fragment.video_tfdt != expected:
            raise PackagingError(f"{rid} segment {segment.index}: video tfdt {fragment.video_tfdt}, "
                                 f"planned {float(expected)} (frame {segment.start_frame})")
        if fragment.video_samples != segment.frames:
            raise PackagingError(f"{rid} segment {segment.index}: {fragment.video_samples} frames, "
                                 f"planned {segment.frames}")


def _merge(a: Fragment, b: Fragment) -> Fragment:
    return Fragment(a.index, a.bytes + b.bytes, a.video_tfdt, a.video_samples + b.video_samples,
                    a.video_duration + b.video_duration,
                    a.audio_tfdt if a.audio_tfdt is not None else b.audio_tfdt,
                    a.audio_samples + b.audio_samples, a.audio_duration + b.audio_duration)


def _top_level(src: BinaryIO) -> Iterator[tuple[str, bytes]]:
    """(type, whole box bytes) for each top-level box of a file, read one box at a time."""
    while True:
        head = src.read(8)
        if not head:
            return
        if len(head) < 8:
            raise PackagingError("truncated box header")
        size = int.from_bytes(head[:4], "big")
        kind = head[4:].decode("latin-1")
        if size == 1:
            large = src.read(8)
            head += large
            size = int.from_bytes(large, "big")
        elif size == 0:
            rest = src.read()
            yield kind, head + rest
            return
        body = src.read(size - len(head))
        if len(body) != size - len(head):
            raise PackagingError(f"truncated {kind} box")
        yield kind, head + body


def read_tracks(moov: bytes) -> dict[int, Track]:
    box = boxes.find(moov, None, "moov")
    if box is None:
        raise PackagingError("no moov box")
    try:
        return boxes.read_tracks(moov, box)
    except boxes.BoxError as exc:
        raise PackagingError(str(exc)) from None


def track_of(tracks: dict[int, Track], handler: str) -> Track:
    found = [t for t in tracks.values() if t.handler == handler]
    if len(found) != 1:
        raise PackagingError(f"want exactly one {handler!r} track, found {len(found)}")
    return found[0]


def _describe(moof: bytes, index: int, size: int, tracks: dict[int, Track]) -> Fragment:
    per_track: dict[str, tuple[int, int, int]] = {}
    for traf in _all(moof, "moof/traf"):
        tfhd_box = boxes.find(moof, traf, "tfhd")
        tfdt_box = boxes.find(moof, traf, "tfdt")
        if tfhd_box is None or tfdt_box is None:
            raise PackagingError(f"fragment {index}: traf without tfhd/tfdt")
        tfhd = boxes.read_tfhd(moof, tfhd_box)
        track = tracks.get(tfhd.track_id)
        if track is None:
            raise PackagingError(f"fragment {index}: unknown track {tfhd.track_id}")
        version, tfdt = boxes.read_tfdt(moof, tfdt_box)
        if version != 1:
            raise PackagingError(f"fragment {index}: tfdt version {version}, want 1")
        duration = samples = 0
        first_flags: int | None = None
        default_duration = tfhd.default_sample_duration
        if default_duration is None:
            default_duration = track.default_duration
        for trun_box in boxes.find_all(moof, traf, "trun"):
            trun = boxes.read_trun(moof, trun_box, default_duration)
            if samples == 0:
                first_flags = trun.first_sample_flags
            duration += trun.duration
            samples += trun.sample_count
        if track.handler == "vide":
            if first_flags is None:
                first_flags = tfhd.default_sample_flags
            if first_flags is None:
                first_flags = track.default_flags
            if samples == 0 or not boxes.is_sync_sample(first_flags):
                raise PackagingError(f"fragment {index}: does not start with a sync sample")
        per_track[track.handler] = (tfdt, samples, duration)
    if "vide" not in per_track:
        raise PackagingError(f"fragment {index}: no video")
    video = per_track["vide"]
    audio = per_track.get("soun", (None, 0, 0))
    return Fragment(index, size, video[0], video[1], video[2], audio[0], audio[1], audio[2])


def _all(buf: bytes, path: str) -> Iterator[boxes.Box]:
    return boxes.find_all(buf, None, path)


def video_codec_of(moov: bytes) -> str:
    for trak in _all(moov, "moov/trak"):
        avcc = boxes.find(moov, trak, "mdia/minf/stbl/stsd/avc1/avcC")
        if avcc is not None:
            return boxes.read_avcc(moov, avcc).codec
    raise PackagingError("no avc1/avcC in moov")


def audio_codec_of(moov: bytes) -> str:
    for trak in _all(moov, "moov/trak"):
        esds = boxes.find(moov, trak, "mdia/minf/stbl/stsd/mp4a/esds")
        if esds is not None:
            oti = boxes.read_esds_object_type_indication(moov, esds)
            return f"mp4a.{oti:02x}.{boxes.read_esds_audio_object_type(moov, esds)}"
    raise PackagingError("no mp4a/esds in moov")

