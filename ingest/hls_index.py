"""Index an existing HLS package (FFmpeg, Shaka Packager, Bento4; fMP4 or MPEG-TS) as a Mega Asset
without touching its media: `sizzle ingest CLIPS.json --out DIR` when the clip list's "mega_asset"
is a playlist (`.m3u8`), or `--hls PLAYLIST` to name it on the command line.

The clip list is the pre-encoded Mega Asset spec (`preencoded.parse_mega_spec`): titles, and clips
in package order, their starts measured from the package's first video frame. Every file is only
read. Each rendition's real timing comes from the media (fMP4: `tfdt` + `trun`; TS: the video PES
PTS, one access unit per PES as every HLS packager writes), and the package is accepted only when
every rendition has the same segment boundaries and frame counts, every segment starts with an IDR,
the frame rate is constant, and every clip start and end is a segment boundary. Audio must be muxed
into the variants (or absent); byte-range, encrypted, live and discontinuous packages are refused.

Where the catalog goes (docs/catalog.md, "Indexed third-party packages"): into DIR. When DIR holds
the package (DIR is its folder or an ancestor), the paths in the catalog are relative to DIR and only
`DIR/catalog.json` is written (atomically, by rename). Otherwise DIR is created atomically holding
`catalog.json` and `media`, a symlink to the package folder, and every path starts with `media/`.
"""
from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import av
import m3u8
import orjson

from ingest import boxes
from ingest.errors import IngestError
from ingest.preencoded import parse_mega_spec
from ingest.spec import Spec, read_json
from manifests.render import bandwidth, target_duration

SCHEMA = 2
CATALOG_NAME = "catalog.json"
MEDIA_LINK = "media"
PLAYLIST_SUFFIXES = (".m3u8", ".m3u")
# settings of an encode, and of a demuxed package (an indexed package keeps its muxed audio: no
# audio rendition, so no music bed could replace it)
_NOT_FOR_INDEX = ("segment_frames", "renditions", "max_renditions", "loudness_lufs", "music", "language")
_VCL = frozenset(range(1, 6))
_IDR = 5


@dataclass(frozen=True, slots=True)
class Segment:
    uri: str  # relative to the package root
    bytes: int
    start: int  # first video frame's time in `timescale` ticks (container timeline)
    frames: int
    ticks: int  # real duration in `timescale` ticks (trun sum; TS: to the next segment's start)


@dataclass(frozen=True, slots=True)
class Rendition:
    playlist: str  # relative to the package root, for messages
    container: str  # "fmp4" | "ts"
    init: str | None
    width: int
    height: int
    timescale: int
    video_codec: str
    audio: tuple[str, int, int] | None  # (codecs, sample rate, channels)
    segments: tuple[Segment, ...]
    digest: bytes

    @property
    def codecs(self) -> str:
        return self.video_codec if self.audio is None else f"{self.video_codec},{self.audio[0]}"


def is_hls_spec(path: Path) -> bool:
    """True for a JSON clip list whose "mega_asset" is an HLS playlist."""
    if path.suffix.lower() in (".edl", ".otio"):
        return False
    try:
        raw = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return False
    mega = raw.get("mega_asset") if isinstance(raw, dict) else None
    return isinstance(mega, str) and mega.lower().endswith(PLAYLIST_SUFFIXES)


