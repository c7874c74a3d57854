"""HLS rendering from precomputed fragments: a request only joins bytes and sums a few numbers.

`PlaylistIndex` is built once per catalog (and media location); it holds, per rendition, the
playlist header and each clip's `#EXTINF`/URI lines, so a variant is header + fragments + tags.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

from manifests.catalog import Catalog, Rendition
from manifests.planner import Plan

PLAYLIST_VERSION = 6  # EXT-X-MAP in a media playlist (RFC 8216 section 7)
DISCONTINUITY = b"#EXT-X-DISCONTINUITY\n"
ENDLIST = b"#EXT-X-ENDLIST\n"


@dataclass(frozen=True, slots=True)
class RenditionIndex:
    rendition: Rendition
    header: bytes
    fragments: tuple[bytes, ...]  # per clip index
    segment_bits: tuple[int, ...]  # per segment index
    clip_bits: tuple[int, ...]  # per clip index: bits of all its segments
    clip_peak: tuple[float, ...]  # per clip index: bit rate of its densest segment
    stream_inf: str  # the EXT-X-STREAM-INF attributes after BANDWIDTH/AVERAGE-BANDWIDTH


@dataclass(frozen=True, slots=True)
class PlaylistIndex:
    catalog: Catalog
    renditions: Mapping[str, RenditionIndex]
    # True when every segment lasts at least half the target duration: then every single segment
    # is one of Apple's peak windows and no longer run can beat its densest member, so a reel's
    # peak is the max of its clips' precomputed peaks (the per-request fast path).
    peak_by_clip: bool


def format_duration(seconds: float) -> str:
    return f"{seconds:.6f}".rstrip("0").rstrip(".") if seconds else "0"


def build_index(catalog: Catalog, media_prefix: str) -> PlaylistIndex:
    """media_prefix is prepended to the package-relative URIs in catalog.json (e.g. "../../media/V/")."""
    renditions: dict[str, RenditionIndex] = {}
    for rendition in catalog.renditions:
        header = (
            "#EXTM3U\n"
            f"#EXT-X-VERSION:{PLAYLIST_VERSION}\n"
            f"#EXT-X-TARGETDURATION:{catalog.target_duration}\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-PLAYLIST-TYPE:VOD\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            f'#EXT-X-MAP:URI="{media_prefix}{rendition.init}"\n'
        ).encode()
        fragments = tuple(
            "".join(
                f"#EXTINF:{format_duration(catalog.segments[n].duration)},\n"
                f"{media_prefix}{rendition.segment_uri(n)}\n"
                for n in clip.segments
            ).encode()
            for clip in catalog.clips
        )
        bits = tuple(s.bytes[rendition.id] * 8 for s in catalog.segments)
        clip_bits = tuple(sum(bits[n] for n in clip.segments) for clip in catalog.clips)
        clip_peak = tuple(max(bits[n] / catalog.segments[n].duration for n in clip.segments)
                          for clip in catalog.clips)
        stream_inf = (f'CODECS="{rendition.codecs}",RESOLUTION={rendition.width}x{rendition.height},'
                      f"FRAME-RATE={rendition.frame_rate:.3f}")
        renditions[rendition.id] = RenditionIndex(rendition, header, fragments, bits, clip_bits,
                                                  clip_peak, stream_inf)
    shortest = min(s.duration for s in catalog.segments)
    return PlaylistIndex(catalog, renditions, shortest >= 0.5 * catalog.target_duration - 1e-9)


def reel_segments(catalog: Catalog, plan: Plan) -> list[int]:
    return [n for clip in plan.clips for n in catalog.clips[clip].segments]


def target_duration(durations: Sequence[float]) -> int:
    """EXT-X-TARGETDURATION: the smallest integer at or above every segment duration."""
    longest = max(durations)
    return math.ceil(longest - 1e-9)


def bandwidth(durations: Sequence[float], bits: Sequence[int], target: int) -> tuple[int, int]:
    """(peak, average) bit/s, rounded up. Peak follows Apple's authoring spec: the highest bit rate
    of any run of contiguous segments lasting 0.5-1.5x the target duration; where no run fits
    (a reel shorter than half the target), the densest single segment."""
    average = sum(bits) / sum(durations)
    low, high = 0.5 * target - 1e-9, 1.5 * target + 1e-9
    peak = 0.0
    count = len(durations)
    for start in range(count):
        time = 0.0
        run = 0
        for end in range(start, count):
            time += durations[end]
            run += bits[end]
            if time > high:
                break
            if time >= low and run > peak * time:
                peak = run / time
    if peak == 0.0:
        peak = max(b / d for b, d in zip(bits, durations))
    return math.ceil(peak), math.ceil(average)


def render_variant(index: PlaylistIndex, plan: Plan, rendition_id: str) -> bytes:
    """The media playlist of one rendition of a reel; DISCONTINUITY at every non-adjacent cut."""
    entry = index.renditions[rendition_id]
    catalog = index.catalog
    parts = [entry.header]
    previous = -1
    for clip in plan.clips:
        if previous >= 0 and not catalog.follows(previous, clip):
            parts.append(DISCONTINUITY)
        parts.append(entry.fragments[clip])
        previous = clip
    parts.append(ENDLIST)
    return b"".join(parts)


def reel_bandwidth(index: PlaylistIndex, plan: Plan, entry: RenditionIndex,
                   reel_seconds: float) -> tuple[int, int]:
    """(peak, average) of one rendition of a reel, by Apple's definitions (see bandwidth)."""
    clips = plan.clips
    if index.peak_by_clip:
        peak = max([entry.clip_peak[c] for c in clips])
        average = sum([entry.clip_bits[c] for c in clips]) / reel_seconds
        return math.ceil(peak), math.ceil(average)
    catalog = index.catalog
    segments = reel_segments(catalog, plan)
    return bandwidth([catalog.segments[n].duration for n in segments],
                     [entry.segment_bits[n] for n in segments], catalog.target_duration)


def render_master(index: PlaylistIndex, plan: Plan, variant_prefix: str) -> bytes:
    """The master playlist; variant URIs are variant_prefix + rendition id + '.m3u8'."""
    if not plan.clips:
        raise ValueError("empty reel")
    clips = index.catalog.clips
    seconds = sum([clips[c].duration for c in plan.clips])
    parts = ["#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n"]
    for entry in index.renditions.values():
        peak, average = reel_bandwidth(index, plan, entry, seconds)
        parts.append(f"#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},"
                     f"{entry.stream_inf}\n{variant_prefix}{entry.rendition.id}.m3u8\n")
    return "".join(parts).encode()


def plan_document(catalog: Catalog, plan: Plan) -> dict[str, object]:
    """The reel as data: clips in order with their title and start offset in the reel."""
    clips = []
    offset = 0.0
    for position, index in enumerate(plan.clips):
        clip = catalog.clips[index]
        title = catalog.titles[clip.title]
        clips.append({
            "position": position, "clip": clip.id, "title": title.id, "name": title.name,
            "talent": list(clip.talent), "frames": clip.frames,
            "start": round(offset, 6), "duration": round(clip.duration, 6),
        })
        offset += clip.duration
    return {"catalog": catalog.version, "duration": round(offset, 6), "clips": clips}
