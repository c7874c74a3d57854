"""Rules on the segments' own bytes (pure): each video segment starts with an IDR and each audio
segment holds samples, EXTINF matches the samples, EXT-X-DISCONTINUITY sits exactly where the
decode times stop following on, and a separate audio playlist stays in sync with the video.

A playlist's timeline is its *primary* track: video, else audio (a demuxed audio rendition or a
music bed). Video must follow on exactly; audio within one AAC frame (its sample duration), since
AAC frames do not line up with video frames at a cut (the edge's continuous timeline leaves a gap
or overlap of under one frame there)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from conformance.fmp4 import InitInfo, SegmentInfo, TrackInfo, TrackRun
from conformance.playlist import Media
from conformance.report import Violation

IDR = 5
AAC_FRAME = 1024  # samples per AAC-LC frame: the sample duration when a segment does not say


def check_keyframe(name: str, uri: str, init: InitInfo, info: SegmentInfo) -> list[Violation]:
    video = init.video
    run = info.tracks.get(video.id) if video else None
    if run is None or run.samples == 0:
        return [Violation("KEYFRAME", name, uri, "segment has no video samples")]
    found: list[Violation] = []
    if run.first_sync is False:
        found.append(Violation("KEYFRAME", name, uri, "first video sample is not flagged as a sync sample"))
    if info.first_nal_types is not None and IDR not in info.first_nal_types:
        found.append(Violation("KEYFRAME", name, uri,
                               "first video sample has no IDR NAL unit "
                               f"(types {list(info.first_nal_types)})"))
    if run.tfdt_version == 0:
        found.append(Violation("TFDT", name, uri, "video tfdt is version 0 (32-bit)"))
    return found


def check_audio_segment(name: str, uri: str, init: InitInfo, info: SegmentInfo) -> list[Violation]:
    """An audio-only segment (no video track in its init) holds audio samples and a 64-bit tfdt."""
    audio = init.audio
    run = info.tracks.get(audio.id) if audio else None
    if run is None or run.samples == 0:
        return [Violation("SEGMENT", name, uri, "audio segment has no audio samples")]
    if run.tfdt is None:
        return [Violation("TFDT", name, uri, "audio track fragment has no tfdt")]
    if run.tfdt_version == 0:
        return [Violation("TFDT", name, uri, "audio tfdt is version 0 (32-bit)")]
    return []


def check_samples(name: str, uri: str, init: InitInfo, info: SegmentInfo) -> list[Violation]:
    """The per-segment sample rules for the playlist's kind: IDR first (video) or audio present."""
    if init.video is not None:
        return check_keyframe(name, uri, init, info)
    return check_audio_segment(name, uri, init, info)


def check_extinf(name: str, uri: str, extinf: float, init: InitInfo, info: SegmentInfo) -> list[Violation]:
    """EXTINF from real sample timing: within a millisecond of the primary track's samples' duration
    (video), or within one AAC frame of it (audio: on a continuous timeline the last audio segment
    of a clip lasts until the next clip starts, up to one frame more or less than its samples; the
    runs rule below keeps the sums honest)."""
    track = init.primary
    run = info.tracks.get(track.id) if track else None
    if track is None or run is None or not track.timescale:
        return []
    real = run.duration / track.timescale
    slack = 0.001 if track.handler == "vide" else sample_duration(track, run) / track.timescale
    if abs(real - extinf) > slack:
        kind = "video" if track.handler == "vide" else "audio"
        return [Violation("EXTINF", name, uri, f"EXTINF {extinf}, the {kind} samples last {real:.6f} s")]
    return []


