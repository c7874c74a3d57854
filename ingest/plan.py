"""The encode plan: pure decisions made before any pixel moves.

Output frame rate, the rendition ladder, where every clip lands in the Mega Asset (in output frames),
its exact audio sample range, and the segment table (a new segment at every clip start, then every
`segment_frames` frames within the clip). Clips that would read past the end of their source are
rejected here, before encoding starts.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from ingest.errors import IngestError
from ingest.probe import SourceInfo, default_frame_rate
from ingest.spec import RenditionSpec, Spec, TitleSpec

AUDIO_RATE = 48000
AUDIO_CHANNELS = 2
LADDER_HEIGHTS = (1080, 720, 540, 360, 240)
MAX_DEFAULT_RENDITIONS = 2
# Peak video bitrate (kbit/s) per height; the VBV buffer is twice that.
MAXRATE_KBPS = {1080: 6000, 720: 4000, 540: 2500, 360: 1000, 240: 500}
# Tolerance when checking a clip against the end of its source.
END_EPSILON = Fraction(1, 1000)


@dataclass(frozen=True, slots=True)
class Rendition:
    id: str
    width: int
    height: int
    maxrate_kbps: int

    @property
    def bufsize_kbps(self) -> int:
        return 2 * self.maxrate_kbps


@dataclass(frozen=True, slots=True)
class PlannedSegment:
    index: int
    start_frame: int
    frames: int
    clip: int  # index into Plan.clips


@dataclass(frozen=True, slots=True)
class PlannedClip:
    index: int
    id: str
    title: TitleSpec
    talent: tuple[str, ...]
    frames: int
    start_frame: int  # position in the Mega Asset, output frames
    source: SourceInfo
    source_start: Fraction  # seconds from the source's first frame
    audio_start: int  # first Mega Asset audio sample (48 kHz) of this clip
    audio_end: int  # one past its last
    segments: tuple[int, ...]
    where: str  # names the title, clip and start, for messages

    @property
    def audio_samples(self) -> int:
        return self.audio_end - self.audio_start


@dataclass(frozen=True, slots=True)
class Plan:
    asset_id: str
    frame_rate: Fraction
    segment_frames: int
    renditions: tuple[Rendition, ...]  # best first; [0] is the canvas every clip is conformed to
    titles: tuple[TitleSpec, ...]
    clips: tuple[PlannedClip, ...]
    segments: tuple[PlannedSegment, ...]

    @property
    def total_frames(self) -> int:
        last = self.segments[-1]
        return last.start_frame + last.frames

    def segment_starts(self) -> frozenset[int]:
        return frozenset(s.start_frame for s in self.segments)


def audio_sample_at(frame: int, frame_rate: Fraction) -> int:
    """The Mega Asset audio sample where output frame `frame` starts (rounded: never drifts)."""
    return round(frame * AUDIO_RATE / frame_rate)


def even(value: float | Fraction) -> int:
    return max(2, 2 * round(value / 2))


def rendition_for(height: int, rid: str | None = None, maxrate_kbps: int | None = None) -> Rendition:
    """A 16:9 rendition of the given height."""
    if maxrate_kbps is None:
        maxrate_kbps = MAXRATE_KBPS.get(height) or max(200, round(2500 * (height / 540) ** 2))
    return Rendition(rid or f"{height}p", even(height * 16 / 9), height, maxrate_kbps)


def default_ladder(best_source_height: int) -> tuple[Rendition, ...]:
    """The top heights of LADDER_HEIGHTS not above the best source (always at least two)."""
    fitting = [h for h in LADDER_HEIGHTS if h <= best_source_height]
    if len(fitting) < 2:
        fitting = list(LADDER_HEIGHTS[-2:])
    return tuple(rendition_for(h) for h in fitting[:MAX_DEFAULT_RENDITIONS])


def make_plan(spec: Spec, sources: Mapping[str, SourceInfo]) -> Plan:
    """Lay out every clip of the spec, in spec order, on the Mega Asset timeline."""
    frame_rate = spec.frame_rate or default_frame_rate(sources[t.id] for t in spec.titles)
    renditions = _ladder(spec.renditions, sources)
    clips: list[PlannedClip] = []
    segments: list[PlannedSegment] = []
    position = 0
    for title in spec.titles:
        source = sources[title.id]
        seen: dict[tuple[Fraction, int], str] = {}
        for clip in title.clips:
            where = f"{clip.where} (start {clip.start.text})"
            start = clip.start.resolve(source.frame_rate, where)
            if (start, clip.frames) in seen:
                raise IngestError(f"{where}: same start and length as clip "
                                  f"{seen[start, clip.frames]!r}")
            seen[start, clip.frames] = clip.id
            span_end = start + Fraction(clip.frames) / frame_rate
            if span_end > source.duration + END_EPSILON:
                raise IngestError(
                    f"{where}: clip runs past the end of {source.path.name}: needs "
                    f"{float(start):.3f}s + {clip.frames} frames = {float(span_end):.3f}s, "
                    f"source video ends at {float(source.duration):.3f}s")
            first_segment = len(segments)
            for offset in range(0, clip.frames, spec.segment_frames):
                frames = min(spec.segment_frames, clip.frames - offset)
                segments.append(PlannedSegment(len(segments), position + offset, frames, len(clips)))
            clips.append(PlannedClip(
                index=len(clips), id=clip.id, title=title, talent=clip.talent, frames=clip.frames,
                start_frame=position, source=source, source_start=start,
                audio_start=audio_sample_at(position, frame_rate),
                audio_end=audio_sample_at(position + clip.frames, frame_rate),
                segments=tuple(range(first_segment, len(segments))), where=where))
            position += clip.frames
    return Plan(spec.asset_id, frame_rate, spec.segment_frames, renditions, spec.titles,
                tuple(clips), tuple(segments))


def _ladder(wanted: tuple[RenditionSpec, ...] | None,
            sources: Mapping[str, SourceInfo]) -> tuple[Rendition, ...]:
    if wanted is not None:
        return tuple(rendition_for(r.height, r.id, r.maxrate_kbps) for r in wanted)
    return default_ladder(max(s.height for s in sources.values()))
