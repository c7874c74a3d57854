"""HLS rendering from precomputed fragments: a request only joins bytes and sums a few numbers.

`PlaylistIndex` is built once per catalog (and media location); it holds, per rendition, the
playlist header and each clip's `#EXTINF`/URI lines, so a variant is header + fragments + tags.
"""
from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from manifests.catalog import Bed, Catalog, Rendition
from manifests.planner import Plan

PLAYLIST_VERSION = 6  # EXT-X-MAP in a media playlist (RFC 8216 section 7)
TS_PLAYLIST_VERSION = 3  # MPEG-TS segments: floating-point EXTINF only
AUDIO_GROUP = "audio"
DISCONTINUITY = b"#EXT-X-DISCONTINUITY\n"
ENDLIST = b"#EXT-X-ENDLIST\n"


@dataclass(frozen=True, slots=True)
class RenditionIndex:
    rendition: Rendition
    header: bytes
    fragments: tuple[bytes, ...]  # per clip index: its EXTINF/URI lines (discontinuous timeline)
    # per segment index: (EXTINF line + URI up to the decode time, the URI's end): a continuous
    # timeline writes head + str(reel frame) + tail for each segment (see timed_uri)
    timed: tuple[tuple[bytes, bytes], ...]
    segment_bits: tuple[int, ...]  # per segment index
    clip_bits: tuple[int, ...]  # per clip index: bits of all its segments
    clip_peak: tuple[float, ...]  # per clip index: bit rate of its densest segment
    stream_inf: str  # video: the EXT-X-STREAM-INF attributes after BANDWIDTH/AVERAGE-BANDWIDTH


@dataclass(frozen=True, slots=True)
class BedIndex:
    bed: Bed
    header: bytes
    lines: tuple[bytes, ...]  # per bed segment: EXTINF + URI
    fade_lines: tuple[bytes, ...]  # per bed segment: EXTINF + URI of its fade-out twin
    bits: tuple[int, ...]
    fade_bits: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PlaylistIndex:
    catalog: Catalog
    renditions: Mapping[str, RenditionIndex]  # video renditions, best first
    audio: RenditionIndex | None  # the demuxed audio rendition, if the package has one
    beds: tuple[BedIndex, ...]
    # True when every segment lasts at least half the target duration: then every single segment
    # is one of Apple's peak windows and no longer run can beat its densest member, so a reel's
    # peak is the max of its clips' precomputed peaks (the per-request fast path).
    peak_by_clip: bool
    retimable: bool  # every rendition is fMP4, so a continuous timeline can be served
    # Per-request fast paths, laid out so a request touches few cache lines of a large catalog.
    # segment_frames: catalog.segments[n].frames per segment index.
    segment_frames: tuple[int, ...] = field(default=(), repr=False, compare=False)  # per segment
    # per clip, stats_width numbers in a row: its duration, then (peak bit/s, bits) per video
    # rendition in `renditions` order, then the audio rendition's; empty (width 0) when the peak is
    # not by clip or the bits could overflow a double's exact integers
    clip_stats: array[float] = field(default_factory=lambda: array("d"), repr=False, compare=False)
    stats_width: int = field(default=0, repr=False, compare=False)

    def playlist(self, rendition_id: str) -> RenditionIndex | None:
        if self.audio is not None and rendition_id == self.audio.rendition.id:
            return self.audio
        return self.renditions.get(rendition_id)


def format_duration(seconds: float) -> str:
    return f"{seconds:.6f}".rstrip("0").rstrip(".") if seconds else "0"


def timed_uri(uri: str, frame: int) -> str:
    """The URI of a segment served with its decode time rewritten to reel frame `frame`:
    `540p/s00012.m4s` at frame 1200 -> `540p/s00012.t1200.m4s` (the extension stays last)."""
    stem, dot, ext = uri.rpartition(".")
    return f"{stem}.t{frame}.{ext}" if dot else f"{uri}.t{frame}"


def _header(target: int, rendition_init: str | None, media_prefix: str) -> bytes:
    version = PLAYLIST_VERSION if rendition_init is not None else TS_PLAYLIST_VERSION
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{version}",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    if rendition_init is not None:
        lines.append(f'#EXT-X-MAP:URI="{media_prefix}{rendition_init}"')
    return ("\n".join(lines) + "\n").encode()


