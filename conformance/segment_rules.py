"""Rules on the segments' own bytes (pure): each starts with an IDR, EXTINF matches the samples,
and EXT-X-DISCONTINUITY sits exactly where the decode times stop following on."""
from __future__ import annotations

from collections.abc import Sequence

from conformance.fmp4 import InitInfo, SegmentInfo
from conformance.playlist import Media
from conformance.report import Violation

IDR = 5


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


def check_extinf(name: str, uri: str, extinf: float, init: InitInfo, info: SegmentInfo) -> list[Violation]:
    """EXTINF from real sample timing: within a millisecond of the video samples' duration."""
    video = init.video
    run = info.tracks.get(video.id) if video else None
    if video is None or run is None or not video.timescale:
        return []
    real = run.duration / video.timescale
    if abs(real - extinf) > 0.001:
        return [Violation("EXTINF", name, uri, f"EXTINF {extinf}, the video samples last {real:.6f} s")]
    return []


def check_cuts(name: str, media: Media, init: InitInfo,
               infos: Sequence[SegmentInfo | None]) -> list[Violation]:
    """A segment whose video tfdt is not the previous one's tfdt + duration is a cut and needs
    EXT-X-DISCONTINUITY; a segment that follows on must not have one. Unknown neighbours are skipped."""
    video = init.video
    if video is None:
        return []
    found: list[Violation] = []
    for position in range(1, min(len(media.segments), len(infos))):
        before, after = infos[position - 1], infos[position]
        if before is None or after is None:
            continue
        prev, this = before.tracks.get(video.id), after.tracks.get(video.id)
        if prev is None or this is None or prev.tfdt is None or this.tfdt is None:
            continue
        follows = this.tfdt == prev.tfdt + prev.duration
        segment = media.segments[position]
        if not follows and not segment.discontinuity:
            found.append(Violation("DISCONTINUITY", name, segment.uri,
                                   f"timestamps jump (tfdt {this.tfdt}, previous ends at "
                                   f"{prev.tfdt + prev.duration}) without EXT-X-DISCONTINUITY"))
        elif follows and segment.discontinuity:
            found.append(Violation("DISCONTINUITY", name, segment.uri,
                                   "EXT-X-DISCONTINUITY on a segment that follows on from the previous one"))
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
