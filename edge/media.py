"""Which file a media URL names, and how to serve a segment on a reel's continuous timeline.

A media URL is the package-relative path of an init or segment file, optionally with a decode time
spliced in before the extension (`540p/s00012.t1200.m4s`: segment 12 with its `tfdt` rewritten so
its first frame sits at frame 1200 of the reel; see manifests.render.timed_uri). The rewrite
patches the 8-byte baseMediaDecodeTime of every `traf` (video and audio alike, each in its own
track timescale) and touches nothing else, so the bytes stay the encoder's bytes; the URL names
the (segment, time) pair, so it is immutable and every reel that places that segment at that time
shares one CDN object.

Audio of a demuxed package is moved by the same time, less its clip's lead: in the Mega Asset a
clip's audio starts on the first AAC frame at or after its video (docs/catalog.md), up to one AAC
frame late; each audio segment of a clip is moved back by that lead, so every clip's audio starts
exactly with its video in the reel (the reel itself at 0: players see no hole at the start) and
stays contiguous within the clip; at a cut it gaps or overlaps by less than one AAC frame.

Blocking: `MediaIndex.build` reads init segments and `read_retimed` reads a segment file; run both
off the event loop.
"""
from __future__ import annotations

import os
import re
import struct
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
    audio: bool = False  # a demuxed audio rendition's segment: moved less its clip's lead


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
    audio: bool = False


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
    leads: tuple[Fraction, ...]  # per catalog segment: its clip's audio lead, seconds (demuxed audio)
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
            audio = rendition.kind == "audio"
            if rendition.segment_uris is not None:
                for n, uri in enumerate(rendition.segment_uris):
                    exact[uri] = Item(root / uri, content_type, n, timescales, audio)
            else:
                template = rendition.segment_template
                families.append(_Family(_template_pattern(template), template, count, content_type,
                                        timescales, True, audio))
        for bed in catalog.beds:
            if not (root / bed.init).is_file():
                raise CatalogError(f"music bed {bed.id}: missing {bed.init}")
            exact[bed.init] = Item(root / bed.init, "audio/mp4")
            for template in (bed.segment_template, bed.fade_template):
                families.append(_Family(_template_pattern(template), template, len(bed.durations),
                                        "audio/mp4", None, False))
        return MediaIndex(root, catalog.frame_rate, tuple(s.start_frame for s in catalog.segments),
                          audio_leads(catalog), exact, tuple(families))

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
                return Item(self.root / relative, family.content_type, segment, family.timescales,
                            family.audio)
        return None

    def deltas(self, item: Item, frame: int) -> dict[int, int]:
        """Per track: ticks to add to the segment's tfdt so its first frame lands on reel `frame`."""
        assert item.segment is not None and item.timescales is not None
        # round(Fraction(frame - start) / frame_rate * timescale) in integers: half to even
        frames = (frame - self.start_frames[item.segment]) * self.frame_rate.denominator
        rate = self.frame_rate.numerator
        if item.audio:  # less the clip's audio lead (see the module docstring): rare, exact
            shift = Fraction(frames, rate) - self.leads[item.segment]
            return {track: round(shift * timescale) for track, timescale in item.timescales.items()}
        out = {}
        for track, timescale in item.timescales.items():
            ticks, rest = divmod(frames * timescale, rate)
            out[track] = ticks + (2 * rest > rate or (2 * rest == rate and ticks & 1))
        return out


