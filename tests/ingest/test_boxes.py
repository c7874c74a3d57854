"""The pure ISO-BMFF reader, on hand-built boxes."""
from __future__ import annotations

import struct

import pytest

from ingest import boxes


def box(kind: str, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind.encode()) + payload


def full(kind: str, version: int, flags: int, payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def test_iter_boxes_and_large_size() -> None:
    large = struct.pack(">I4sQ", 1, b"mdat", 16 + 3) + b"abc"
    data = box("ftyp", b"isom") + large + box("free", b"")
    found = list(boxes.iter_boxes(data))
    assert [(b.type, b.offset, b.size, b.header) for b in found] == [
        ("ftyp", 0, 12, 8), ("mdat", 12, 19, 16), ("free", 31, 8, 8)]


def test_truncated_box_is_an_error() -> None:
    with pytest.raises(boxes.BoxError):
        list(boxes.iter_boxes(box("moov", b"12345678")[:-2]))


def test_tfdt_versions_and_patch() -> None:
    v0 = full("tfdt", 0, 0, struct.pack(">I", 1234))
    v1 = full("tfdt", 1, 0, struct.pack(">Q", 1 << 40))
    moof = box("moof", box("traf", v0) + box("traf", v1))
    tfdts = list(boxes.find_all(moof, None, "moof/traf/tfdt"))
    assert [boxes.read_tfdt(moof, b) for b in tfdts] == [(0, 1234), (1, 1 << 40)]
    patched = bytearray(moof)
    boxes.set_tfdt(patched, tfdts[1], 99)
    assert boxes.read_tfdt(patched, tfdts[1]) == (1, 99)
    with pytest.raises(boxes.BoxError):
        boxes.set_tfdt(patched, tfdts[0], 1 << 33)


def test_trun_with_tfhd_default_duration() -> None:
    tfhd = full("tfhd", 0, 0x020008 | 0x20, struct.pack(">III", 1, 512, 0x01010000))
    # data-offset + first-sample-flags + per-sample sizes, no per-sample durations
    trun = full("trun", 1, 0x000205, struct.pack(">IiI", 3, 100, 0x02000000)
                + struct.pack(">III", 10, 20, 30))
    traf = box("traf", tfhd + trun)
    parsed_tfhd = boxes.read_tfhd(traf, boxes.find(traf, None, "traf/tfhd"))  # type: ignore[arg-type]
    assert (parsed_tfhd.track_id, parsed_tfhd.default_sample_duration) == (1, 512)
    assert parsed_tfhd.default_sample_flags == 0x01010000
    run = boxes.read_trun(traf, boxes.find(traf, None, "traf/trun"),  # type: ignore[arg-type]
                          parsed_tfhd.default_sample_duration or 0)
    assert run.sample_count == 3 and run.durations == (512, 512, 512) and run.duration == 1536
    assert run.sizes == (10, 20, 30)
    assert run.first_sample_flags == 0x02000000 and boxes.is_sync_sample(run.first_sample_flags)
    assert not boxes.is_sync_sample(0x01010000)


def test_trun_with_sample_durations() -> None:
    trun = full("trun", 0, 0x000101, struct.pack(">Ii", 2, 0) + struct.pack(">II", 1024, 64))
    run = boxes.read_trun(trun, next(boxes.iter_boxes(trun)), 9)
    assert run.durations == (1024, 64) and run.first_sample_flags is None


def test_trun_shorter_than_its_samples() -> None:
    trun = full("trun", 0, 0x000100, struct.pack(">I", 5) + struct.pack(">I", 1))
    with pytest.raises(boxes.BoxError):
        boxes.read_trun(trun, next(boxes.iter_boxes(trun)))


def test_avcc_inside_sample_entry() -> None:
    avcc = box("avcC", bytes([1, 0x64, 0x00, 0x1F, 0xFF]))
    avc1 = box("avc1", bytes(78) + avcc)
    stsd = full("stsd", 0, 0, struct.pack(">I", 1) + avc1)
    found = boxes.find(stsd, None, "stsd/avc1/avcC")
    assert found is not None
    assert boxes.read_avcc(stsd, found).codec == "avc1.64001f"


def test_esds_aac_lc() -> None:
    # ES_Descriptor(3) > DecoderConfigDescriptor(4, oti 0x40) > DecoderSpecificInfo(5: AAC-LC 48k 2ch)
    dsi = bytes([0x05, 0x02, 0x11, 0x90])
    dcd_body = bytes([0x40, 0x15]) + bytes(3) + struct.pack(">II", 128000, 128000) + dsi
    dcd = bytes([0x04, 0x80, 0x80, 0x80, len(dcd_body)]) + dcd_body
    es_body = struct.pack(">HB", 1, 0) + dcd + bytes([0x06, 0x01, 0x02])
    esds = full("esds", 0, 0, bytes([0x03, len(es_body)]) + es_body)
    found = next(boxes.iter_boxes(esds))
    assert boxes.read_esds_object_type_indication(esds, found) == 0x40
    assert boxes.read_esds_audio_object_type(esds, found) == 2
