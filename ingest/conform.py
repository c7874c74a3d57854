"""Conform one clip of a source to the Mega Asset's frame rate, canvas and audio format.

Video: seek to the keyframe before the clip, decode, and sample-and-hold onto the output grid (output
frame i shows the last source frame whose time is <= start + i/fps, within EPSILON), then scale to fit
the canvas without stretching (honouring the sample aspect ratio) and centre it on black.
Audio: decode from just before the clip, resample to 48 kHz stereo float planar, and cut exactly the
samples of the clip's span; anything the source does not have (no audio stream, audio shorter than
video) is silence.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

import av
import numpy as np

from ingest.errors import IngestError
from ingest.ladder import even
from ingest.plan import AUDIO_CHANNELS, AUDIO_RATE, PlannedClip
from ingest.probe import SourceInfo

T = TypeVar("T")
EPSILON = Fraction(1, 1000)  # a source frame this close after a grid point still counts as "at" it
AUDIO_PREROLL = Fraction(1, 5)  # start audio decoding this much before the clip
_BLACK = (16, 128, 128)  # limited-range Y, Cb, Cr
_RESAMPLER_SLACK = 2048  # extra samples to decode past the clip: the resampler holds some back


class ShortSource(Exception):
    """The source ran out of frames before the clip was complete."""


def sample_and_hold(timed: Iterable[tuple[Fraction, T]], start: Fraction, frames: int,
                    frame_rate: Fraction, end: Fraction) -> Iterator[T]:
    """Yield exactly `frames` items: item i is the last one whose time <= start + i/rate (+EPSILON).

    `timed` is (time, item) in presentation order; `end` is when the last item stops being shown.
    The first item is held backwards if it starts (slightly) after `start`.
    """
    held: T | None = None
    i = 0
    step = 1 / frame_rate
    for time, item in timed:
        while i < frames and time > start + i * step + EPSILON:
            yield item if held is None else held
            i += 1
        if i >= frames:
            return
        held = item
    while i < frames:
        if held is None or start + i * step >= end + EPSILON:
            raise ShortSource(f"source ends before output frame {i} of {frames}")
        yield held
        i += 1


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a source picture goes on the canvas: scaled size and top-left offset."""

    width: int
    height: int
    x: int
    y: int
    canvas_width: int
    canvas_height: int

    @property
    def fills_canvas(self) -> bool:
        return (self.width, self.height) == (self.canvas_width, self.canvas_height)


def fit(source: SourceInfo, canvas_width: int, canvas_height: int) -> Placement:
    """Largest even size with the source's display aspect that fits the canvas, centred."""
    aspect = source.display_aspect
    canvas_aspect = Fraction(canvas_width, canvas_height)
    if aspect >= canvas_aspect:
        width, height = canvas_width, min(canvas_height, even(canvas_width / aspect))
    else:
        width, height = min(canvas_width, even(canvas_height * aspect)), canvas_height
    x = (canvas_width - width) // 2 // 2 * 2
    y = (canvas_height - height) // 2 // 2 * 2
    return Placement(width, height, x, y, canvas_width, canvas_height)


