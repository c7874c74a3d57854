"""Probe a source file with PyAV: video geometry, rate, exact frame timing, audio presence.

The video packets are demuxed (not decoded) end to end, so the frame count and the end time are
the real ones, and a truncated file (fewer packets than its header promises) is caught here, before
any encoding starts. The first frame is decoded to prove the stream is decodable at all.
`probe_music` does the same for a music bed's audio-only file (and checks the bed's start).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from ingest.errors import IngestError


@dataclass(frozen=True, slots=True)
class SourceInfo:
    path: Path
    width: int
    height: int
    sar: Fraction  # sample (pixel) aspect ratio, 1 when unknown
    frame_rate: Fraction
    frame_count: int
    origin: Fraction  # pts of the first video frame, seconds: source time 0
    duration: Fraction  # end of the last video frame, seconds from `origin`
    has_audio: bool
    audio_rate: int  # 0 without audio
    audio_channels: int  # 0 without audio

    @property
    def display_aspect(self) -> Fraction:
        return Fraction(self.width, self.height) * self.sar


def probe(path: Path, where: str) -> SourceInfo:
    """Describe one source; `where` names the title in error messages."""
    if not path.is_file():
        raise IngestError(f"{where}: source file not found: {path}")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"{where}: cannot open {path} as media: {_reason(exc)}") from None
    try:
        return _probe_open(container, path, where)
    except av.error.FFmpegError as exc:
        raise IngestError(f"{where}: corrupt media {path}: {_reason(exc)}") from None
    finally:
        container.close()


def _probe_open(container: av.container.InputContainer, path: Path, where: str) -> SourceInfo:
    if not container.streams.video:
        raise IngestError(f"{where}: no video stream in {path}")
    video = container.streams.video[0]
    ctx = video.codec_context
    if not ctx.width or not ctx.height:
        raise IngestError(f"{where}: video stream of {path} has no frame size")
    time_base = video.time_base
    if time_base is None:
        raise IngestError(f"{where}: video stream of {path} has no time base")
    raw_rate = video.guessed_rate or video.average_rate or video.base_rate
    if not raw_rate or raw_rate <= 0:
        raise IngestError(f"{where}: cannot tell the frame rate of {path}")
    rate = Fraction(raw_rate.numerator, raw_rate.denominator)
    sar_raw = ctx.sample_aspect_ratio
    sar = Fraction(sar_raw.numerator, sar_raw.denominator) if sar_raw else Fraction(0)
    if sar <= 0:
        sar = Fraction(1)

    starts: list[int] = []
    discarded = 0  # packets an edit list hides (before the stream's start): not frames
    end = None
    for packet in container.demux(video):
        if packet.is_discard:
            discarded += 1
            continue
        stamp = packet.pts if packet.pts is not None else packet.dts
        if stamp is None:
            if packet.size == 0:
                continue  # the flush packet
            raise IngestError(f"{where}: video packets of {path} carry no timestamps")
        starts.append(stamp)
        stop = stamp + (packet.duration or 0)
        end = stop if end is None else max(end, stop)
    if not starts or end is None:
        raise IngestError(f"{where}: no video frames in {path}")
    promised = video.frames
    if promised and len(starts) + discarded < promised:
        raise IngestError(f"{where}: truncated media {path}: "
                          f"{len(starts)} of {promised} video frames present")
    first = min(starts)
    origin = first * time_base
    last_end = end * time_base
    if max(starts) * time_base >= last_end:  # last packet had no duration: assume one frame
        last_end = max(starts) * time_base + 1 / rate
    _decode_first_frame(container, video, path, where)

    audio = container.streams.audio[0] if container.streams.audio else None
    channels = 0
    if audio is not None:
        actx = audio.codec_context
        channels = actx.layout.nb_channels if actx.layout else 0
        if not actx.sample_rate or not channels:
            audio = None
    return SourceInfo(
        path=path, width=ctx.width, height=ctx.height, sar=sar, frame_rate=rate,
        frame_count=len(starts), origin=origin, duration=last_end - origin,
        has_audio=audio is not None, audio_rate=audio.codec_context.sample_rate if audio else 0,
        audio_channels=channels if audio else 0)


def _decode_first_frame(container: av.container.InputContainer, video: av.VideoStream,
                        path: Path, where: str) -> None:
    container.seek(0)
    for frame in container.decode(video):
        if frame.width and frame.height:
            return
    raise IngestError(f"{where}: corrupt media {path}: no decodable video frame")


def default_frame_rate(sources: Iterable[SourceInfo]) -> Fraction:
    """The most common source frame rate (first seen wins a tie)."""
    counts = Counter(s.frame_rate for s in sources)
    if not counts:
        raise IngestError("no sources to take a frame rate from")
    return counts.most_common(1)[0][0]


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split())


@dataclass(frozen=True, slots=True)
class MusicInfo:
    path: Path
    sample_rate: int
    channels: int
    origin: Fraction  # pts of the first audio packet, seconds: bed time 0
    duration: Fraction  # end of the last audio packet, seconds from `origin`


def probe_music(path: Path, start: Fraction, where: str) -> MusicInfo:
    """Describe a music bed's file (packets demuxed end to end); `where` names the bed."""
    if not path.is_file():
        raise IngestError(f"{where}: music file not found: {path}")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"{where}: cannot open {path} as media: {_reason(exc)}") from None
    try:
        with container:
            if not container.streams.audio:
                raise IngestError(f"{where}: no audio stream in {path}")
            stream = container.streams.audio[0]
            ctx = stream.codec_context
            channels = ctx.layout.nb_channels if ctx.layout else 0
            time_base = stream.time_base
            if not ctx.sample_rate or not channels or time_base is None:
                raise IngestError(f"{where}: unusable audio stream in {path}")
            first = end = None
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue
                first = packet.pts if first is None else min(first, packet.pts)
                stop = packet.pts + (packet.duration or 0)
                end = stop if end is None else max(end, stop)
    except av.error.FFmpegError as exc:
        raise IngestError(f"{where}: corrupt media {path}: {_reason(exc)}") from None
    if first is None or end is None or end <= first:
        raise IngestError(f"{where}: no audio in {path}")
    origin = first * time_base
    duration = (end - first) * time_base
    if start >= duration:
        raise IngestError(f"{where}: start {float(start):g}s is past the end of {path.name} "
                          f"({float(duration):.3f}s)")
    return MusicInfo(path, ctx.sample_rate, channels, origin, duration)
