"""The encode plan: pure decisions made before any pixel moves.

Output frame rate, the rendition ladder, where every clip lands in the Mega Asset (in output frames),
its exact audio sample range, the segment table (a new segment at every clip start, then every
`segment_frames` frames within the clip), and the music beds with their probed files. Clips that
would read past the end of their source, and segments too short to hold one AAC frame, are rejected
here, before encoding starts.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from ingest.errors import IngestError
from ingest.grid import AAC_FRAME
from ingest.grid import AUDIO_RATE as AUDIO_RATE
from ingest.ladder import Rendition, default_ladder, rendition_for
from ingest.probe import MusicInfo, SourceInfo, default_frame_rate
from ingest.spec import DEFAULT_LANGUAGE, ClipSpec, MusicSpec, Spec, TitleSpec
from ingest.spec_check import clip_problems

AUDIO_CHANNELS = 2


@dataclass(frozen=True, slots=True)
class PlannedBed:
    spec: MusicSpec
    source: MusicInfo

    @property
    def id(self) -> str:
        return self.spec.id


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
    loudness_lufs: float | None = -16.0  # every clip's audio to this EBU R128 target; None: as is
    language: str = DEFAULT_LANGUAGE  # BCP 47 tag of the audio rendition
    music: tuple[PlannedBed, ...] = ()

    @property
    def segment_seconds(self) -> Fraction:
        """The full video segment length: a music bed's segment length."""
        return self.segment_frames / self.frame_rate

    @property
    def total_frames(self) -> int:
        last = self.segments[-1]
        return last.start_frame + last.frames

    def segment_starts(self) -> frozenset[int]:
        return frozenset(s.start_frame for s in self.segments)


def audio_sample_at(frame: int, frame_rate: Fraction) -> int:
    """The Mega Asset audio sample where output frame `frame` starts (rounded: never drifts)."""
    return round(frame * AUDIO_RATE / frame_rate)


def bed_too_short(bed: MusicSpec, source: MusicInfo, segment_frames: int,
                  frame_rate: Fraction) -> str | None:
    """Why a bed cannot fill one whole segment after its start; None when it can."""
    need = Fraction(segment_frames) / frame_rate + Fraction(AAC_FRAME, AUDIO_RATE)
    have = source.duration - bed.start
    if have >= need:
        return None
    return (f"{bed.where}: {source.path.name} has {float(have):.3f}s after its start, less than "
            f"one segment ({float(need):.3f}s)")


def make_plan(spec: Spec, sources: Mapping[str, SourceInfo],
              music: Mapping[str, MusicInfo] | None = None) -> Plan:
    """Lay out every clip of the spec, in spec order, on the Mega Asset timeline.

    `music` holds the probed file of every bed of the spec (`probe.probe_music`), by bed id.
    """
    frame_rate = spec.frame_rate or default_frame_rate(sources[t.id] for t in spec.titles)
    problems = clip_problems(spec, sources, frame_rate)
    if problems:
        raise IngestError(problems[0])
    if spec.music and (music is None or any(b.id not in music for b in spec.music)):
        raise ValueError("make_plan: probe every music bed first (probe.probe_music)")
    beds = tuple(PlannedBed(b, music[b.id]) for b in spec.music) if music else ()
    for bed in beds:
        if problem := bed_too_short(bed.spec, bed.source, spec.segment_frames, frame_rate):
            raise IngestError(problem)
    renditions = _ladder(spec, sources, frame_rate)
    clips: list[PlannedClip] = []
    segments: list[PlannedSegment] = []
    position = 0
    for title, clip in _in_order(spec):
        source = sources[title.id]
        where = f"{clip.where} (start {clip.start.text})"
        start = clip.start.resolve(source.frame_rate, where)
        first_segment = len(segments)
        shortest = clip.frames % spec.segment_frames or spec.segment_frames
        if Fraction(shortest) / frame_rate < Fraction(AAC_FRAME, AUDIO_RATE):
            raise IngestError(f"{where}: a segment of {shortest} frames at {float(frame_rate):g} "
                              "fps is shorter than one AAC audio frame (1024/48000 s)")
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
                tuple(clips), tuple(segments), spec.loudness_lufs, spec.language, beds)


def _in_order(spec: Spec) -> list[tuple[TitleSpec, ClipSpec]]:
    """Every clip with its title: grouped by title, or in spec.order (clip ids) when it is set."""
    pairs = [(title, clip) for title in spec.titles for clip in title.clips]
    if spec.order is None:
        return pairs
    by_id = {clip.id: (title, clip) for title, clip in pairs}
    return [by_id[clip_id] for clip_id in spec.order]


def _ladder(spec: Spec, sources: Mapping[str, SourceInfo],
            frame_rate: Fraction) -> tuple[Rendition, ...]:
    if spec.renditions is not None:
        return tuple(rendition_for(r.height, r.id, r.maxrate_kbps, frame_rate=frame_rate,
                                   profile=r.profile, level=r.level) for r in spec.renditions)
    return default_ladder(max(s.height for s in sources.values()), frame_rate,
                          spec.max_renditions)