def _rendition_index(catalog: Catalog, rendition: Rendition, media_prefix: str) -> RenditionIndex:
    audio = rendition.kind == "audio"
    durations = [(s.audio_duration or s.duration) if audio else s.duration for s in catalog.segments]
    extinf = [f"#EXTINF:{format_duration(d)},\n" for d in durations]
    fragments = tuple(
        "".join(f"{extinf[n]}{media_prefix}{rendition.segment_uri(n)}\n" for n in clip.segments).encode()
        for clip in catalog.clips
    )
    # On the continuous timeline each clip's audio starts with its video (edge/media.py), so the
    # last audio segment of a clip lasts until the next clip starts: its EXTINF is the clip's video
    # duration less its other audio segments (next start minus this start, as RFC 8216 wants).
    timed_extinf = list(extinf)
    if audio:
        for clip in catalog.clips:
            last = clip.segments[-1]
            rest = sum(durations[n] for n in clip.segments[:-1])
            timed_extinf[last] = f"#EXTINF:{format_duration(round(clip.duration - rest, 6))},\n"
    timed = []
    tails: dict[bytes, bytes] = {}  # one object per distinct URI end (".m4s\n"): stays in cache
    for n in range(len(catalog.segments)):
        head, _, tail = timed_uri(rendition.segment_uri(n), 0).rpartition(".t0")
        end = f"{tail}\n".encode()
        timed.append((f"{timed_extinf[n]}{media_prefix}{head}.t".encode(), tails.setdefault(end, end)))
    bits = tuple(s.bytes[rendition.id] * 8 for s in catalog.segments)
    clip_bits = tuple(sum(bits[n] for n in clip.segments) for clip in catalog.clips)
    clip_peak = tuple(max(bits[n] / durations[n] for n in clip.segments) for clip in catalog.clips)
    stream_inf = "" if audio else (
        f"RESOLUTION={rendition.width}x{rendition.height},FRAME-RATE={rendition.frame_rate:.3f}")
    return RenditionIndex(rendition, _header(catalog.target_duration, rendition.init, media_prefix),
                          fragments, tuple(timed), bits, clip_bits, clip_peak, stream_inf)


def _bed_index(catalog: Catalog, bed: Bed, media_prefix: str) -> BedIndex:
    extinf = [f"#EXTINF:{format_duration(d)},\n" for d in bed.durations]
    count = len(bed.durations)
    return BedIndex(
        bed, _header(catalog.target_duration, bed.init, media_prefix),
        tuple(f"{extinf[k]}{media_prefix}{bed.segment_uri(k)}\n".encode() for k in range(count)),
        tuple(f"{extinf[k]}{media_prefix}{bed.segment_uri(k, fade=True)}\n".encode() for k in range(count)),
        tuple(b * 8 for b in bed.bytes), tuple(b * 8 for b in bed.fade_bytes))


def build_index(catalog: Catalog, media_prefix: str) -> PlaylistIndex:
    """media_prefix is prepended to the package-relative URIs in catalog.json (e.g. "../../media/V/")."""
    renditions = {r.id: _rendition_index(catalog, r, media_prefix) for r in catalog.renditions}
    audio = _rendition_index(catalog, catalog.audio[0], media_prefix) if catalog.audio else None
    beds = tuple(_bed_index(catalog, bed, media_prefix) for bed in catalog.beds)
    shortest = min(s.duration for s in catalog.segments)
    retimable = all(r.container == "fmp4" for r in catalog.renditions + catalog.audio)
    peak_by_clip = shortest >= 0.5 * catalog.target_duration - 1e-9
    entries = [*renditions.values(), *([audio] if audio is not None else [])]
    stats: array[float] = array("d")
    width = 0
    # sums of bits as doubles are exact (as the ints they replace) below 2**53
    if peak_by_clip and all(sum(e.clip_bits) < 2**53 for e in entries):
        width = 1 + 2 * len(entries)
        for c, clip in enumerate(catalog.clips):
            stats.append(clip.duration)
            for e in entries:
                stats.append(e.clip_peak[c])
                stats.append(e.clip_bits[c])
    return PlaylistIndex(catalog, renditions, audio, beds, peak_by_clip, retimable,
                         tuple(s.frames for s in catalog.segments), stats, width)


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


def reel_frames(catalog: Catalog, plan: Plan) -> int:
    clips = catalog.clips
    return sum([clips[c].frames for c in plan.clips])


