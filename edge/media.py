"""Which file a media URL names, and how to serve a segment on a reel's continuous timeline.

A media URL is the package-relative path of an init or segment file, optionally with a decode time
spliced in before the extension (`540p/s00012.t1200.m4s`: segment 12 with its `tfdt` rewritten so
its first frame sits at frame 1200 of the reel; see manifests.render.timed_uri). The rewrite
patches the 8-byte baseMediaDecodeTime of every `traf` (video and audio alike, each in its own
track timescale) and touches nothing else, so the bytes stay the encoder's bytes; the URL names
the (segment, time) pair, so it is immutable and every reel that places that segment at that time
shares one CDN object.

Blocking: `MediaIndex.build` reads init segments and `read_retimed` reads a segment file; run both
off the event loop.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Mapping

from ingest import boxes
from manifests.catalog import Catalog, CatalogError

TIMED = re.compile(r"(?P<stem>.+)\.t(?P<frame>\d{1,10})\.(?P<ext>[A-Za-z0-9]{1,8})")
MAX_FRAME = 10**10 - 1


@dataclass(frozen=True, slots=True)
class Item:
    path: Path
    content_type: str
    segment: int | None = None  # catalog segment index, for a video/audio segment
    timescales: Mapping[int, int] | None = None  # track id -> timescale, where retiming applies


def _template_pattern(template: str) -> re.Pattern[str]:
    """`540p/s{index:05d}.m4s` -> a regex with one (\\d+) group for the index."""
    parts = re.split(r"\{index(?::[^}]*)?\}", template)
    if len(parts) != 2:
        raise CatalogError(f"segment template {template!r}: want exactly one {{index}} field")
    return re.compile(re.escape(parts[0]) + r"(\d{1,9})" + re.escape(parts[1]))


@dataclass(frozen=True, slots=True)
class _Family:
    """One set of files named by a template: a rendition's segments or a bed's (fade) segments."""
    pattern: re.Pattern[str]
    template: str
    count: int
    content_type: str
    timescales: Mapping[int, int] | None  # None: never retimed (bed segments are already timed)
    is_catalog_segment: bool


def read_timescales(path: Path) -> dict[int, int]:
    """Track id -> timescale from an fMP4 initialisation segment (ftyp + moov)."""
    try:
        data = path.read_bytes()
        moov = boxes.find(data, None, "moov")
        if moov is None:
            raise boxes.BoxError("no moov box")
        tracks = boxes.read_tracks(data, moov)
    except (OSError, boxes.BoxError, IndexError) as exc:
        raise CatalogError(f"{path}: unreadable initialisation segment ({exc})") from None
    if not tracks or any(t.timescale <= 0 for t in tracks.values()):
        raise CatalogError(f"{path}: initialisation segment has no usable tracks")
    return {t.id: t.timescale for t in tracks.values()}


@dataclass(frozen=True, slots=True)
class MediaIndex:
    root: Path
    frame_rate: Fraction
    start_frames: tuple[int, ...]  # per catalog segment
    exact: Mapping[str, Item]  # init files and listed (third-party) segment paths
    families: tuple[_Family, ...]

    @staticmethod
    def build(catalog: Catalog, root: Path) -> MediaIndex:
        exact: dict[str, Item] = {}
        families: list[_Family] = []
        count = len(catalog.segments)
        for rendition in catalog.renditions + catalog.audio:
            ts = rendition.container == "ts"
            content_type = "video/mp2t" if ts else ("audio/mp4" if rendition.kind == "audio" else "video/mp4")
            timescales = None
            if rendition.init is not None:
                init = root / rendition.init
                if not init.is_file():
                    raise CatalogError(f"rendition {rendition.id}: missing {rendition.init}")
                if not ts:
                    timescales = read_timescales(init)
                exact[rendition.init] = Item(init, content_type)
            if rendition.segment_uris is not None:
                for n, uri in enumerate(rendition.segment_uris):
                    exact[uri] = Item(root / uri, content_type, n, timescales)
            else:
                template = rendition.segment_template
                families.append(_Family(_template_pattern(template), template, count, content_type,
                                        timescales, True))
        for bed in catalog.beds:
            if not (root / bed.init).is_file():
                raise CatalogError(f"music bed {bed.id}: missing {bed.init}")
            exact[bed.init] = Item(root / bed.init, "audio/mp4")
            for template in (bed.segment_template, bed.fade_template):
                families.append(_Family(_template_pattern(template), template, len(bed.durations),
                                        "audio/mp4", None, False))
        return MediaIndex(root, catalog.frame_rate, tuple(s.start_frame for s in catalog.segments),
                          exact, tuple(families))

    def lookup(self, relative: str) -> Item | None:
        """The file a package-relative media path names (without a decode time), or None."""
        item = self.exact.get(relative)
        if item is not None:
            return item
        for family in self.families:
            match = family.pattern.fullmatch(relative)
            if match is None:
                continue
            index = int(match.group(1))
            if index < family.count and family.template.format(index=index) == relative:
                segment = index if family.is_catalog_segment else None
                return Item(self.root / relative, family.content_type, segment, family.timescales)
        return None

    def deltas(self, item: Item, frame: int) -> dict[int, int]:
        """Per track: ticks to add to the segment's tfdt so its first frame lands on reel `frame`."""
        assert item.segment is not None and item.timescales is not None
        shift = Fraction(frame - self.start_frames[item.segment]) / self.frame_rate
        return {track: round(shift * timescale) for track, timescale in item.timescales.items()}


class RetimeError(ValueError):
    """The segment file is not the fragmented MP4 its catalog promised."""


def retime(data: bytearray, deltas: Mapping[int, int]) -> None:
    """Add deltas[track id] to the tfdt of every track fragment of every moof, in place."""
    try:
        for moof in boxes.find_all(data, None, "moof"):
            for traf in boxes.find_all(data, moof, "traf"):
                tfhd = boxes.find(data, traf, "tfhd")
                tfdt = boxes.find(data, traf, "tfdt")
                if tfhd is None or tfdt is None:
                    raise RetimeError("track fragment without tfhd/tfdt")
                track = boxes.read_tfhd(data, tfhd).track_id
                if track not in deltas:
                    raise RetimeError(f"track {track} is not in the initialisation segment")
                _, value = boxes.read_tfdt(data, tfdt)
                boxes.set_tfdt(data, tfdt, max(0, value + deltas[track]))
    except (boxes.BoxError, IndexError) as exc:
        raise RetimeError(str(exc)) from None


def read_retimed(path: Path, deltas: Mapping[int, int]) -> bytearray:
    with path.open("rb") as f:
        data = bytearray(f.read())
    retime(data, deltas)
    return data