def sample_duration(track: TrackInfo, run: TrackRun | None) -> int:
    """One sample's duration in ticks: the run's mean, else trex's default, else one AAC frame
    (an audio track's timescale is its sample rate)."""
    if run is not None and run.samples:
        return max(1, run.duration // run.samples)
    if track.default_duration:
        return track.default_duration
    return AAC_FRAME


def _slack(track: TrackInfo, run: TrackRun | None) -> int:
    """How far a segment may start from where the previous one ended and still follow on."""
    return 0 if track.handler == "vide" else sample_duration(track, run)


def check_cuts(name: str, media: Media, init: InitInfo,
               infos: Sequence[SegmentInfo | None]) -> list[Violation]:
    """A segment whose primary-track tfdt does not follow on from the previous one's tfdt + duration
    (exactly for video, within one AAC frame for audio) is a cut and needs EXT-X-DISCONTINUITY; a
    segment that follows on must not have one. Unknown neighbours are skipped."""
    track = init.primary
    if track is None:
        return []
    found: list[Violation] = []
    for position in range(1, min(len(media.segments), len(infos))):
        before, after = infos[position - 1], infos[position]
        if before is None or after is None:
            continue
        prev, this = before.tracks.get(track.id), after.tracks.get(track.id)
        if prev is None or this is None or prev.tfdt is None or this.tfdt is None:
            continue
        end = prev.tfdt + prev.duration
        slack = _slack(track, prev)
        follows = this.tfdt == end if slack == 0 else abs(this.tfdt - end) < slack
        segment = media.segments[position]
        if not follows and not segment.discontinuity:
            kind = "timestamps jump" if slack == 0 else \
                f"audio timestamps jump by {this.tfdt - end} ticks (one AAC frame is {slack})"
            found.append(Violation("DISCONTINUITY", name, segment.uri,
                                   f"{kind} (tfdt {this.tfdt}, previous ends at {end}) "
                                   "without EXT-X-DISCONTINUITY"))
        elif follows and segment.discontinuity:
            found.append(Violation("DISCONTINUITY", name, segment.uri,
                                   "EXT-X-DISCONTINUITY on a segment that follows on from the previous one"))
    return found


def check_runs(name: str, media: Media, init: InitInfo,
               infos: Sequence[SegmentInfo | None]) -> list[Violation]:
    """Over every run of segments between discontinuities, the EXTINFs add up to the real time the
    run covers (last segment's end minus first segment's tfdt) within one sample of the primary
    track (a frame of video, an AAC frame of audio): players place segments by their EXTINFs."""
    track = init.primary
    if track is None or not track.timescale:
        return []
    found: list[Violation] = []
    start = 0
    count = min(len(media.segments), len(infos))
    for position in range(1, count + 1):
        if position < count and not media.segments[position].discontinuity:
            continue
        first, last = infos[start], infos[position - 1]
        runs = [info.tracks.get(track.id) if info else None for info in (first, last)]
        if runs[0] is not None and runs[1] is not None and runs[0].tfdt is not None \
                and runs[1].tfdt is not None:
            real = (runs[1].tfdt + runs[1].duration - runs[0].tfdt) / track.timescale
            listed = sum(s.duration for s in media.segments[start:position])
            slack = sample_duration(track, runs[1]) / track.timescale
            if abs(listed - real) > slack + 1e-6:
                found.append(Violation("EXTINF", name, media.segments[start].uri,
                                       f"segments {start}-{position - 1}: EXTINFs add up to {listed:.6f} s, "
                                       f"the samples span {real:.6f} s"))
        start = position
    return found


def frame_rate(init: InitInfo, infos: Sequence[SegmentInfo | None]) -> float:
    """Video samples per second over the known segments (0 when none)."""
    video = init.video
    if video is None:
        return 0.0
    samples = ticks = 0
    for info in infos:
        run = info.tracks.get(video.id) if info else None
        if run is not None:
            samples += run.samples
            ticks += run.duration
    return samples * video.timescale / ticks if ticks else 0.0


# --- A separate audio playlist against a video playlist ------------------------------------------

def _runs(init: InitInfo, infos: Sequence[SegmentInfo | None]) -> tuple[TrackInfo | None,
                                                                         list[TrackRun | None]]:
    track = init.primary
    if track is None:
        return None, [None] * len(infos)
    return track, [info.tracks.get(track.id) if info else None for info in infos]


def _total(media: Media, track: TrackInfo, runs: Sequence[TrackRun | None]) -> Fraction | None:
    """The playlist's real duration (samples), or its EXTINF sum when a segment is unknown."""
    if runs and all(r is not None for r in runs):
        return Fraction(sum(r.duration for r in runs if r is not None), track.timescale)
    declared = sum(s.duration for s in media.segments)
    return Fraction(declared) if math.isfinite(declared) else None


def same_grid(audio: Media, video: Media, frame: Fraction) -> bool:
    """The audio playlist declares the video's segment grid: same count, EXTINFs within a frame."""
    return len(audio.segments) == len(video.segments) and all(
        abs(a.duration - v.duration) < frame + Fraction(1, 10**6)
        for a, v in zip(audio.segments, video.segments))


def check_av_sync(audio_name: str, audio_media: Media, audio_init: InitInfo,
                  audio_infos: Sequence[SegmentInfo | None], video_media: Media, video_init: InitInfo,
                  video_infos: Sequence[SegmentInfo | None]) -> list[Violation]:
    """AV-SYNC. Audio cut on the video's grid (the same segment count and every EXTINF within one
    AAC frame of the video's, as a demuxed rendition of the clips' own audio is): segment k's audio
    must start within one AAC frame of its video, measured from the start of each playlist (in
    seconds), and the first segments must start within one AAC frame of each other. Audio on its
    own grid (a music bed: another segment count, or the same count by chance but whole bed
    segments against a reel's short ones): its total duration must cover the video's, running
    past its end by at most one video segment."""
    audio, audio_runs = _runs(audio_init, audio_infos)
    video, video_runs = _runs(video_init, video_infos)
    if audio is None or video is None or not audio.timescale or not video.timescale \
            or not audio_media.segments or not video_media.segments:
        return []
    frame = Fraction(sample_duration(audio, next((r for r in audio_runs if r), None)), audio.timescale)
    found: list[Violation] = []
    if same_grid(audio_media, video_media, frame):
        first_a, first_v = audio_runs[0], video_runs[0]
        if first_a is None or first_v is None or first_a.tfdt is None or first_v.tfdt is None:
            return []
        start_a = Fraction(first_a.tfdt, audio.timescale)
        start_v = Fraction(first_v.tfdt, video.timescale)
        if abs(start_a - start_v) >= frame:
            found.append(Violation("AV-SYNC", audio_name, audio_media.segments[0].uri,
                                   f"audio starts at {float(start_a):.6f} s, the video at "
                                   f"{float(start_v):.6f} s (one AAC frame is {float(frame) * 1000:.1f} ms)"))
        for position in range(1, len(audio_runs)):
            run_a, run_v = audio_runs[position], video_runs[position]
            if run_a is None or run_v is None or run_a.tfdt is None or run_v.tfdt is None:
                continue
            at_a = Fraction(run_a.tfdt, audio.timescale) - start_a
            at_v = Fraction(run_v.tfdt, video.timescale) - start_v
            if abs(at_a - at_v) >= frame:
                found.append(Violation(
                    "AV-SYNC", audio_name, audio_media.segments[position].uri,
                    f"segment {position}'s audio starts {float(at_a):.6f} s into the playlist, its video "
                    f"{float(at_v):.6f} s ({float(at_a - at_v) * 1000:+.1f} ms; one AAC frame is "
                    f"{float(frame) * 1000:.1f} ms)"))
        return found
    total_a = _total(audio_media, audio, audio_runs)
    total_v = _total(video_media, video, video_runs)
    if total_a is None or total_v is None:
        return []
    longest = max((Fraction(s.duration) for s in video_media.segments if math.isfinite(s.duration)),
                  default=Fraction(0))
    if total_a <= total_v - frame:
        found.append(Violation("AV-SYNC", audio_name, None,
                               f"audio lasts {float(total_a):.6f} s, ending {float(total_v - total_a):.3f} s "
                               f"before the video ({float(total_v):.6f} s)"))
    elif total_a > total_v + longest + frame:
        found.append(Violation("AV-SYNC", audio_name, None,
                               f"audio lasts {float(total_a):.6f} s, running "
                               f"{float(total_a - total_v):.3f} s past the video ({float(total_v):.6f} s), "
                               f"more than one video segment ({float(longest):.3f} s)"))
    return found