class Canvas:
    """Scales frames per a Placement and pastes them on a black yuv420p canvas."""

    def __init__(self, placement: Placement) -> None:
        self.placement = placement
        w, h = placement.canvas_width, placement.canvas_height
        self._buffer = np.empty((h * 3 // 2, w), np.uint8)
        self._y = self._buffer[:h]
        chroma = self._buffer[h:].reshape(2, h // 2, w // 2)
        self._u, self._v = chroma[0], chroma[1]
        self._y.fill(_BLACK[0])
        self._u.fill(_BLACK[1])
        self._v.fill(_BLACK[2])

    def place(self, frame: av.VideoFrame) -> av.VideoFrame:
        p = self.placement
        scaled = frame.reformat(width=p.width, height=p.height, format="yuv420p",
                                interpolation="BICUBIC")
        if p.fills_canvas:
            return scaled
        pixels = scaled.to_ndarray()  # (h * 3/2, w): Y rows, then U rows, then V rows
        u_v = pixels[p.height:].reshape(2, p.height // 2, p.width // 2)
        self._y[p.y:p.y + p.height, p.x:p.x + p.width] = pixels[:p.height]
        cy, cx, ch, cw = p.y // 2, p.x // 2, p.height // 2, p.width // 2
        self._u[cy:cy + ch, cx:cx + cw] = u_v[0]
        self._v[cy:cy + ch, cx:cx + cw] = u_v[1]
        return av.VideoFrame.from_ndarray(self._buffer, format="yuv420p")


def conform_video(clip: PlannedClip, frame_rate: Fraction, canvas_width: int,
                  canvas_height: int) -> Iterator[av.VideoFrame]:
    """Exactly clip.frames canvas-sized yuv420p frames (pts unset)."""
    source = clip.source
    canvas = Canvas(fit(source, canvas_width, canvas_height))
    try:
        with av.open(str(source.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            timed = _timed_frames(container, stream, source, clip.source_start)
            last: av.VideoFrame | None = None
            placed: av.VideoFrame | None = None
            for frame in sample_and_hold(timed, clip.source_start, clip.frames, frame_rate,
                                         source.duration):
                if frame is not last:  # a held frame is scaled once, however often it repeats
                    last, placed = frame, canvas.place(frame)
                assert placed is not None
                yield placed
    except ShortSource as exc:
        raise IngestError(f"{clip.where}: {source.path.name}: {exc}") from None
    except av.error.FFmpegError as exc:
        raise IngestError(f"{clip.where}: corrupt media {source.path}: {exc}") from None


def _timed_frames(container: av.container.InputContainer, stream: av.VideoStream,
                  source: SourceInfo, start: Fraction) -> Iterator[tuple[Fraction, av.VideoFrame]]:
    """(seconds from source origin, frame) from the keyframe at or before `start` onwards."""
    time_base = stream.time_base
    assert time_base is not None
    target = int((start + source.origin) / time_base)
    container.seek(target, stream=stream, backward=True, any_frame=False)
    first = True
    for frame in container.decode(stream):
        if frame.pts is None:
            continue
        time = frame.pts * time_base - source.origin
        if first and time > start + EPSILON and start > 0:
            # The seek landed after the clip start (odd index): read from the very beginning.
            yield from _from_beginning(container, stream, source)
            return
        first = False
        yield time, frame


def _from_beginning(container: av.container.InputContainer, stream: av.VideoStream,
                    source: SourceInfo) -> Iterator[tuple[Fraction, av.VideoFrame]]:
    time_base = stream.time_base
    assert time_base is not None
    container.seek(0, stream=stream, backward=True, any_frame=False)
    for frame in container.decode(stream):
        if frame.pts is not None:
            yield frame.pts * time_base - source.origin, frame


def conform_audio(clip: PlannedClip) -> np.ndarray:
    """The clip's audio: float32 (2, audio_samples) at 48 kHz, silence where the source has none."""
    out = np.zeros((AUDIO_CHANNELS, clip.audio_samples), np.float32)
    if not clip.source.has_audio:
        return out
    try:
        decoded, first_time = _decode_audio(clip)
    except av.error.FFmpegError as exc:
        raise IngestError(f"{clip.where}: corrupt audio in {clip.source.path}: {exc}") from None
    if first_time is None:
        return out
    # Where the clip starts in `decoded` (negative: the source audio starts after the clip does).
    offset = round((clip.source_start - first_time) * AUDIO_RATE)
    src_from, dst_from = max(offset, 0), max(-offset, 0)
    count = min(decoded.shape[1] - src_from, clip.audio_samples - dst_from)
    if count > 0:
        out[:, dst_from:dst_from + count] = decoded[:, src_from:src_from + count]
    return out


def _decode_audio(clip: PlannedClip) -> tuple[np.ndarray, Fraction | None]:
    """48 kHz stereo samples from just before the clip start, and the source time of the first one."""
    source = clip.source
    clip_end = clip.source_start + Fraction(clip.audio_samples, AUDIO_RATE)
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
    chunks: list[np.ndarray] = []
    have = 0
    needed: int | None = None  # samples to decode, counted from the first one
    first_time: Fraction | None = None
    with av.open(str(source.path)) as container:
        stream = container.streams.audio[0]
        time_base = stream.time_base
        assert time_base is not None
        seek_to = max(Fraction(0), clip.source_start - AUDIO_PREROLL) + source.origin
        container.seek(int(seek_to / time_base), stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            if first_time is None:
                if frame.pts is None:
                    continue
                first_time = frame.pts * time_base - source.origin
                if first_time >= clip_end:
                    return np.zeros((AUDIO_CHANNELS, 0), np.float32), first_time
                needed = round((clip_end - first_time) * AUDIO_RATE) + _RESAMPLER_SLACK
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray())
                have += out.samples
            if needed is not None and have >= needed:
                break
        else:
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
    if not chunks:
        return np.zeros((AUDIO_CHANNELS, 0), np.float32), first_time
    return np.concatenate(chunks, axis=1).astype(np.float32, copy=False), first_time