def bed_segments(catalog: Catalog, plan: Plan) -> int:
    """How many bed segments cover the reel (the last one is the fade-out twin)."""
    return -(-reel_frames(catalog, plan) // catalog.segment_frames)


def render_variant(index: PlaylistIndex, plan: Plan, rendition_id: str) -> bytes:
    """The media playlist of one rendition (video or audio) of a reel. Discontinuous timeline:
    DISCONTINUITY at every non-adjacent cut. Continuous: no tags, every segment URI carries the
    reel frame its decode time is rewritten to. With a bed, the audio playlist is the bed."""
    entry = index.playlist(rendition_id)
    if entry is None:
        raise KeyError(rendition_id)
    if plan.bed is not None and entry is index.audio:
        return _render_bed(index, plan)
    catalog = index.catalog
    parts = [entry.header]
    if plan.continuous:
        timed = entry.timed
        frames = index.segment_frames or tuple(s.frames for s in catalog.segments)
        clips = catalog.clips
        append = parts.append
        frame = 0
        for clip in plan.clips:
            for n in clips[clip].segments:
                head, tail = timed[n]
                append(head)
                append(b"%d" % frame)
                append(tail)
                frame += frames[n]
    else:
        previous = -1
        for clip in plan.clips:
            if previous >= 0 and not catalog.follows(previous, clip):
                parts.append(DISCONTINUITY)
            parts.append(entry.fragments[clip])
            previous = clip
    parts.append(ENDLIST)
    return b"".join(parts)


def _render_bed(index: PlaylistIndex, plan: Plan) -> bytes:
    assert plan.bed is not None
    bed = index.beds[plan.bed]
    count = bed_segments(index.catalog, plan)
    return b"".join([bed.header, *bed.lines[:count - 1], bed.fade_lines[count - 1], ENDLIST])


def reel_bandwidth(index: PlaylistIndex, plan: Plan, entry: RenditionIndex,
                   reel_seconds: float) -> tuple[int, int]:
    """(peak, average) of one rendition of a reel, by Apple's definitions (see bandwidth)."""
    clips = plan.clips
    if index.peak_by_clip:
        peak = max(map(entry.clip_peak.__getitem__, clips))
        average = sum(map(entry.clip_bits.__getitem__, clips)) / reel_seconds
        return math.ceil(peak), math.ceil(average)
    catalog = index.catalog
    segments = reel_segments(catalog, plan)
    audio = entry is index.audio
    durations = [(catalog.segments[n].audio_duration or 0.0) if audio else catalog.segments[n].duration
                 for n in segments]
    return bandwidth(durations, [entry.segment_bits[n] for n in segments], catalog.target_duration)


def bed_bandwidth(index: PlaylistIndex, plan: Plan) -> tuple[int, int]:
    assert plan.bed is not None
    bed = index.beds[plan.bed]
    count = bed_segments(index.catalog, plan)
    durations = bed.bed.durations[:count]
    bits = [*bed.bits[:count - 1], bed.fade_bits[count - 1]]
    return bandwidth(durations, bits, index.catalog.target_duration)


def audio_line(index: PlaylistIndex, plan: Plan, variant_prefix: str) -> str:
    assert index.audio is not None
    rendition = index.audio.rendition
    bed = index.beds[plan.bed].bed if plan.bed is not None else None
    name = (bed.name if bed else rendition.name).replace('"', "'")
    channels = bed.channels if bed else rendition.channels
    return (f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}",NAME="{name}",'
            f'LANGUAGE="{rendition.language}",CHANNELS="{channels}",'
            f'DEFAULT=YES,AUTOSELECT=YES,URI="{variant_prefix}{rendition.id}.m3u8"\n')


def render_master(index: PlaylistIndex, plan: Plan, variant_prefix: str) -> bytes:
    """The master playlist; variant URIs are variant_prefix + rendition id + '.m3u8'. With demuxed
    audio, one EXT-X-MEDIA audio rendition (the clips' own audio or the bed) that every variant
    names, and BANDWIDTH / CODECS covering video and audio together."""
    if not plan.clips:
        raise ValueError("empty reel")
    width = index.stats_width
    stats = index.clip_stats
    rows = [c * width for c in plan.clips] if width else []
    if width:  # the same numbers as below, read from one row per clip (see PlaylistIndex)
        seconds = sum([stats[r] for r in rows])
    else:
        clips = index.catalog.clips
        seconds = sum([clips[c].duration for c in plan.clips])

    def bandwidth_of(entry: RenditionIndex, k: int) -> tuple[int, int]:
        """reel_bandwidth(index, plan, entry, seconds); k: the entry's place in a stats row."""
        if not width:
            return reel_bandwidth(index, plan, entry, seconds)
        peak = max([stats[r + 1 + 2 * k] for r in rows])
        return math.ceil(peak), math.ceil(sum([stats[r + 2 + 2 * k] for r in rows]) / seconds)

    parts = ["#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n"]
    audio_peak = audio_average = 0
    audio_attrs = ""
    if index.audio is not None:
        parts.append(audio_line(index, plan, variant_prefix))
        if plan.bed is not None:
            audio_peak, audio_average = bed_bandwidth(index, plan)
            codecs = index.beds[plan.bed].bed.codecs
        else:
            audio_peak, audio_average = bandwidth_of(index.audio, len(index.renditions))
            codecs = index.audio.rendition.codecs
        audio_attrs = f',AUDIO="{AUDIO_GROUP}"'
        codecs = "," + codecs
    else:
        codecs = ""
    for k, entry in enumerate(index.renditions.values()):
        peak, average = bandwidth_of(entry, k)
        parts.append(f"#EXT-X-STREAM-INF:BANDWIDTH={peak + audio_peak},"
                     f"AVERAGE-BANDWIDTH={average + audio_average},"
                     f'CODECS="{entry.rendition.codecs}{codecs}",{entry.stream_inf}{audio_attrs}\n'
                     f"{variant_prefix}{entry.rendition.id}.m3u8\n")
    return "".join(parts).encode()


def plan_document(catalog: Catalog, plan: Plan) -> dict[str, object]:
    """The reel as data: clips in order with their title and start offset in the reel, the
    timeline and what the audio is."""
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
    audio: dict[str, object]
    if plan.bed is not None:
        bed = catalog.beds[plan.bed]
        audio = {"kind": "bed", "bed": bed.id, "name": bed.name, "credit": bed.credit}
    else:
        audio = {"kind": "clips" if catalog.audio else "muxed"}
    return {"catalog": catalog.version, "duration": round(offset, 6),
            "timeline": "continuous" if plan.continuous else "discontinuous", "audio": audio,
            "clips": clips}
