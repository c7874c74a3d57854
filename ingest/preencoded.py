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

`stream_copy` makes one pass over the file: the header checks first, then the remux, which also
collects the keyframes and B-frame evidence `copy_blockers` needs, and whose output is split into
init + segments as the muxer writes it (no intermediate file); a file that turns out not to be
copyable is reported exactly as `copy_blockers` would, and its partial output dropped.
"""
from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from ingest.errors import IngestError
from ingest.package import BoxStream, PackagedRendition, PackagingError, Splitter
from ingest.plan import Plan
from ingest.spec import Spec, parse_spec

MOVFLAGS = "cmaf+frag_keyframe+empty_moov+default_base_moof"
_KEYS = {"asset_id", "mega_asset", "titles", "clips", "frame_rate", "segment_frames", "renditions",
         "max_renditions", "loudness_lufs", "language", "music"}
_MAX_LISTED = 5
_BUFFER = 1 << 20  # bytes per write from the muxer to the splitter


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
    with _open(path) as container:
        blockers = _format_blockers(plan, container)
        video = container.streams.video[0]
        assert video.time_base is not None
        time_base = Fraction(video.time_base.numerator, video.time_base.denominator)
        keys: set[int] = set()
        reordered = False
        for packet in container.demux(video):
            if packet.pts is None or packet.dts is None:
                continue
            if packet.pts != packet.dts:
                reordered = True
            if packet.is_keyframe:
                keys.add(_frame_of(plan, packet.pts, time_base))
    return blockers + _layout_blockers(plan, keys, reordered)


def stream_copy(plan: Plan, path: Path, folder: Path) -> tuple[PackagedRendition | None, list[str]]:
    """Package the file by stream copy into folder as plan's top rendition, in one pass.

    Returns (the packaged rendition, []) or, when the file cannot be stream-copied, (None, the
    blockers; folder may hold a partial package for the caller to remove). The format checks come
    first (no media read); the keyframe checks (`copy_blockers`) are made while remuxing, and the
    muxer's fragmented MP4 is split into init + segments as it is written
    (`package.Splitter`): the file is read once and the package written once, with no
    intermediate file. The result is the same as `remux` followed by `package_rendition`.
    """
    top = plan.renditions[0]
    with _open(path) as container:
        blockers = _format_blockers(plan, container)
        if blockers:
            return None, blockers
        splitter = Splitter(folder, plan, f"{top.id} (stream copy of {path.name})",
                            background=True)
        try:
            sink = BoxStream(splitter)
            try:
                keys, reordered = _remux(plan, container, sink)
                sink.close()
            except Exception as exc:
                cause = sink.error or exc  # PyAV wraps what failed inside the file object
                if not isinstance(cause, av.error.FFmpegError | PackagingError):
                    raise cause from None  # e.g. OSError writing the package
                blockers = copy_blockers(plan, path)  # why the copy failed, if the file says so
                if blockers:
                    return None, blockers
                raise cause from None
            blockers = _layout_blockers(plan, keys, reordered)
            if blockers:
                return None, blockers
            return splitter.finish(top, video_only=False), []
        finally:
            splitter.close()


def remux(plan: Plan, path: Path, out: Path) -> Path:
    """Copy the clips' span of the file into one fragmented MP4 starting at time 0."""
    with _open(path) as container:
        _remux(plan, container, str(out))
    return out


def _remux(plan: Plan, src: av.container.InputContainer,
           target: str | BoxStream) -> tuple[set[int], bool]:
    """Remux the clips' span of src into target; (keyframe frames of the file, B-frames seen).

    Every packet's time is compared in its stream's own ticks (integers, no Fractions): a packet
    at time t = pts * time_base is copied when start - half a frame <= t < end - half a frame.
    """
    first = plan.clips[0]
    start_s = first.source_start + first.source.origin
    end_s = start_s + Fraction(plan.total_frames) / plan.frame_rate
    half_frame = 1 / (2 * plan.frame_rate)
    vin, ain = src.streams.video[0], src.streams.audio[0]
    assert vin.time_base is not None
    video_base = Fraction(vin.time_base.numerator, vin.time_base.denominator)
    keys: set[int] = set()
    reordered = False
    with av.open(target, "w", format="mp4", options={"movflags": MOVFLAGS},
                 buffer_size=_BUFFER) as dst:
        vout = dst.add_stream_from_template(vin)
        aout = dst.add_stream_from_template(ain)
        # stream index -> (output stream, first tick copied, first tick not copied, shift)
        bounds: dict[int, tuple[av.stream.Stream, int, int, int]] = {}
        for stream, copy in ((vin, vout), (ain, aout)):
            tb = stream.time_base
            assert tb is not None
            base = Fraction(tb.numerator, tb.denominator)
            bounds[stream.index] = (copy, math.ceil((start_s - half_frame) / base),
                                    math.ceil((end_s - half_frame) / base), int(start_s / base))
        video_index = vin.index
        mux = dst.mux_one
        for packet in src.demux(vin, ain):
            pts, dts = packet.pts, packet.dts
            if pts is None or dts is None:
                continue
            index = packet.stream_index
            if index == video_index:
                if pts != dts:
                    reordered = True
                if packet.is_keyframe:
                    keys.add(_frame_of(plan, pts, video_base))
            out, low, high, shift = bounds[index]
            if pts < low or pts >= high or pts < shift:
                continue
            packet.pts = pts - shift
            packet.dts = dts - shift
            packet.stream = out
            mux(packet)
    return keys, reordered


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise IngestError(f"cannot open Mega Asset {path}: {exc}") from None


def _frame_of(plan: Plan, pts: int, time_base: Fraction) -> int:
    """The Mega Asset frame (from the first clip's source origin) of a video timestamp."""
    return round((pts * time_base - plan.clips[0].source.origin) * plan.frame_rate)


def _format_blockers(plan: Plan, container: av.container.InputContainer) -> list[str]:
    """Blockers seen in the stream headers alone: codecs, picture size, audio format."""
    blockers: list[str] = []
    top = plan.renditions[0]
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
    return blockers


def _layout_blockers(plan: Plan, keys: set[int], reordered: bool) -> list[str]:
    """Blockers from the video timing: B-frames, clips not back to back, boundaries off keyframes."""
    blockers: list[str] = []
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


def _clock(seconds: Fraction) -> str:
    whole = float(seconds)
    return f"{int(whole // 3600):02d}:{int(whole // 60 % 60):02d}:{whole % 60:06.3f}"