def index_package(spec_path: Path, out_dir: Path, playlist: Path | None = None,
                  report: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Index the HLS package named by the clip list (or `playlist`) into out_dir; return the catalog.

    Raises IngestError (one line naming the culprit) for bad input; nothing is written then.
    """
    spec = _load_clips(Path(spec_path), playlist)
    assert spec.mega_asset is not None
    master = spec.mega_asset.resolve()
    root = master.parent
    renditions = [_scan(root, ref) for ref in _variants(master, root)]
    renditions.sort(key=lambda r: (-r.height, -r.width, -sum(s.bytes for s in r.segments)))
    rate = _frame_rate(renditions[0])
    _check_aligned(renditions, rate)
    if spec.frame_rate is not None and spec.frame_rate != rate:
        raise IngestError(f"{spec.path.name}: frame_rate {spec.frame_rate} but the package runs at "
                          f"{rate} fps")
    out_dir = Path(out_dir).absolute()
    inside = _inside(root, out_dir.resolve()) if out_dir.exists() else None
    prefix = "" if inside is not None else f"{MEDIA_LINK}/"
    if inside:
        prefix = f"{inside}/"
    catalog = _catalog(spec, master, renditions, rate, prefix)
    if inside is not None:
        _write_into(out_dir, catalog)
    else:
        _write_linked(out_dir, root, catalog)
    if report is not None:
        kinds = ", ".join(sorted({r.container for r in renditions}))
        report(f"indexed {master.name}: {len(renditions)} {kinds} rendition(s), media untouched")
    return catalog


# --- the clip list -----------------------------------------------------------------------------

def _load_clips(path: Path, playlist: Path | None) -> Spec:
    raw = read_json(path, "clip list")
    if not isinstance(raw, dict):
        raise IngestError(f"{path.name}: want a JSON object")
    if playlist is not None:
        raw = dict(raw, mega_asset=str(Path(playlist).absolute()))
    elif "mega_asset" not in raw:
        raise IngestError(f"{path.name}: no 'mega_asset' playlist (or give --hls PLAYLIST)")
    for key in _NOT_FOR_INDEX:
        if key in raw:
            raise IngestError(f"{path.name}: {key!r} does not apply to an indexed HLS package "
                              "(its segments and renditions are used as they are)")
    return parse_mega_spec(raw, path.resolve())


# --- playlists ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Variant:
    playlist: Path
    init: Path | None
    segments: tuple[Path, ...]


def _load_playlist(path: Path) -> m3u8.M3U8:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise IngestError(f"playlist {path} does not exist") from None
    except IsADirectoryError:
        raise IngestError(f"playlist {path} is a folder, not an HLS playlist") from None
    except UnicodeDecodeError:
        raise IngestError(f"{path} is not an HLS playlist (not UTF-8 text)") from None
    except OSError as exc:
        raise IngestError(f"cannot read playlist {path}: {exc.strerror or exc}") from None
    if not text.lstrip().startswith("#EXTM3U"):
        raise IngestError(f"{path} is not an HLS playlist (no #EXTM3U header)")
    try:
        return m3u8.loads(text, uri=str(path))
    except Exception as exc:  # noqa: BLE001 (the m3u8 parser raises assorted errors)
        raise IngestError(f"{path}: unreadable HLS playlist: {exc}") from None


def _local(uri: str, base: Path, root: Path, where: str) -> Path:
    """A playlist URI as a file inside the package root."""
    parts = urlsplit(uri)
    if parts.scheme or parts.netloc or parts.query or parts.fragment or uri.startswith("/"):
        raise IngestError(f"{where}: {uri!r} is not a relative file path inside the package")
    path = Path(os.path.normpath(base / unquote(parts.path)))
    if _inside(path, root) is None:
        raise IngestError(f"{where}: {uri!r} is outside the package folder {root}")
    return path


def _variants(master: Path, root: Path) -> list[_Variant]:
    top = _load_playlist(master)
    if not top.is_variant:
        return [_media_playlist(master, top, root)]
    for media in top.media:
        if (media.type or "").upper() == "AUDIO" and media.uri:
            raise IngestError(f"{master.name}: audio rendition {media.uri!r} is a separate stream; "
                              "only packages with audio muxed into the variants can be indexed")
    variants: list[_Variant] = []
    seen: set[Path] = set()
    for variant in top.playlists:
        path = _local(variant.uri, master.parent, root, master.name)
        if path in seen:
            continue
        seen.add(path)
        variants.append(_media_playlist(path, _load_playlist(path), root))
    if not variants:
        raise IngestError(f"{master.name}: master playlist lists no variants")
    return variants


def _media_playlist(path: Path, playlist: m3u8.M3U8, root: Path) -> _Variant:
    where = _rel(path, root)
    if playlist.is_variant:
        raise IngestError(f"{where}: a master playlist where a media playlist was expected")
    if not playlist.segments:
        raise IngestError(f"{where}: an HLS playlist with neither variants nor segments")
    if not playlist.is_endlist:
        raise IngestError(f"{where}: no EXT-X-ENDLIST: only finished (VOD) playlists can be indexed")
    inits: set[str] = set()
    segments: list[Path] = []
    for n, segment in enumerate(playlist.segments):
        if segment.byterange or (segment.init_section is not None and segment.init_section.byterange):
            raise IngestError(f"{where}: segment {n} ({segment.uri}) uses EXT-X-BYTERANGE: the edge "
                              "serves whole files only; repackage with one file per segment")
        if segment.key is not None and (segment.key.method or "NONE").upper() != "NONE":
            raise IngestError(f"{where}: segment {n} ({segment.uri}) is encrypted "
                              f"({segment.key.method})")
        if segment.discontinuity and n > 0:
            raise IngestError(f"{where}: EXT-X-DISCONTINUITY before segment {n} ({segment.uri}): "
                              "the package must be one continuous timeline")
        inits.add(segment.init_section.uri if segment.init_section is not None else "")
        segments.append(_local(segment.uri, path.parent, root, where))
    if len(inits) != 1:
        raise IngestError(f"{where}: the EXT-X-MAP changes or is missing for some segments")
    init_uri = inits.pop()
    init = _local(init_uri, path.parent, root, where) if init_uri else None
    return _Variant(path, init, tuple(segments))


# --- media -------------------------------------------------------------------------------------

def _read(path: Path, root: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise IngestError(f"missing file {_rel(path, root)}") from None
    except OSError as exc:
        raise IngestError(f"cannot read {_rel(path, root)}: {exc.strerror or exc}") from None


def _scan(root: Path, variant: _Variant) -> Rendition:
    if variant.init is not None:
        return _scan_fmp4(root, variant)
    return _scan_ts(root, variant)


def _scan_fmp4(root: Path, variant: _Variant) -> Rendition:
    assert variant.init is not None
    init_name = _rel(variant.init, root)
    init = _read(variant.init, root)
    digest = hashlib.blake2b(init, digest_size=32)
    try:
        moov = boxes.find(init, None, "moov")
        if moov is None:
            raise boxes.BoxError("no moov box")
        tracks = boxes.read_tracks(init, moov)
        video = [t for t in tracks.values() if t.handler == "vide"]
        if len(video) != 1:
            raise boxes.BoxError(f"want one video track, found {len(video)}")
        entry = _sample_entry(init, moov, video[0].id, ("avc1", "avc3"))
        if entry is None:
            raise IngestError(f"{init_name}: video is not H.264 (avc1/avc3); only H.264 can be indexed")
        avcc = boxes.find(init, entry, "avcC")
        if avcc is None:
            raise boxes.BoxError("avc1 without avcC")
        config = boxes.read_avcc(init, avcc)
        width, height = (int.from_bytes(init[entry.payload + at:entry.payload + at + 2], "big")
                         for at in (24, 26))
        audio = _fmp4_audio(init, moov, tracks)
    except (boxes.BoxError, struct.error, IndexError) as exc:
        raise IngestError(f"{init_name}: not a usable fMP4 initialisation segment: {exc}") from None
    segments: list[Segment] = []
    for path in variant.segments:
        data = _read(path, root)
        digest.update(data)
        segments.append(_fmp4_segment(data, _rel(path, root), video[0], config.nal_length_size))
    return Rendition(_rel(variant.playlist, root), "fmp4", init_name, width, height,
                     video[0].timescale, config.codec, audio, tuple(segments), digest.digest())


def _sample_entry(buf: bytes, moov: boxes.Box, track_id: int,
                  kinds: tuple[str, ...]) -> boxes.Box | None:
    for trak in boxes.find_all(buf, moov, "trak"):
        tkhd = boxes.find(buf, trak, "tkhd")
        if tkhd is None or boxes.read_tkhd_track_id(buf, tkhd) != track_id:
            continue
        for kind in kinds:
            entry = boxes.find(buf, trak, f"mdia/minf/stbl/stsd/{kind}")
            if entry is not None:
                return entry
    return None


def _fmp4_audio(buf: bytes, moov: boxes.Box,
                tracks: dict[int, boxes.Track]) -> tuple[str, int, int] | None:
    sound = [t for t in tracks.values() if t.handler == "soun"]
    if not sound:
        return None
    if len(sound) > 1:
        raise boxes.BoxError(f"want at most one audio track, found {len(sound)}")
    entry = _sample_entry(buf, moov, sound[0].id, ("mp4a",))
    esds = boxes.find(buf, entry, "esds") if entry is not None else None
    if entry is None or esds is None:
        raise boxes.BoxError("audio is not AAC (mp4a/esds)")
    oti = boxes.read_esds_object_type_indication(buf, esds)
    codec = f"mp4a.{oti:02x}.{boxes.read_esds_audio_object_type(buf, esds)}"
    channels = int.from_bytes(buf[entry.payload + 16:entry.payload + 18], "big")
    return codec, sound[0].timescale, channels


def _fmp4_segment(data: bytes, name: str, video: boxes.Track, nal_length: int) -> Segment:
    start: int | None = None
    frames = ticks = 0
    try:
        for moof in boxes.iter_boxes(data):
            if moof.type != "moof":
                continue
            for traf in boxes.find_all(data, moof, "traf"):
                tfhd_box, tfdt_box = boxes.find(data, traf, "tfhd"), boxes.find(data, traf, "tfdt")
                if tfhd_box is None or tfdt_box is None:
                    raise boxes.BoxError("traf without tfhd/tfdt")
                tfhd = boxes.read_tfhd(data, tfhd_box)
                if tfhd.track_id != video.id:
                    continue
                default = tfhd.default_sample_duration
                for trun_box in boxes.find_all(data, traf, "trun"):
                    trun = boxes.read_trun(data, trun_box, video.default_duration if default is None
                                           else default, tfhd.default_sample_size or 0)
                    if start is None and trun.sample_count:
                        start = boxes.read_tfdt(data, tfdt_box)[1]
                        flags = trun.first_sample_flags
                        for fallback in (tfhd.default_sample_flags, video.default_flags):
                            flags = fallback if flags is None else flags
                        base = moof.offset if tfhd.base_data_offset is None else tfhd.base_data_offset
                        first = base + (trun.data_offset or 0)
                        sample = data[first:first + (trun.sizes[0] or 4096)]
                        if not boxes.is_sync_sample(flags or 0) or _first_vcl(sample, nal_length) != _IDR:
                            raise IngestError(f"segment {name} does not start with an IDR frame")
                    frames += trun.sample_count
                    ticks += trun.duration
    except (boxes.BoxError, struct.error, IndexError) as exc:
        raise IngestError(f"segment {name} is not a usable fMP4 segment: {exc}") from None
    if start is None:
        raise IngestError(f"segment {name} holds no video frames")
    return Segment(name, len(data), start, frames, ticks)


def _first_vcl(sample: bytes, nal_length: int) -> int | None:
    """NAL type of the first slice in a length-prefixed H.264 sample."""
    pos = 0
    while pos + nal_length < len(sample):
        size = int.from_bytes(sample[pos:pos + nal_length], "big")
        kind = sample[pos + nal_length] & 0x1F
        if kind in _VCL:
            return kind
        pos += nal_length + size
    return None


def _scan_ts(root: Path, variant: _Variant) -> Rendition:
    from ingest import mpegts  # numpy: only for TS packages, not on every `sizzle ingest` start

    where = _rel(variant.playlist, root)
    digest = hashlib.blake2b(digest_size=32)
    parsed: list[tuple[str, int, mpegts.TsSegment]] = []
    for path in variant.segments:
        name, data = _rel(path, root), _read(path, root)
        digest.update(data)
        try:
            segment = mpegts.read_segment(data)
        except mpegts.TsError as exc:
            raise IngestError(f"segment {name}: {exc}") from None
        if segment.first_slice != _IDR:
            raise IngestError(f"segment {name} does not start with an IDR frame")
        if segment.video_codec is None:
            raise IngestError(f"segment {name}: its first frame carries no SPS, so no codec profile")
        parsed.append((name, len(data), segment))
    first = parsed[0][2]
    try:
        with av.open(str(variant.segments[0]), format="mpegts") as probe:
            ctx = probe.streams.video[0].codec_context
            width, height = ctx.width, ctx.height
    except (av.error.FFmpegError, OSError, IndexError) as exc:
        raise IngestError(f"{parsed[0][0]}: cannot read the video stream: {exc}") from None
    pts = sorted(p for _, _, s in parsed for p in s.pts)
    step = Counter(b - a for a, b in zip(pts, pts[1:])).most_common(1)[0][0] if len(pts) > 1 else 3000
    ends = [s.start for _, _, s in parsed[1:]] + [max(parsed[-1][2].pts) + step]
    segments = tuple(Segment(name, size, s.start, len(s.pts), end - s.start)
                     for (name, size, s), end in zip(parsed, ends))
    for done in segments:
        if done.ticks <= 0:
            raise IngestError(f"{where}: segment {done.uri} does not start after the one before it")
    assert first.video_codec is not None
    return Rendition(where, "ts", None, width, height, mpegts.PTS_HZ, first.video_codec, first.audio,
                     segments, digest.digest())


# --- checks ------------------------------------------------------------------------------------

def _frame_rate(rendition: Rendition) -> Fraction:
    frames = sum(s.frames for s in rendition.segments)
    ticks = sum(s.ticks for s in rendition.segments)
    if ticks <= 0:
        raise IngestError(f"{rendition.playlist}: the video has no duration")
    return Fraction(frames * rendition.timescale, ticks).limit_denominator(1001)


def _check_aligned(renditions: list[Rendition], rate: Fraction) -> None:
    """Same segment count, frame counts and start times everywhere; a constant frame rate."""
    top = renditions[0]
    for rendition in renditions:
        if len(rendition.segments) != len(top.segments):
            raise IngestError(f"renditions differ: {rendition.playlist} has {len(rendition.segments)} "
                              f"segments, {top.playlist} has {len(top.segments)}")
        origin = rendition.segments[0].start
        frame = 0
        for n, segment in enumerate(rendition.segments):
            at = Fraction(segment.start - origin, rendition.timescale)
            if abs(at * rate - frame) >= Fraction(1, 2):
                raise IngestError(f"{rendition.playlist}: segment {n} ({segment.uri}) starts at "
                                  f"{_clock(at)}, not at frame {frame} ({_clock(frame / rate)}): "
                                  "timestamps jump or the frame rate is not constant")
            mine = top.segments[n]
            if segment.frames != mine.frames or \
                    abs(Fraction(segment.start, rendition.timescale) -
                        Fraction(mine.start, top.timescale)) * rate >= Fraction(1, 2):
                raise IngestError(
                    f"renditions are not aligned: segment {n} of {rendition.playlist} "
                    f"({segment.uri}) has {segment.frames} frames from "
                    f"{_clock(Fraction(segment.start, rendition.timescale))}, in {top.playlist} it has "
                    f"{mine.frames} frames from {_clock(Fraction(mine.start, top.timescale))}")
            frame += segment.frames
    audio = {r.audio for r in renditions}
    if len(audio) != 1:
        raise IngestError(f"renditions disagree on the audio: {sorted(map(str, audio))}")


def _clip_segments(spec: Spec, starts: list[int], total: int,
                   rate: Fraction) -> list[tuple[Any, Any, int, tuple[int, ...]]]:
    """(title, clip, start frame, segment indices) in package order; clip boundaries checked."""
    by_id = {clip.id: (title, clip) for title in spec.titles for clip in title.clips}
    order = spec.order or tuple(by_id)
    boundaries = sorted(set(starts) | {total})
    index_of = {frame: n for n, frame in enumerate(starts)}
    out = []
    end = 0
    for clip_id in order:
        title, clip = by_id[clip_id]
        seconds = clip.start.resolve(rate, f"{clip.where} (start {clip.start.text})")
        first = round(seconds * rate)
        last = first + clip.frames
        if first < end:
            raise IngestError(f"clip {clip.id!r} (start {clip.start.text}) starts at "
                              f"{_at(first, rate)}, before the previous clip ends at {_at(end, rate)}")
        if last > total:
            raise IngestError(f"clip {clip.id!r} (start {clip.start.text}, {clip.frames} frames) ends "
                              f"at {_at(last, rate)}, past the end of the package at {_at(total, rate)}")
        for frame, what in ((first, "starts"), (last, "ends")):
            if frame not in index_of and frame != total:
                before = max(b for b in boundaries if b < frame)
                after = min(b for b in boundaries if b > frame)
                raise IngestError(f"clip {clip.id!r} (start {clip.start.text}) {what} at "
                                  f"{_at(frame, rate)}, not on a segment boundary: nearest boundaries "
                                  f"{_at(before, rate)} and {_at(after, rate)}")
        out.append((title, clip, first, tuple(range(index_of[first], index_of.get(last, len(starts))))))
        end = last
    return out


# --- the catalog -------------------------------------------------------------------------------

def _catalog(spec: Spec, master: Path, renditions: list[Rendition], rate: Fraction,
             prefix: str) -> dict[str, Any]:
    top = renditions[0]
    starts, frame = [], 0
    for segment in top.segments:
        starts.append(frame)
        frame += segment.frames
    durations = [round(s.ticks / top.timescale, 6) for s in top.segments]
    clips = _clip_segments(spec, starts, frame, rate)
    ids = _rendition_ids(renditions)
    catalog: dict[str, Any] = {
        "schema": SCHEMA,
        "asset_id": spec.asset_id,
        "version": "",
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "frame_rate": [rate.numerator, rate.denominator],
        "segment_frames": max(s.frames for s in top.segments),
        "timescale": top.timescale,
    }
    if top.audio is not None:
        catalog["audio"] = {"codec": top.audio[0], "sample_rate": top.audio[1],
                            "channels": top.audio[2]}
    catalog["renditions"] = [_rendition(r, rid, rate, durations, prefix)
                             for r, rid in zip(renditions, ids)]
    catalog["titles"] = [{"id": t.id, "name": t.name, "talent": list(t.talent)} for t in spec.titles]
    catalog["segments"] = [
        {"index": n, "start_frame": starts[n], "frames": s.frames, "duration": durations[n],
         "bytes": {rid: r.segments[n].bytes for r, rid in zip(renditions, ids)}}
        for n, s in enumerate(top.segments)]
    catalog["clips"] = [
        {"id": clip.id, "title": title.id, "talent": list(clip.talent), "frames": clip.frames,
         "start_frame": first, "start": round(float(first / rate), 6),
         "duration": round(sum(top.segments[n].ticks for n in segments) / top.timescale, 6),
         "source": {"file": master.name, "start": round(float(first / rate), 6)},
         "segments": list(segments)}
        for title, clip, first, segments in clips]
    index = {k: v for k, v in catalog.items() if k not in ("version", "created")}
    digest = hashlib.blake2b(orjson.dumps(index, option=orjson.OPT_SORT_KEYS), digest_size=32)
    for rendition in renditions:
        digest.update(rendition.digest)
    catalog["version"] = digest.hexdigest()[:16]
    return catalog


def _rendition_ids(renditions: list[Rendition]) -> list[str]:
    ids: list[str] = []
    for r in renditions:
        rid, n = f"{r.height}p", 2
        while rid in ids:
            rid, n = f"{r.height}p-{n}", n + 1
        ids.append(rid)
    return ids


def _rendition(r: Rendition, rid: str, rate: Fraction, durations: list[float],
               prefix: str) -> dict[str, Any]:
    peak, average = bandwidth(durations, [8 * s.bytes for s in r.segments], target_duration(durations))
    return {
        "id": rid, "width": r.width, "height": r.height, "frame_rate": round(float(rate), 3),
        "video_codec": r.video_codec, "codecs": r.codecs,
        "bandwidth": peak, "average_bandwidth": average,
        "container": r.container,
        "init": None if r.init is None else prefix + r.init,
        "segment_uris": [prefix + s.uri for s in r.segments],
    }


# --- output ------------------------------------------------------------------------------------

def _write_into(folder: Path, catalog: dict[str, Any]) -> None:
    """catalog.json into a folder that holds the package: a temporary file renamed into place."""
    data = orjson.dumps(catalog, option=orjson.OPT_INDENT_2) + b"\n"
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{CATALOG_NAME}.tmp-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, folder / CATALOG_NAME)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise IngestError(f"cannot write {folder / CATALOG_NAME}: {exc.strerror or exc}") from None


def _write_linked(out_dir: Path, root: Path, catalog: dict[str, Any]) -> None:
    """A new folder with catalog.json and `media` -> the package, published atomically."""
    from ingest.build import _check_destination, _publish, _staging  # shared atomic publishing

    _check_destination(out_dir)
    with _staging(out_dir) as staging:
        (staging / CATALOG_NAME).write_bytes(orjson.dumps(catalog, option=orjson.OPT_INDENT_2) + b"\n")
        (staging / MEDIA_LINK).symlink_to(root, target_is_directory=True)
        staging.chmod(0o755)
        _publish(staging, out_dir)


# --- small helpers -----------------------------------------------------------------------------

def _inside(path: Path, folder: Path) -> str | None:
    """path relative to folder ("" for folder itself) as a '/'-path, or None when outside it."""
    try:
        rel = path.relative_to(folder)
    except ValueError:
        return None
    return "" if rel == Path(".") else rel.as_posix()


def _rel(path: Path, root: Path) -> str:
    rel = _inside(path, root)
    return path.name if rel is None else rel


def _clock(seconds: Fraction | float) -> str:
    whole = float(seconds)
    return f"{int(whole // 3600):02d}:{int(whole // 60 % 60):02d}:{whole % 60:06.3f}"


def _at(frame: int, rate: Fraction) -> str:
    return f"{_clock(frame / rate)} (frame {frame})"
