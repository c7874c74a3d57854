"""Audio-only CMAF renditions on disk: `init.mp4` + one fragment file per segment, verified.

`write_segments` turns AAC packets (`aac.py`) into standalone fragment files (`fragment.py`): the
packets of each span of the AAC grid (`grid.py`) become one `moof` + `mdat` whose `tfdt` (version 1,
timescale 48000) is the span's first frame's sample index. Every file is read back with `boxes.py`
and checked against its span (decode time, frame count, sizes); a mismatch is an internal error.

`package_audio` is the Mega Asset's audio rendition (`audio/`), one segment per video segment;
`music.py` uses `write_segments` for the beds.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ingest import boxes
from ingest.aac import AacPacket
from ingest.fragment import fragment
from ingest.grid import AUDIO_RATE, mega_asset_spans
from ingest.package import INIT_NAME, SEGMENT_NAME, PackagingError, audio_codec_of, read_tracks, track_of
from ingest.plan import Plan

AUDIO_ID = "audio"  # the audio rendition's id and folder; reserved (spec.py)


@dataclass(frozen=True, slots=True)
class AudioFragment:
    index: int
    bytes: int
    tfdt: int  # samples (timescale 48000)
    samples: int  # AAC frames
    duration: int  # samples, from the trun

    @property
    def seconds(self) -> Fraction:
        return Fraction(self.duration, AUDIO_RATE)


@dataclass(frozen=True, slots=True)
class PackagedAudio:
    id: str
    codec: str  # e.g. mp4a.40.2, from the esds in init.mp4
    fragments: tuple[AudioFragment, ...]
    digest: bytes  # blake2b of init.mp4 and every segment, in order


def check_init(init: bytes) -> tuple[int, str]:
    """(track id, codec string) of an audio-only header; PackagingError unless exactly one track."""
    moov = next((init[b.offset:b.end] for b in boxes.iter_boxes(init) if b.type == "moov"), None)
    if moov is None:
        raise PackagingError("audio init: no moov")
    tracks = read_tracks(moov)
    if len(tracks) != 1:
        raise PackagingError(f"audio init: {len(tracks)} tracks, want 1")
    track = track_of(tracks, "soun")
    if track.timescale != AUDIO_RATE:
        raise PackagingError(f"audio init: timescale {track.timescale}, want {AUDIO_RATE}")
    if boxes.find(moov, None, "moov/trak/edts") is not None:
        raise PackagingError("audio init: has an edit list")
    return track.id, audio_codec_of(moov)


def write_segments(init: bytes, packets: Sequence[AacPacket], spans: Sequence[tuple[int, int]],
                   folder: Path, name: str = SEGMENT_NAME,
                   digest: hashlib.blake2b | None = None,
                   first_index: int = 0) -> list[AudioFragment]:
    """Write folder/name.format(index=k) for the span [first, stop) of AAC frames of every segment
    k = first_index, first_index + 1, ...; each file read back and verified.

    `packets` must hold every frame of every span (packets outside the spans are ignored).
    """
    track_id, _ = check_init(init)
    by_frame = {p.frame: p for p in packets}
    out: list[AudioFragment] = []
    for index, (first, stop) in enumerate(spans, first_index):
        missing = [j for j in range(first, stop) if j not in by_frame]
        if missing or stop <= first:
            raise PackagingError(f"{folder.name} segment {index}: AAC frames {first}..{stop - 1} "
                                 f"planned, {len(missing)} missing")
        chosen = [by_frame[j] for j in range(first, stop)]
        data = fragment(track_id, index + 1, first * 1024,
                        [(p.duration, p.data) for p in chosen])
        (folder / name.format(index=index)).write_bytes(data)
        if digest is not None:
            digest.update(data)
        found = read_fragment(data)
        want = (first * 1024, stop - first, sum(p.duration for p in chosen))
        if found != want:
            raise PackagingError(f"{folder.name} segment {index}: (tfdt, frames, duration) "
                                 f"{found}, planned {want}")
        out.append(AudioFragment(index, len(data), *found))
    return out


def read_fragment(data: bytes) -> tuple[int, int, int]:
    """(tfdt, samples, summed duration) of a one-track fragment; PackagingError if malformed."""
    try:
        trafs = list(boxes.find_all(data, None, "moof/traf"))
        if len(trafs) != 1:
            raise PackagingError(f"{len(trafs)} track fragments, want 1")
        tfdt_box = boxes.find(data, trafs[0], "tfdt")
        if tfdt_box is None:
            raise PackagingError("no tfdt")
        version, tfdt = boxes.read_tfdt(data, tfdt_box)
        if version != 1:
            raise PackagingError(f"tfdt version {version}, want 1")
        runs = [boxes.read_trun(data, b) for b in boxes.find_all(data, trafs[0], "trun")]
    except boxes.BoxError as exc:
        raise PackagingError(str(exc)) from None
    return tfdt, sum(r.sample_count for r in runs), sum(r.duration for r in runs)


def package_audio(init: bytes, packets: Sequence[AacPacket], folder: Path,
                  plan: Plan) -> PackagedAudio:
    """The Mega Asset's audio rendition: folder/init.mp4 + one segment per planned segment."""
    folder.mkdir(parents=True, exist_ok=True)
    spans = mega_asset_spans([s.start_frame for s in plan.segments], plan.total_frames,
                             plan.frame_rate)
    if packets and packets[-1].frame >= spans[-1][1]:
        raise PackagingError(f"audio: {packets[-1].frame + 1} AAC frames, the grid has "
                             f"{spans[-1][1]}")
    _, codec = check_init(init)
    (folder / INIT_NAME).write_bytes(init)
    digest = hashlib.blake2b(init, digest_size=32)
    fragments = write_segments(init, packets, spans, folder, digest=digest)
    return PackagedAudio(AUDIO_ID, codec, tuple(fragments), digest.digest())
