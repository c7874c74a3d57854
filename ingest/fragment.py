"""A small, pure CMAF fragment writer: one track's samples -> `moof` + `mdat` bytes.

The counterpart of `boxes.py` for the audio-only renditions FFmpeg's muxer cannot cut where the
AAC frame grid says (`grid.py`): `mfhd` with a sequence number, one `traf` with `tfhd`
(default-base-is-moof, so the fragment stands alone in its own file), `tfdt` version 1 (64-bit
decode time) and one `trun` carrying the data offset and every sample's duration and size. The
samples' flags come from the init segment's `trex` (FFmpeg writes 0: every sample is a sync sample,
right for AAC). The header (`ftyp` + `moov`) comes from FFmpeg (`aac.AacEncoder.init_segment`).
"""
from __future__ import annotations

import struct
from collections.abc import Sequence

_DEFAULT_BASE_IS_MOOF = 0x020000
_TRUN_FLAGS = 0x000001 | 0x000100 | 0x000200  # data-offset, sample-duration, sample-size


def box(kind: str, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind.encode("latin-1")) + body


def full_box(kind: str, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def fragment(track_id: int, sequence: int, decode_time: int,
             samples: Sequence[tuple[int, bytes]]) -> bytes:
    """moof + mdat for `samples` = [(duration in track timescale ticks, sample bytes)], in order."""
    if not samples:
        raise ValueError("a fragment needs at least one sample")
    entries = b"".join(struct.pack(">II", duration, len(data)) for duration, data in samples)
    payload = b"".join(data for _, data in samples)

    def moof(data_offset: int) -> bytes:
        trun = full_box("trun", 0, _TRUN_FLAGS, struct.pack(">Ii", len(samples), data_offset),
                        entries)
        traf = box("traf", full_box("tfhd", 0, _DEFAULT_BASE_IS_MOOF, struct.pack(">I", track_id)),
                   full_box("tfdt", 1, 0, struct.pack(">Q", decode_time)), trun)
        return box("moof", full_box("mfhd", 0, 0, struct.pack(">I", sequence)), traf)

    size = len(moof(0))  # the offset field has a fixed width: measure once, then fill it in
    mdat_header = 8 if 8 + len(payload) < 1 << 32 else 16
    head = moof(size + mdat_header)
    if mdat_header == 8:
        return head + struct.pack(">I4s", 8 + len(payload), b"mdat") + payload
    return head + struct.pack(">I4sQ", 1, b"mdat", 16 + len(payload)) + payload
