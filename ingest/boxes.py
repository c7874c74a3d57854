"""A small, pure ISO-BMFF (MP4) box reader: bytes-like in, no I/O, no copies.

Enough for CMAF work: walk top-level and nested boxes, read `tfdt` (v0/v1), `tfhd` defaults,
`trun` sample counts and durations, `mdhd` timescale, `tkhd` track id, `hdlr` type, `trex`
defaults, `avcC` profile/compat/level and the audio object type in `esds`. `tfdt_value_offset`
says where the decode time lives so a caller can patch it in place (`set_tfdt`).

Every function takes any buffer that `struct.unpack_from` accepts (bytes, bytearray, memoryview,
mmap) and absolute offsets into it; a `Box` is just a typed window into that buffer.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Union

Buffer = Union[bytes, bytearray, memoryview]  # noqa: UP007 (a runtime alias that works on 3.11)

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_HEAD = struct.Struct(">I4s")

# Boxes whose payload is only child boxes.
CONTAINERS = frozenset({
    "moov", "trak", "mdia", "minf", "stbl", "mvex", "moof", "traf", "edts", "dinf", "udta",
    "mfra", "sinf", "schi",
})
# Boxes whose children start after a fixed-size preamble (payload bytes to skip).
_PREAMBLE = {
    "stsd": 8,  # version/flags + entry_count
    "avc1": 78, "avc3": 78, "hvc1": 78, "hev1": 78, "encv": 78,  # VisualSampleEntry
    "mp4a": 28, "enca": 28,  # AudioSampleEntry (version 0)
}


class BoxError(ValueError):
    """Malformed or truncated box structure."""


@dataclass(frozen=True, slots=True)
class Box:
    type: str
    offset: int  # absolute offset of the box header in the buffer
    size: int  # whole box, header included
    header: int  # 8, or 16 with a 64-bit size

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def payload(self) -> int:
        """Absolute offset of the first byte after the header."""
        return self.offset + self.header


def iter_boxes(buf: Buffer, start: int = 0, end: int | None = None) -> Iterator[Box]:
    """Yield the boxes laid end to end in buf[start:end]."""
    view = memoryview(buf)
    stop = len(view) if end is None else end
    pos = start
    while pos < stop:
        if stop - pos < 8:
            raise BoxError(f"truncated box header at offset {pos}")
        size, raw_type = _HEAD.unpack_from(view, pos)
        header = 8
        if size == 1:
            if stop - pos < 16:
                raise BoxError(f"truncated 64-bit box header at offset {pos}")
            size = _U64.unpack_from(view, pos + 8)[0]
            header = 16
        elif size == 0:  # extends to the end of the enclosing space
            size = stop - pos
        if size < header or pos + size > stop:
            raise BoxError(f"box {raw_type!r} at offset {pos} has bad size {size}")
        yield Box(raw_type.decode("latin-1"), pos, size, header)
        pos += size


def children(buf: Buffer, box: Box) -> Iterator[Box]:
    """Yield the child boxes of a container or sample-description box."""
    skip = _PREAMBLE.get(box.type, 0)
    if skip == 0 and box.type not in CONTAINERS:
        return iter(())
    return iter_boxes(buf, box.payload + skip, box.end)


def find(buf: Buffer, parent: Box | None, path: str) -> Box | None:
    """First box at slash-separated `path` below `parent` (None: the top level)."""
    found = find_all(buf, parent, path)
    return next(found, None)


def find_all(buf: Buffer, parent: Box | None, path: str) -> Iterator[Box]:
    """Every box at slash-separated `path` below `parent` (None: the top level), in order."""
    head, _, rest = path.partition("/")
    level = iter_boxes(buf) if parent is None else children(buf, parent)
    for box in level:
        if box.type != head:
            continue
        if rest:
            yield from find_all(buf, box, rest)
        else:
            yield box


def _full_box(buf: Buffer, box: Box) -> tuple[int, int]:
    """(version, flags) of a FullBox."""
    word = _U32.unpack_from(buf, box.payload)[0]
    return word >> 24, word & 0xFFFFFF


def tfdt_value_offset(buf: Buffer, box: Box) -> tuple[int, int]:
    """(absolute offset, byte width 4 or 8) of the baseMediaDecodeTime in a `tfdt`."""
    version, _ = _full_box(buf, box)
    return box.payload + 4, 8 if version == 1 else 4


def read_tfdt(buf: Buffer, box: Box) -> tuple[int, int]:
    """(version, baseMediaDecodeTime) of a `tfdt` box."""
    version, _ = _full_box(buf, box)
    offset, width = tfdt_value_offset(buf, box)
    value = (_U64 if width == 8 else _U32).unpack_from(buf, offset)[0]
    return version, value


def set_tfdt(buf: bytearray | memoryview, box: Box, value: int) -> None:
    """Overwrite a `tfdt` decode time in place (the box keeps its version and size)."""
    offset, width = tfdt_value_offset(buf, box)
    if width == 4 and value >= 1 << 32:
        raise BoxError(f"tfdt version 0 cannot hold {value}")
    (_U64 if width == 8 else _U32).pack_into(buf, offset, value)


@dataclass(frozen=True, slots=True)
class Tfhd:
    track_id: int
    base_data_offset: int | None
    default_sample_duration: int | None
    default_sample_size: int | None
    default_sample_flags: int | None


def read_tfhd(buf: Buffer, box: Box) -> Tfhd:
    _, flags = _full_box(buf, box)
    pos = box.payload + 4
    track_id = _U32.unpack_from(buf, pos)[0]
    pos += 4
    base = None
    if flags & 0x01:  # base-data-offset
        base = _U64.unpack_from(buf, pos)[0]
        pos += 8
    if flags & 0x02:  # sample-description-index
        pos += 4
    duration = size = sample_flags = None
    if flags & 0x08:
        duration = _U32.unpack_from(buf, pos)[0]
        pos += 4
    if flags & 0x10:
        size = _U32.unpack_from(buf, pos)[0]
        pos += 4
    if flags & 0x20:
        sample_flags = _U32.unpack_from(buf, pos)[0]
    return Tfhd(track_id, base, duration, size, sample_flags)


@dataclass(frozen=True, slots=True)
class Trun:
    sample_count: int
    durations: tuple[int, ...]  # one per sample, defaults applied
    sizes: tuple[int, ...]  # one per sample, defaults applied (0 when unknown)
    first_sample_flags: int | None  # first-sample-flags, else the first sample's own flags
    data_offset: int | None = None  # from the trun, relative to the base data offset

    @property
    def duration(self) -> int:
        return sum(self.durations)


def read_trun(buf: Buffer, box: Box, default_duration: int = 0, default_size: int = 0) -> Trun:
    """Sample durations and sizes of a `trun`, falling back to the given tfhd/trex defaults."""
    _, flags = _full_box(buf, box)
    count = _U32.unpack_from(buf, box.payload + 4)[0]
    pos = box.payload + 8
    data_offset = None
    if flags & 0x001:  # data-offset (signed)
        data_offset = struct.unpack_from(">i", buf, pos)[0]
        pos += 4
    first_flags = None
    if flags & 0x004:  # first-sample-flags
        first_flags = _U32.unpack_from(buf, pos)[0]
        pos += 4
    has_duration, has_size = bool(flags & 0x100), bool(flags & 0x200)
    stride = 4 * (has_duration + has_size + bool(flags & 0x400) + bool(flags & 0x800))
    if pos + stride * count > box.end:
        raise BoxError(f"trun at offset {box.offset} is shorter than its {count} samples")
    durations = [default_duration] * count
    sizes = [default_size] * count
    if has_duration or has_size:
        for i in range(count):
            at = pos + i * stride
            if has_duration:
                durations[i] = _U32.unpack_from(buf, at)[0]
                at += 4
            if has_size:
                sizes[i] = _U32.unpack_from(buf, at)[0]
                at += 4
            if i == 0 and first_flags is None and flags & 0x400:
                first_flags = _U32.unpack_from(buf, at)[0]
    elif first_flags is None and flags & 0x400 and count:
        first_flags = _U32.unpack_from(buf, pos)[0]
    return Trun(count, tuple(durations), tuple(sizes), first_flags, data_offset)


def read_mdhd_timescale(buf: Buffer, box: Box) -> int:
    version, _ = _full_box(buf, box)
    return int(_U32.unpack_from(buf, box.payload + (20 if version == 1 else 12))[0])


def read_tkhd_track_id(buf: Buffer, box: Box) -> int:
    version, _ = _full_box(buf, box)
    return int(_U32.unpack_from(buf, box.payload + (20 if version == 1 else 12))[0])


def read_hdlr_type(buf: Buffer, box: Box) -> str:
    return bytes(memoryview(buf)[box.payload + 8:box.payload + 12]).decode("latin-1")


@dataclass(frozen=True, slots=True)
class Trex:
    track_id: int
    default_sample_duration: int
    default_sample_size: int
    default_sample_flags: int


def read_trex(buf: Buffer, box: Box) -> Trex:
    track_id, _desc, duration, size, flags = struct.unpack_from(">5I", buf, box.payload + 4)
    return Trex(track_id, duration, size, flags)


def is_sync_sample(sample_flags: int) -> bool:
    """ISO/IEC 14496-12 sample flags: sample_is_non_sync_sample (bit 16) clear."""
    return not sample_flags & 0x00010000


@dataclass(frozen=True, slots=True)
class AvcConfig:
    profile: int
    compat: int
    level: int
    nal_length_size: int = 4  # bytes before each NAL unit in a sample

    @property
    def codec(self) -> str:
        """RFC 6381 string, e.g. avc1.64001f."""
        return f"avc1.{self.profile:02x}{self.compat:02x}{self.level:02x}"


def read_avcc(buf: Buffer, box: Box) -> AvcConfig:
    """Profile, constraint flags and level from an `avcC` box."""
    if box.size - box.header < 5:
        raise BoxError("avcC too short")
    view = memoryview(buf)
    p = box.payload
    return AvcConfig(view[p + 1], view[p + 2], view[p + 3], (view[p + 4] & 0x03) + 1)


def _descriptor(view: memoryview, pos: int) -> tuple[int, int, int]:
    """(tag, payload offset, payload length) of an MPEG-4 descriptor."""
    tag = view[pos]
    pos += 1
    length = 0
    for _ in range(4):
        byte = view[pos]
        pos += 1
        length = (length << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    return tag, pos, length


def _decoder_config(buf: Buffer, box: Box) -> tuple[memoryview, int, int]:
    """(view, payload offset, payload end) of the DecoderConfigDescriptor inside an `esds`."""
    view = memoryview(buf)
    tag, pos, _ = _descriptor(view, box.payload + 4)
    if tag != 0x03:
        raise BoxError("esds: no ES_Descriptor")
    flags = view[pos + 2]
    pos += 3
    if flags & 0x80:  # streamDependenceFlag
        pos += 2
    if flags & 0x40:  # URL_Flag
        pos += 1 + view[pos]
    if flags & 0x20:  # OCRstreamFlag
        pos += 2
    tag, pos, length = _descriptor(view, pos)
    if tag != 0x04:
        raise BoxError("esds: no DecoderConfigDescriptor")
    return view, pos, pos + length


def read_esds_object_type_indication(buf: Buffer, box: Box) -> int:
    """The objectTypeIndication of an `esds` (0x40 = MPEG-4 audio, the "40" in mp4a.40.2)."""
    view, pos, _ = _decoder_config(buf, box)
    return int(view[pos])


def read_esds_audio_object_type(buf: Buffer, box: Box) -> int:
    """The AudioSpecificConfig object type in an `esds` (2 = AAC-LC, the "2" in mp4a.40.2)."""
    view, pos, end = _decoder_config(buf, box)
    pos += 13  # objectTypeIndication, streamType, bufferSizeDB, maxBitrate, avgBitrate
    while pos < end:
        tag, body, length = _descriptor(view, pos)
        if tag == 0x05 and length >= 1:
            object_type = view[body] >> 3
            if object_type == 31 and length >= 2:
                object_type = 32 + (((view[body] & 0x07) << 3) | (view[body + 1] >> 5))
            return int(object_type)
        pos = body + length
    raise BoxError("esds: no DecoderSpecificInfo")


@dataclass(frozen=True, slots=True)
class Track:
    id: int
    handler: str  # "vide" | "soun"
    timescale: int
    default_duration: int  # from trex
    default_flags: int  # from trex


def read_tracks(buf: Buffer, moov: Box) -> dict[int, Track]:
    """Every trak of a moov by track id, with its trex defaults."""
    trex = {t.track_id: t for t in (read_trex(buf, b) for b in find_all(buf, moov, "mvex/trex"))}
    tracks: dict[int, Track] = {}
    for trak in find_all(buf, moov, "trak"):
        tkhd = find(buf, trak, "tkhd")
        hdlr = find(buf, trak, "mdia/hdlr")
        mdhd = find(buf, trak, "mdia/mdhd")
        if tkhd is None or hdlr is None or mdhd is None:
            raise BoxError("trak without tkhd/hdlr/mdhd")
        track_id = read_tkhd_track_id(buf, tkhd)
        defaults = trex.get(track_id)
        tracks[track_id] = Track(
            track_id, read_hdlr_type(buf, hdlr), read_mdhd_timescale(buf, mdhd),
            defaults.default_sample_duration if defaults else 0,
            defaults.default_sample_flags if defaults else 0)
    return tracks
