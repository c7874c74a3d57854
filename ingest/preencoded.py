"""Pre-encoded Mega Assets: one long H.264/AAC file plus a clip list, packaged by stream copy when
it can be, else re-encoded like any other source.

    {"asset_id": "promo", "mega_asset": "promo-master.mp4",
     "titles": [{"id": "crystal", "name": "Crystal Caves", "talent": ["..."]}],
     "clips": [{"title": "crystal", "start": "00:00:00:00", "frames": 160, "id": "optional"}, ...],
     + any optional top-level spec setting (segment_frames, renditions, ...)}

Clips are listed in the order they appear in the file. Stream copy (no decode, no encode) is
chosen when nothing forbids it (`copy_blockers`): H.264 yuv420p without B-frames at the size of the
top rendition, AAC-LC 48 kHz stereo, clips back to back, and every clip start and segment
boundary on a keyframe of the file. The package then has that one rendition, the file's own bytes
re-fragmented (a segment may hold several fragments when the file has more keyframes than
segments), and the audio exactly as delivered, muxed into it (no loudness normalisation, no
separate audio rendition; catalog schema 2 without `audio_renditions`). Otherwise the file is
conformed and encoded into the full (demuxed) ladder like any source, and the blockers are
reported. Music beds ("music") are built either way: they do not depend on the video.
"""
from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from ingest.errors import IngestError
from ingest.plan import Plan
from ingest.spec import Spec, parse_spec

MOVFLAGS = "cmaf+frag_keyframe+empty_moov+default_base_moof"
_KEYS = {"asset_id", "mega_asset", "titles", "clips", "frame_rate", "segment_frames", "renditions",
         "max_renditions", "loudness_lufs", "language", "music"}
_MAX_LISTED = 5


def parse_mega_spec(raw: dict[str, Any], path: Path) -> Spec:
    """A pre-encoded Mega Asset spec as a Spec whose titles all use the one file, in file order."""
    where = path.name
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise IngestError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
    mega, titles, clips = raw.get("mega_asset"), raw.get("titles"), raw.get("clips")
    if not isinstance(mega, str) or not mega:
        raise IngestError(f"{where}: 'mega_asset' must be the path of the pre-encoded file")
    if not isinstance(titles, list) or not titles or not all(isinstance(t, dict) for t in titles):
        raise IngestError(f"{where}: 'titles' must be a non-empty list of objects")
    if not isinstance(clips, list) or not clips or not all(isinstance(c, dict) for c in clips):
        raise IngestError(f"{where}: 'clips' must be a non-empty list of objects")
    grouped: dict[str, list[dict[str, Any]]] = {str(t.get("id")): [] for t in titles}
    placed: list[tuple[str, int]] = []  # (title id, index within the title) in file order
    for i, clip in enumerate(clips):
        title = clip.get("title")
        if title not in grouped:
            raise IngestError(f"{where}: clips[{i}]: unknown title {title!r}")
        placed.append((title, len(grouped[title])))
        grouped[title].append({k: v for k, v in clip.items() if k != "title"})
    used = [t for t in titles if grouped[str(t.get("id"))]]
    spec_raw = {k: v for k, v in raw.items() if k not in ("mega_asset", "titles", "clips")}
    spec_raw["titles"] = [dict(t, source=mega, clips=grouped[str(t.get("id"))]) for t in used]
    spec = parse_spec(spec_raw, path)
    by_title = {t.id: t for t in spec.titles}
    order = tuple(by_title[title].clips[n].id for title, n in placed)
    return dataclasses.replace(spec, order=order, mega_asset=spec.titles[0].source)


def copy_blockers(plan: Plan, path: Path) -> list[str]:
    """Why the file cannot be packaged by stream copy; [] when it can."""
    blockers: list[str] = []
    top = plan.renditions[0]
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise IngestError(f"cannot open Mega Asset {path}: {exc}") from None
    with container:
        video = container.streams.video[0]
        ctx = video.codec_context
        if ctx.name != "h264":
            blockers.append(f"video codec is {ctx.name}, not H.264")
        if ctx.pix_fmt != "yuv420p":
            blockers.append(f"pixel format is {ctx.pix_fmt}, not yuv420p")
        if (ctx.width, ctx.height) != (top.width, top.height):
            blockers.append(f"picture is {ctx.width}x{ctx.height}, rendition {top.id} is "
                            f"{top.width}x{top.height}")
        audio = container.streams.audio[0] if container.streams.audio else None
        if audio is None:
            blockers.append("no audio stream")
        else:
            actx = audio.codec_context
            channels = actx.layout.nb_channels if actx.layout else 0
            if (actx.name, actx.sample_rate, channels) != ("aac", 48000, 2):
                blockers.append(f"audio is {actx.name} {actx.sample_rate} Hz {channels} ch, "
                                "not AAC 48 kHz stereo")
        time_base = video.time_base
        assert time_base is not None
        keys: set[int] = set()
        reordered = False
        origin = plan.clips[0].source.origin
        for packet in container.demux(video):
            if packet.pts is None or packet.dts is None:
                continue
            if packet.pts != packet.dts:
                reordered = True
            if packet.is_keyframe:
                keys.add(round((packet.pts * time_base - origin) * plan.frame_rate))
        if reordered:
            blockers.append("the video has B-frames (pts != dts): tfdt would not be presentation "
                            "time")
    position: Fraction | None = None
    for clip in plan.clips:
        if position is not None and clip.source_start != position:
            blockers.append(f"clip {clip.id!r} does not follow the previous clip in the file")
        position = clip.source_start + Fraction(clip.frames) / plan.frame_rate
    off_key = []
    for segment in plan.segments:
        clip = plan.clips[segment.clip]
        frame = round(clip.source_start * plan.frame_rate) + segment.start_frame - clip.start_frame
        if frame not in keys:
            off_key.append(f"{clip.id} frame {frame} ({_clock(Fraction(frame) / plan.frame_rate)})")
    if off_key:
        more = f" and {len(off_key) - _MAX_LISTED} more" if len(off_key) > _MAX_LISTED else ""
        blockers.append(f"{len(off_key)} segment boundaries are not keyframes: "
                        f"{', '.join(off_key[:_MAX_LISTED])}{more}")
    return blockers


def remux(plan: Plan, path: Path, out: Path) -> Path:
    """Copy the clips' span of the file into one fragmented MP4 starting at time 0."""
    first = plan.clips[0]
    start_s = first.source_start + first.source.origin
    end_s = start_s + Fraction(plan.total_frames) / plan.frame_rate
    half_frame = 1 / (2 * plan.frame_rate)
    with av.open(str(path)) as src, \
            av.open(str(out), "w", format="mp4", options={"movflags": MOVFLAGS}) as dst:
        vin, ain = src.streams.video[0], src.streams.audio[0]
        vout = dst.add_stream_from_template(vin)
        aout = dst.add_stream_from_template(ain)
        for packet in src.demux(vin, ain):
            if packet.pts is None or packet.dts is None or packet.time_base is None:
                continue
            time = packet.pts * packet.time_base
            if time < start_s - half_frame or time >= end_s - half_frame:
                continue
            shift = int(start_s / packet.time_base)
            packet.pts -= shift
            packet.dts -= shift
            if packet.pts < 0:
                continue
            packet.stream = vout if packet.stream.type == "video" else aout
            dst.mux(packet)
    return out


def _clock(seconds: Fraction) -> str:
    whole = float(seconds)
    return f"{int(whole // 3600):02d}:{int(whole // 60 % 60):02d}:{whole % 60:06.3f}"
