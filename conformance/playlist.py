"""A small, strict M3U8 reader (pure): keeps what the rules need, including repeated tags, which a
forgiving parser would hide."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


class PlaylistError(ValueError):
    """Not an M3U8 playlist at all (no #EXTM3U, unreadable lines)."""


def parse_attributes(text: str) -> dict[str, str]:
    """EXT-X attribute list -> {NAME: value}, quotes removed."""
    return {name: value[1:-1] if value.startswith('"') else value
            for name, value in _ATTRIBUTE.findall(text)}


@dataclass(frozen=True, slots=True)
class Variant:
    uri: str
    attributes: dict[str, str]


@dataclass(slots=True)
class Master:
    tags: list[str] = field(default_factory=list)  # every tag name, in order (repeats kept)
    variants: list[Variant] = field(default_factory=list)
    media: list[dict[str, str]] = field(default_factory=list)  # EXT-X-MEDIA attribute lists

    @property
    def independent_segments(self) -> bool:
        return "EXT-X-INDEPENDENT-SEGMENTS" in self.tags


@dataclass(frozen=True, slots=True)
class Segment:
    uri: str
    duration: float
    duration_text: str
    discontinuity: bool  # EXT-X-DISCONTINUITY before this segment
    map_uri: str | None  # the EXT-X-MAP in force
    byterange: str | None


@dataclass(slots=True)
class Media:
    tags: list[tuple[str, str]] = field(default_factory=list)  # (name, value) in order
    segments: list[Segment] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        return [value for tag, value in self.tags if tag == name]

    @property
    def endlist(self) -> bool:
        return bool(self.values("EXT-X-ENDLIST"))


def _lines(text: str) -> list[str]:
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines or lines[0] != "#EXTM3U":
        raise PlaylistError("does not start with #EXTM3U")
    return lines[1:]


def _tag(line: str) -> tuple[str, str]:
    name, _, value = line[1:].partition(":")
    return name, value


def is_master(text: str) -> bool:
    return "#EXT-X-STREAM-INF" in text


def parse_master(text: str) -> Master:
    master = Master()
    pending: dict[str, str] | None = None
    for line in _lines(text):
        if line.startswith("#EXT"):
            name, value = _tag(line)
            master.tags.append(name)
            if name == "EXT-X-STREAM-INF":
                pending = parse_attributes(value)
            elif name == "EXT-X-MEDIA":
                master.media.append(parse_attributes(value))
        elif line.startswith("#"):
            continue
        elif pending is not None:
            master.variants.append(Variant(line, pending))
            pending = None
    return master


def parse_media(text: str) -> Media:
    media = Media()
    duration: tuple[float, str] | None = None
    discontinuity = False
    map_uri: str | None = None
    byterange: str | None = None
    for line in _lines(text):
        if line.startswith("#EXT"):
            name, value = _tag(line)
            media.tags.append((name, value))
            if name == "EXTINF":
                text_value = value.split(",", 1)[0].strip()
                try:
                    duration = (float(text_value), text_value)
                except ValueError:
                    duration = (float("nan"), text_value)
            elif name == "EXT-X-DISCONTINUITY":
                discontinuity = True
            elif name == "EXT-X-MAP":
                map_uri = parse_attributes(value).get("URI")
            elif name == "EXT-X-BYTERANGE":
                byterange = value
        elif line.startswith("#"):
            continue
        else:
            seconds, raw = duration if duration is not None else (float("nan"), "")
            media.segments.append(Segment(line, seconds, raw, discontinuity, map_uri, byterange))
            duration, discontinuity, byterange = None, False, None
    return media
