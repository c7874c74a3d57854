"""The catalog model: what `ingest` wrote, loaded once and shaped for per-request work.

Pure: `parse_catalog` takes bytes, never a path. The schema is documented in docs/catalog.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping

import orjson

SCHEMAS = (1, 2)
CONTAINERS = ("fmp4", "ts")


class CatalogError(ValueError):
    """The catalog is unreadable or breaks docs/catalog.md; the message names the culprit."""


@dataclass(frozen=True, slots=True)
class Rendition:
    """A video rendition (schema 1: with its audio muxed in) or, with kind "audio", the demuxed
    audio rendition of a schema-2 package (width/height/frame_rate 0)."""
    id: str
    width: int
    height: int
    frame_rate: float
    codecs: str  # the codecs of this rendition's own files
    init: str | None  # None only for MPEG-TS
    segment_template: str
    container: str = "fmp4"
    segment_uris: tuple[str, ...] | None = None  # third-party packages: one path per segment
    kind: str = "video"
    name: str = ""
    language: str = ""
    channels: int = 0

    def segment_uri(self, index: int) -> str:
        if self.segment_uris is not None:
            return self.segment_uris[index]
        return self.segment_template.format(index=index)


@dataclass(frozen=True, slots=True)
class Bed:
    """A music bed: audio-only segments on the video segment grid, each with a fade-out twin."""
    index: int
    id: str
    name: str
    credit: str
    codecs: str
    channels: int
    init: str
    segment_template: str
    fade_template: str
    durations: tuple[float, ...]
    bytes: tuple[int, ...]
    fade_bytes: tuple[int, ...]

    def segment_uri(self, index: int, fade: bool = False) -> str:
        return (self.fade_template if fade else self.segment_template).format(index=index)


@dataclass(frozen=True, slots=True)
class Segment:
    index: int
    start_frame: int
    frames: int
    duration: float
    bytes: Mapping[str, int]  # rendition id (video and audio) -> file size
    audio_duration: float | None = None  # the demuxed audio segment's own duration


@dataclass(frozen=True, slots=True)
class Title:
    index: int
    id: str
    name: str
    talent: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Clip:
    index: int
    id: str
    title: int  # index into Catalog.titles
    talent: tuple[str, ...]
    frames: int
    start_frame: int
    duration: float
    segments: tuple[int, ...]  # indices into Catalog.segments


@dataclass(frozen=True, slots=True)
class Catalog:
    asset_id: str
    version: str
    frame_rate: Fraction
    segment_frames: int
    renditions: tuple[Rendition, ...]  # video renditions, best first
    audio: tuple[Rendition, ...]  # demuxed audio renditions; empty when audio is muxed
    beds: tuple[Bed, ...]
    titles: tuple[Title, ...]
    segments: tuple[Segment, ...]
    clips: tuple[Clip, ...]
    title_index: Mapping[str, int]
    clips_by_title: tuple[tuple[int, ...], ...]  # per title index: its clip indices, Mega Asset order
    target_duration: int  # ceil of the longest segment, the same for every playlist of this catalog
    lengths: tuple[int, ...]  # distinct clip lengths, ascending
    by_length: tuple[Mapping[int, tuple[int, ...]], ...]  # per title: clip length -> clip indices
    title_talent: tuple[frozenset[str], ...]  # per title: its talent and all its clips' talent
    clip_talent: tuple[frozenset[str], ...]  # per clip

    def rendition(self, rendition_id: str) -> Rendition | None:
        for rendition in self.renditions + self.audio:
            if rendition.id == rendition_id:
                return rendition
        return None

    def bed(self, bed_id: str) -> Bed | None:
        for bed in self.beds:
            if bed.id == bed_id:
                return bed
        return None

    def follows(self, before: int, after: int) -> bool:
        """True when clip `after` starts right where clip `before` ends in the encode."""
        return self.clips[after].segments[0] == self.clips[before].segments[-1] + 1


def _need(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, Mapping) or key not in obj:
        raise CatalogError(f"{where}: missing '{key}'")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise CatalogError(f"{where}.{key}: wrong type {type(value).__name__}")
    return value


def parse_catalog(data: bytes) -> Catalog:
    """Parse and cross-check catalog.json bytes. Raises CatalogError naming the bad field."""
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise CatalogError(f"catalog is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise CatalogError("catalog: top level must be an object")
    schema = raw.get("schema")
    if schema not in SCHEMAS or isinstance(schema, bool):
        raise CatalogError(f"catalog: unsupported schema {schema!r} (want one of {SCHEMAS})")
    version = _need(raw, "version", str, "catalog")
    if len(version) != 16 or any(ch not in "0123456789abcdef" for ch in version):
        raise CatalogError("catalog.version: want 16 lowercase hex characters")
    rate = _need(raw, "frame_rate", list, "catalog")
    if len(rate) != 2 or not all(isinstance(x, int) and x > 0 for x in rate):
        raise CatalogError("catalog.frame_rate: want [num, den] positive integers")
    frame_rate = Fraction(rate[0], rate[1])
    segment_frames = _need(raw, "segment_frames", int, "catalog")

    segment_list = _need(raw, "segments", list, "catalog")
    renditions = [_rendition(r, f"renditions[{i}]", len(segment_list), "video")
                  for i, r in enumerate(_need(raw, "renditions", list, "catalog"))]
    if not renditions:
        raise CatalogError("catalog: no renditions")
    audio = [_rendition(r, f"audio_renditions[{i}]", len(segment_list), "audio")
             for i, r in enumerate(raw.get("audio_renditions") or ())]
    ids = [r.id for r in renditions + audio]
    if len(set(ids)) != len(ids):
        raise CatalogError(f"catalog: rendition ids are not unique: {ids}")
    if audio and any(r.container != "fmp4" for r in renditions + audio):
        raise CatalogError("catalog: demuxed audio needs fMP4 renditions")
    rendition_ids = set(ids)

    titles: list[Title] = []
    title_index: dict[str, int] = {}
    for i, t in enumerate(_need(raw, "titles", list, "catalog")):
        where = f"titles[{i}]"
        tid = _need(t, "id", str, where)
        if tid in title_index:
            raise CatalogError(f"{where}: duplicate title id {tid!r}")
        title_index[tid] = i
        titles.append(Title(i, tid, _need(t, "name", str, where),
                            tuple(t.get("talent") or ())))

    segments: list[Segment] = []
    for i, s in enumerate(segment_list):
        where = f"segments[{i}]"
        sizes = _need(s, "bytes", dict, where)
        if set(sizes) != rendition_ids:
            raise CatalogError(f"{where}.bytes: renditions {sorted(sizes)} != {sorted(rendition_ids)}")
        duration = float(_need(s, "duration", (int, float), where))
        if duration <= 0:
            raise CatalogError(f"{where}.duration: must be positive")
        audio_duration = None
        if audio:
            audio_duration = float(_need(s, "audio_duration", (int, float), where))
            if audio_duration <= 0:
                raise CatalogError(f"{where}.audio_duration: must be positive")
        segments.append(Segment(i, _need(s, "start_frame", int, where), _need(s, "frames", int, where),
                                duration, dict(sizes), audio_duration))
    if not segments:
        raise CatalogError("catalog: no segments")

    clips: list[Clip] = []
    per_title: list[list[int]] = [[] for _ in titles]
    for i, c in enumerate(_need(raw, "clips", list, "catalog")):
        where = f"clips[{i}]"
        tid = _need(c, "title", str, where)
        if tid not in title_index:
            raise CatalogError(f"{where}.title: unknown title {tid!r}")
        segs = tuple(_need(c, "segments", list, where))
        if not segs or any(not isinstance(n, int) or not 0 <= n < len(segments) for n in segs):
            raise CatalogError(f"{where}.segments: bad segment indices")
        if any(b != a + 1 for a, b in zip(segs, segs[1:])):
            raise CatalogError(f"{where}.segments: not contiguous")
        clip = Clip(i, _need(c, "id", str, where), title_index[tid], tuple(c.get("talent") or ()),
                    _need(c, "frames", int, where), _need(c, "start_frame", int, where),
                    sum(segments[n].duration for n in segs), segs)
        clips.append(clip)
        per_title[clip.title].append(i)
    if not clips:
        raise CatalogError("catalog: no clips")

    beds = [_bed(b, i) for i, b in enumerate(raw.get("music") or ())]
    if len({b.id for b in beds}) != len(beds):
        raise CatalogError("catalog.music: bed ids are not unique")
    longest = [s.duration for s in segments] + [s.audio_duration or 0.0 for s in segments]
    longest += [d for bed in beds for d in bed.durations]
    target = math.ceil(max(longest) - 1e-9)
    return Catalog(
        asset_id=str(raw.get("asset_id", "")), version=version, frame_rate=frame_rate,
        segment_frames=segment_frames, renditions=tuple(renditions), audio=tuple(audio),
        beds=tuple(beds), titles=tuple(titles),
        segments=tuple(segments), clips=tuple(clips), title_index=title_index,
        clips_by_title=tuple(tuple(x) for x in per_title), target_duration=target,
        lengths=tuple(sorted({clip.frames for clip in clips})),
        by_length=tuple(_by_length(clips, indices) for indices in per_title),
        title_talent=tuple(frozenset(title.talent).union(*(clips[i].talent for i in per_title[title.index]))
                           for title in titles),
        clip_talent=tuple(frozenset(clip.talent) for clip in clips))


def _relative(path: str, where: str) -> str:
    if not path or path.startswith("/") or ".." in path.split("/") or "\\" in path:
        raise CatalogError(f"{where}: {path!r} is not a package-relative path")
    return path


def _template(obj: Any, key: str, where: str) -> str:
    """A segment file name template (str.format with {index}) whose names are package-relative."""
    template: str = _need(obj, key, str, where)
    try:
        first = template.format(index=0)
    except (KeyError, IndexError, ValueError):
        raise CatalogError(f"{where}.{key}: want a str.format template using {{index}}") from None
    _relative(first, f"{where}.{key}")
    return template


def _rendition(r: Any, where: str, segment_count: int, kind: str) -> Rendition:
    container = r.get("container", "fmp4") if isinstance(r, Mapping) else "fmp4"
    if container not in CONTAINERS:
        raise CatalogError(f"{where}.container: want one of {CONTAINERS}, got {container!r}")
    init = r.get("init") if isinstance(r, Mapping) else None
    if container == "fmp4" or init is not None:  # MPEG-TS may have no initialisation section
        init = _relative(_need(r, "init", str, where), f"{where}.init")
    uris: tuple[str, ...] | None = None
    template = ""
    if isinstance(r, Mapping) and "segment_uris" in r:
        listed = _need(r, "segment_uris", list, where)
        if len(listed) != segment_count or not all(isinstance(u, str) for u in listed):
            raise CatalogError(f"{where}.segment_uris: want one path per segment ({segment_count})")
        uris = tuple(_relative(u, f"{where}.segment_uris") for u in listed)
    else:
        template = _template(r, "segment_template", where)
    if kind == "audio":
        return Rendition(id=_need(r, "id", str, where), width=0, height=0, frame_rate=0.0,
                         codecs=_need(r, "codecs", str, where), init=init, segment_template=template,
                         container=container, segment_uris=uris, kind="audio",
                         name=_need(r, "name", str, where), language=_need(r, "language", str, where),
                         channels=_need(r, "channels", int, where))
    return Rendition(
        id=_need(r, "id", str, where), width=_need(r, "width", int, where),
        height=_need(r, "height", int, where),
        frame_rate=float(_need(r, "frame_rate", (int, float), where)),
        codecs=_need(r, "codecs", str, where), init=init, segment_template=template,
        container=container, segment_uris=uris)


def _bed(b: Any, index: int) -> Bed:
    where = f"music[{index}]"
    durations: list[float] = []
    sizes: list[int] = []
    fades: list[int] = []
    for k, s in enumerate(_need(b, "segments", list, where)):
        at = f"{where}.segments[{k}]"
        duration = float(_need(s, "duration", (int, float), at))
        if duration <= 0:
            raise CatalogError(f"{at}.duration: must be positive")
        durations.append(duration)
        sizes.append(_need(s, "bytes", int, at))
        fades.append(_need(s, "fade_bytes", int, at))
    if not durations:
        raise CatalogError(f"{where}.segments: empty")
    templates = [_template(b, key, where) for key in ("segment_template", "fade_template")]
    return Bed(index, _need(b, "id", str, where), _need(b, "name", str, where), str(b.get("credit", "")),
               _need(b, "codecs", str, where), _need(b, "channels", int, where),
               _relative(_need(b, "init", str, where), f"{where}.init"), templates[0], templates[1],
               tuple(durations), tuple(sizes), tuple(fades))


def _by_length(clips: list[Clip], indices: list[int]) -> dict[int, tuple[int, ...]]:
    grouped: dict[int, list[int]] = {}
    for i in indices:
        grouped.setdefault(clips[i].frames, []).append(i)
    return {length: tuple(group) for length, group in grouped.items()}
