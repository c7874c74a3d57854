"""The catalog model: what `ingest` wrote, loaded once and shaped for per-request work.

Pure: `parse_catalog` takes bytes, never a path. The schema is documented in docs/catalog.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping

import orjson

SCHEMA = 1


class CatalogError(ValueError):
    """The catalog is unreadable or breaks docs/catalog.md; the message names the culprit."""


@dataclass(frozen=True, slots=True)
class Rendition:
    id: str
    width: int
    height: int
    frame_rate: float
    codecs: str
    init: str
    segment_template: str

    def segment_uri(self, index: int) -> str:
        return self.segment_template.format(index=index)


@dataclass(frozen=True, slots=True)
class Segment:
    index: int
    start_frame: int
    frames: int
    duration: float
    bytes: Mapping[str, int]


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
    renditions: tuple[Rendition, ...]
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
        for rendition in self.renditions:
            if rendition.id == rendition_id:
                return rendition
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
    if raw.get("schema") != SCHEMA:
        raise CatalogError(f"catalog: unsupported schema {raw.get('schema')!r} (want {SCHEMA})")
    version = _need(raw, "version", str, "catalog")
    if len(version) != 16 or any(ch not in "0123456789abcdef" for ch in version):
        raise CatalogError("catalog.version: want 16 lowercase hex characters")
    rate = _need(raw, "frame_rate", list, "catalog")
    if len(rate) != 2 or not all(isinstance(x, int) and x > 0 for x in rate):
        raise CatalogError("catalog.frame_rate: want [num, den] positive integers")
    frame_rate = Fraction(rate[0], rate[1])
    segment_frames = _need(raw, "segment_frames", int, "catalog")

    renditions: list[Rendition] = []
    for i, r in enumerate(_need(raw, "renditions", list, "catalog")):
        where = f"renditions[{i}]"
        renditions.append(Rendition(
            id=_need(r, "id", str, where), width=_need(r, "width", int, where),
            height=_need(r, "height", int, where),
            frame_rate=float(_need(r, "frame_rate", (int, float), where)),
            codecs=_need(r, "codecs", str, where), init=_need(r, "init", str, where),
            segment_template=_need(r, "segment_template", str, where)))
    if not renditions:
        raise CatalogError("catalog: no renditions")
    rendition_ids = {r.id for r in renditions}

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
    for i, s in enumerate(_need(raw, "segments", list, "catalog")):
        where = f"segments[{i}]"
        sizes = _need(s, "bytes", dict, where)
        if set(sizes) != rendition_ids:
            raise CatalogError(f"{where}.bytes: renditions {sorted(sizes)} != {sorted(rendition_ids)}")
        duration = float(_need(s, "duration", (int, float), where))
        if duration <= 0:
            raise CatalogError(f"{where}.duration: must be positive")
        segments.append(Segment(i, _need(s, "start_frame", int, where), _need(s, "frames", int, where),
                                duration, dict(sizes)))
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

    target = math.ceil(max(s.duration for s in segments) - 1e-9)
    return Catalog(
        asset_id=str(raw.get("asset_id", "")), version=version, frame_rate=frame_rate,
        segment_frames=segment_frames, renditions=tuple(renditions), titles=tuple(titles),
        segments=tuple(segments), clips=tuple(clips), title_index=title_index,
        clips_by_title=tuple(tuple(x) for x in per_title), target_duration=target,
        lengths=tuple(sorted({clip.frames for clip in clips})),
        by_length=tuple(_by_length(clips, indices) for indices in per_title),
        title_talent=tuple(frozenset(title.talent).union(*(clips[i].talent for i in per_title[title.index]))
                           for title in titles),
        clip_talent=tuple(frozenset(clip.talent) for clip in clips))


def _by_length(clips: list[Clip], indices: list[int]) -> dict[int, tuple[int, ...]]:
    grouped: dict[int, list[int]] = {}
    for i in indices:
        grouped.setdefault(clips[i].frames, []).append(i)
    return {length: tuple(group) for length, group in grouped.items()}
