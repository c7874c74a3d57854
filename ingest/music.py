"""Music beds: one audio file -> `music/{id}/` with whole segments s{k} and fade-out variants f{k}.

A bed is decoded from its `start` (at most as long as the Mega Asset plus one segment: no reel is
longer, as every clip is used at most once), conformed to 48 kHz stereo float (resampled, mono
upmixed),
levelled to the plan's loudness target with the clips' EBU R128 machinery (`loudness.level`) and
encoded once as AAC-LC (`aac.py`, the clip audio's settings). Its own AAC grid starts at 0; segment
k holds the frames starting in [k*S, (k+1)*S), S = segment_frames / frame_rate (`grid.bed_spans`);
only whole segments are kept (every frame complete).

Fade variant k covers exactly s{k}'s frames and tfdt. It is encoded separately from s{k-1}'s start
(pre-roll, so the encoder's first kept packet overlaps cleanly with s{k-1}'s last) with a
raised-cosine gain from full level at s{k}'s first sample down to silence one AAC frame before
s{k}'s end (the last frame is digital silence, so the reel ends without a click); only the packets
of segment k are kept. The edge plays s0 .. s{m-2} then f{m-1}.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ingest.aac import AacPacket, encode_all
from ingest.audio_package import AudioFragment, check_init, write_segments
from ingest.errors import IngestError
from ingest.grid import AAC_FRAME, AUDIO_RATE, bed_spans
from ingest.loudness import Levelled, level
from ingest.package import INIT_NAME
from ingest.plan import AUDIO_CHANNELS, Plan, PlannedBed

MUSIC_DIR = "music"
SEGMENT_NAME = "s{index:05d}.m4s"
FADE_NAME = "f{index:05d}.m4s"
_PREROLL_SEGMENTS = 1
_SLACK = Fraction(1, 5)  # decode this far past what a bed needs: the resampler holds samples back


@dataclass(frozen=True, slots=True)
class PackagedBed:
    bed: PlannedBed
    codec: str
    segments: tuple[AudioFragment, ...]
    fades: tuple[AudioFragment, ...]
    levelled: Levelled
    digest: bytes

    @property
    def folder(self) -> str:
        return f"{MUSIC_DIR}/{self.bed.id}"


def build_bed(bed: PlannedBed, plan: Plan, folder: Path) -> PackagedBed:
    """Conform, level, encode and segment one bed into folder (init.mp4, s*.m4s, f*.m4s)."""
    longest = (Fraction(plan.total_frames) / plan.frame_rate + plan.segment_seconds) * AUDIO_RATE
    samples, levelled = level(conform_bed(bed, math.ceil(longest)), plan.loudness_lufs)
    spans = bed_spans(samples.shape[1], plan.segment_seconds)
    if not spans:
        raise IngestError(f"{bed.spec.where}: {bed.source.path.name} is shorter than one segment "
                          f"({float(plan.segment_seconds):.3f}s) after its start")
    init, packets = encode_all(samples)
    _, codec = check_init(init)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / INIT_NAME).write_bytes(init)
    digest = hashlib.blake2b(init, digest_size=32)
    segments = write_segments(init, packets, spans, folder, SEGMENT_NAME, digest)
    fades: list[AudioFragment] = []
    for k in range(len(spans)):
        fade_packets = _fade_packets(samples, spans, k)
        fades += write_segments(init, fade_packets, spans[k:k + 1], folder, FADE_NAME, digest,
                                first_index=k)
    return PackagedBed(bed, codec, tuple(segments), tuple(fades), levelled, digest.digest())


def fade_gain(length: int, fade_to: int) -> np.ndarray:
    """Raised-cosine gain over `length` samples: 1 at 0, reaching 0 at `fade_to`, 0 after."""
    gain = np.zeros(length, np.float32)
    ramp = np.arange(fade_to, dtype=np.float64) / max(fade_to, 1)
    gain[:fade_to] = (0.5 + 0.5 * np.cos(math.pi * ramp)).astype(np.float32)
    return gain


def _fade_packets(samples: np.ndarray, spans: list[tuple[int, int]], k: int) -> list[AacPacket]:
    """Packets of segment k encoded with pre-roll and a fade to silence at the segment's end."""
    first, stop = spans[k]
    pre = spans[max(0, k - _PREROLL_SEGMENTS)][0]
    chunk = samples[:, pre * AAC_FRAME:stop * AAC_FRAME].copy()
    offset = (first - pre) * AAC_FRAME
    span = (stop - first) * AAC_FRAME
    chunk[:, offset:] *= fade_gain(span, span - AAC_FRAME)
    _, packets = encode_all(chunk)
    shifted = [AacPacket(p.frame + pre, p.duration, p.data) for p in packets]
    return [p for p in shifted if first <= p.frame < stop]


def conform_bed(bed: PlannedBed, limit: int | None = None) -> np.ndarray:
    """The bed from its start to the end of the file (at most `limit` samples): float32 (2, n) at
    48 kHz."""
    source = bed.source
    try:
        with av.open(str(source.path)) as container:
            stream = container.streams.audio[0]
            time_base = stream.time_base
            assert time_base is not None
            target = bed.spec.start + source.origin
            container.seek(int(max(Fraction(0), target - Fraction(1, 2)) / time_base),
                           stream=stream, backward=True, any_frame=False)
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
            chunks: list[np.ndarray] = []
            first_time: Fraction | None = None
            stop = None if limit is None else target + Fraction(limit, AUDIO_RATE) + _SLACK
            for frame in container.decode(stream):
                if first_time is None:
                    if frame.pts is None:
                        continue
                    first_time = frame.pts * time_base
                chunks += [out.to_ndarray() for out in resampler.resample(frame)]
                if stop is not None and frame.pts is not None and frame.pts * time_base > stop:
                    break  # past start + limit (+ what the resampler holds back)
            else:
                chunks += [out.to_ndarray() for out in resampler.resample(None)]
    except av.error.FFmpegError as exc:
        raise IngestError(f"{bed.spec.where}: corrupt audio in {source.path}: {exc}") from None
    if first_time is None or not chunks:
        raise IngestError(f"{bed.spec.where}: no decodable audio in {source.path}")
    decoded = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    skip = max(0, round((target - first_time) * AUDIO_RATE))
    end = None if limit is None else skip + limit
    out = np.ascontiguousarray(decoded[:AUDIO_CHANNELS, skip:end])
    if out.shape[1] == 0:
        raise IngestError(f"{bed.spec.where}: no audio after start {float(bed.spec.start):g}s "
                          f"in {source.path}")
    return out