def audio_leads(catalog: Catalog, sample_rate: int = 48000,
                frame_samples: int = 1024) -> tuple[Fraction, ...]:
    """Per segment, in seconds: how late its clip's audio starts after its video in the Mega Asset
    (the first AAC frame at or after the clip's first video frame, on one grid from 0); 0 for
    segments of no clip, and for packages without demuxed audio."""
    leads = [Fraction(0)] * len(catalog.segments)
    if not catalog.audio:
        return tuple(leads)
    for clip in catalog.clips:
        start = Fraction(catalog.segments[clip.segments[0]].start_frame) / catalog.frame_rate
        first = -(-start * sample_rate // frame_samples) * frame_samples  # ceil to the AAC grid
        lead = Fraction(first, sample_rate) - start
        for n in clip.segments:
            leads[n] = lead
    return tuple(leads)


class RetimeError(ValueError):
    """The segment file is not the fragmented MP4 its catalog promised."""


_HEAD = struct.Struct(">I4s")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
# smallest tfhd payload per flags & 0x3F: version/flags, track id, then the optional fields
_TFHD_PAYLOAD = tuple(8 + sum(width for flag, width in ((0x01, 8), (0x02, 4), (0x08, 4), (0x10, 4), (0x20, 4))
                              if bits & flag) for bits in range(64))
Patch = tuple[struct.Struct, int, int]  # (field, absolute offset, new value)


def _children(data: bytearray, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload offset, payload end) of the boxes tiling data[start:end] (a size of 0 runs to
    the end, as ISO-BMFF allows); RetimeError on anything truncated or overrunning."""
    found = []
    pos = start
    while pos < end:
        if end - pos < 8:
            raise RetimeError(f"truncated box header at offset {pos}")
        size, kind = _HEAD.unpack_from(data, pos)
        header = 8
        if size == 1:
            if end - pos < 16:
                raise RetimeError(f"truncated 64-bit box header at offset {pos}")
            size = _U64.unpack_from(data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or size > end - pos:
            raise RetimeError(f"box {kind!r} at offset {pos} has bad size {size}")
        found.append((kind, pos + header, pos + size))
        pos += size
    return found


def retime(data: bytearray, deltas: Mapping[int, int]) -> None:
    """Add deltas[track id] to the tfdt of every track fragment of every moof, in place. A direct
    walk of the moof/traf headers (no generic box objects: this runs per request) that finds and
    checks every field before it writes any, so a RetimeError leaves `data` as it was."""
    patches: list[Patch] = []
    for kind, payload, end in _children(data, 0, len(data)):
        if kind != b"moof":
            continue
        for child, start, stop in _children(data, payload, end):
            if child != b"traf":
                continue
            tfhd = tfdt = None
            for box in _children(data, start, stop):  # the first of each
                if box[0] == b"tfhd" and tfhd is None:
                    tfhd = box
                elif box[0] == b"tfdt" and tfdt is None:
                    tfdt = box
            if tfhd is None or tfdt is None:
                raise RetimeError("track fragment without tfhd/tfdt")
            _, at, limit = tfhd
            if limit - at < 8 or limit - at < _TFHD_PAYLOAD[data[at + 3] & 0x3F]:
                raise RetimeError(f"tfhd at offset {at} is shorter than its flags say")
            track = _U32.unpack_from(data, at + 4)[0]
            delta = deltas.get(track)
            if delta is None:
                raise RetimeError(f"track {track} is not in the initialisation segment")
            _, at, limit = tfdt
            field = _U64 if limit - at >= 1 and data[at] == 1 else _U32
            if limit - at < 4 + field.size:
                raise RetimeError(f"tfdt at offset {at} is too short")
            value = max(0, field.unpack_from(data, at + 4)[0] + delta)
            if field is _U32 and value >= 1 << 32:
                raise RetimeError(f"tfdt version 0 cannot hold {value}")
            patches.append((field, at + 4, value))
    for field, offset, value in patches:
        field.pack_into(data, offset, value)


def read_file(path: Path) -> bytearray:
    """The whole file, read straight into the bytearray that will be patched and sent (one copy
    out of the page cache, no intermediate bytes object)."""
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        data = bytearray(size)
        filled = 0
        with memoryview(data) as view:
            while filled < size:
                got = f.readinto(view[filled:])
                if not got:
                    break
                filled += got
        if filled < size:  # shrank since fstat
            del data[filled:]
        elif f.read(1):  # grew since fstat (for an immutable file: one empty read at its end)
            f.seek(size)
            data += f.read()
    return data


def read_retimed(path: Path, deltas: Mapping[int, int]) -> bytearray:
    data = read_file(path)
    retime(data, deltas)
    return data
