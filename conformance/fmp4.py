"""What the rules need from fMP4 bytes (pure, reusing ingest.boxes): the init segment's tracks,
codecs and audio channels, and a media segment's decode times, durations and first video sample.
A segment may be only its first bytes (a Range request): everything up to the first sample is
enough. Works for muxed, video-only and audio-only (demuxed rendition, music bed) segments."""
from __future__ import annotations

import struct
from dataclasses import dataclass

from ingest import boxes

_HEAD = struct.Struct(">I4s")


TrackInfo = boxes.Track


@dataclass(frozen=True, slots=True)
class InitInfo:
    tracks: dict[int, TrackInfo]
    codecs: tuple[str, ...]  # RFC 6381, in track order
    width: int
    height: int
    nal_length_size: int
    channels: int = 0  # of the first mp4a sample entry (0: no audio track)

    @property
    def video(self) -> TrackInfo | None:
        return next((t for t in self.tracks.values() if t.handler == "vide"), None)

    @property
    def audio(self) -> TrackInfo | None:
        return next((t for t in self.tracks.values() if t.handler == "soun"), None)

    @property
    def primary(self) -> TrackInfo | None:
        """The track whose timeline the playlist follows: video, else audio (an audio playlist)."""
        return self.video or self.audio


@dataclass(frozen=True, slots=True)
class TrackRun:
    tfdt: int | None  # baseMediaDecodeTime, track timescale ticks
    tfdt_version: int | None
    samples: int
    duration: int  # timescale ticks
    first_sync: bool | None
    data_offset: int | None  # absolute offset in the segment of the first sample


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    tracks: dict[int, TrackRun]
    first_nal_types: tuple[int, ...] | None  # of the first video sample; None when not in the bytes


class Fmp4Error(ValueError):
    pass


def parse_init(data: bytes) -> InitInfo:
    try:
        moov = boxes.find(data, None, "moov")
        if moov is None:
            raise Fmp4Error("init segment has no moov")
        tracks = boxes.read_tracks(data, moov)
        codecs: list[str] = []
        width = height = 0
        nal_length_size = 4
        channels = 0
        for trak in boxes.find_all(data, moov, "trak"):
            avc1 = boxes.find(data, trak, "mdia/minf/stbl/stsd/avc1")
            if avc1 is not None:
                width, height = struct.unpack_from(">HH", data, avc1.payload + 24)
                avcc = boxes.find(data, avc1, "avcC")
                if avcc is None:
                    raise Fmp4Error("avc1 sample entry without avcC")
                codecs.append(boxes.read_avcc(data, avcc).codec)
                nal_length_size = (data[avcc.payload + 4] & 3) + 1
            mp4a = boxes.find(data, trak, "mdia/minf/stbl/stsd/mp4a")
            esds = boxes.find(data, mp4a, "esds") if mp4a is not None else None
            if mp4a is not None and not channels:
                channels = struct.unpack_from(">H", data, mp4a.payload + 16)[0]
            if esds is not None:
                oti = boxes.read_esds_object_type_indication(data, esds)
                codecs.append(f"mp4a.{oti:02x}.{boxes.read_esds_audio_object_type(data, esds)}")
    except (boxes.BoxError, struct.error, IndexError) as exc:
        raise Fmp4Error(f"init segment: {exc}") from None
    return InitInfo(tracks, tuple(codecs), width, height, nal_length_size, channels)


def moof_end(data: bytes) -> int | None:
    """Where the first moof ends, or None when the bytes do not reach a moof header yet."""
    pos = 0
    while pos + 8 <= len(data):
        size, kind = _HEAD.unpack_from(data, pos)
        size = int(size)
        if size == 1 and pos + 16 <= len(data):
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        if size < 8:
            return None
        if kind == b"moof":
            return pos + size
        pos += size
    return None


def parse_segment(data: bytes, init: InitInfo) -> SegmentInfo:
    """Decode times and sample runs of the first moof; `data` may stop anywhere after it."""
    end = moof_end(data)
    if end is None or end > len(data):
        raise Fmp4Error("no complete moof in the bytes")
    try:
        moof = next(b for b in boxes.iter_boxes(data, 0, end) if b.type == "moof")
        tracks: dict[int, TrackRun] = {}
        for traf in boxes.find_all(data, moof, "traf"):
            tfhd_box = boxes.find(data, traf, "tfhd")
            if tfhd_box is None:
                raise Fmp4Error("traf without tfhd")
            tfhd = boxes.read_tfhd(data, tfhd_box)
            track = init.tracks.get(tfhd.track_id)
            default_duration = tfhd.default_sample_duration or (track.default_duration if track else 0)
            default_flags = tfhd.default_sample_flags
            if default_flags is None:
                default_flags = track.default_flags if track else 0
            tfdt_box = boxes.find(data, traf, "tfdt")
            version = value = None
            if tfdt_box is not None:
                version, value = boxes.read_tfdt(data, tfdt_box)
            tfhd_flags = int.from_bytes(data[tfhd_box.payload + 1:tfhd_box.payload + 4], "big")
            base = moof.offset
            if tfhd_flags & 0x01:
                base = int.from_bytes(data[tfhd_box.payload + 8:tfhd_box.payload + 16], "big")
            samples = duration = 0
            first_sync: bool | None = None
            data_offset: int | None = None
            for trun_box in boxes.find_all(data, traf, "trun"):
                trun = boxes.read_trun(data, trun_box, default_duration)
                trun_flags = int.from_bytes(data[trun_box.payload + 1:trun_box.payload + 4], "big")
                if samples == 0 and trun.sample_count:
                    flags = trun.first_sample_flags if trun.first_sample_flags is not None else default_flags
                    first_sync = boxes.is_sync_sample(flags)
                    if trun_flags & 0x01:
                        data_offset = base + struct.unpack_from(">i", data, trun_box.payload + 8)[0]
                samples += trun.sample_count
                duration += trun.duration
            tracks[tfhd.track_id] = TrackRun(value, version, samples, duration, first_sync, data_offset)
    except (boxes.BoxError, struct.error, StopIteration) as exc:
        raise Fmp4Error(f"segment: {exc}") from None
    nal_types: tuple[int, ...] | None = None
    video = init.video
    run = tracks.get(video.id) if video else None
    if run is not None and run.data_offset is not None:
        nal_types = _nal_types(data, run.data_offset, init.nal_length_size)
    return SegmentInfo(tracks, nal_types)


def _nal_types(data: bytes, start: int, size: int, limit: int = 8) -> tuple[int, ...] | None:
    """NAL unit types at the start of a length-prefixed H.264 sample (None: bytes too short)."""
    types: list[int] = []
    pos = start
    while len(types) < limit:
        if pos + size + 1 > len(data):
            return tuple(types) if types else None
        length = int.from_bytes(data[pos:pos + size], "big")
        types.append(data[pos + size] & 0x1F)
        if length == 0 or types[-1] == 5:
            break
        pos += size + length
    return tuple(types)
