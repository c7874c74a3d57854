"""A small, pure MPEG-TS reader for HLS segments: bytes in, no I/O, nothing decoded.

Enough to index a third-party TS package: PAT -> PMT -> the H.264 and AAC PIDs, the PTS of every
video PES (HLS packagers write one access unit per video PES), the type of the first slice NAL of
the first access unit (5 = IDR), the codec string from its SPS, and the AAC object type, sample rate
and channels from the first ADTS header. Packet headers are read with numpy, so a segment costs a
few array operations plus one small step per video frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PACKET = 188
PTS_HZ = 90_000
H264 = 0x1B
AAC = 0x0F
_HARMLESS = frozenset({0x15, 0x86})  # timed ID3 metadata, SCTE-35 cues
_VCL = frozenset(range(1, 6))
_SPS = 7
_ADTS_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000,
               7350)
_FIRST_UNIT_PACKETS = 64  # how far into the first access unit to look for its first slice


class TsError(ValueError):
    """Not MPEG-TS, or not a segment this reader can describe; the message says why."""


@dataclass(frozen=True, slots=True)
class TsSegment:
    pts: tuple[int, ...]  # every video access unit's PTS (90 kHz), in file (decode) order
    first_slice: int | None  # NAL type of the first slice of the first access unit (5 = IDR)
    video_codec: str | None  # "avc1.PPCCLL" from the first access unit's SPS
    audio: tuple[str, int, int] | None  # (codecs, sample rate, channels) of the AAC stream

    @property
    def start(self) -> int:
        return min(self.pts)


def read_segment(data: bytes) -> TsSegment:
    """Describe one TS segment. Raises TsError."""
    try:
        return _read(data)
    except (IndexError, ValueError) as exc:
        if isinstance(exc, TsError):
            raise
        raise TsError(f"malformed MPEG-TS ({exc})") from None


def _read(data: bytes) -> TsSegment:
    if len(data) < PACKET or len(data) % PACKET or data[0] != 0x47:
        raise TsError("not MPEG-TS (188-byte packets starting 0x47)")
    packets = np.frombuffer(data, np.uint8).reshape(-1, PACKET)
    if not (packets[:, 0] == 0x47).all():
        raise TsError("MPEG-TS sync lost")
    pids = ((packets[:, 1].astype(np.int32) & 0x1F) << 8) | packets[:, 2]
    starts = (packets[:, 1] & 0x40) != 0

    def payload(i: int) -> bytes:
        packet = data[i * PACKET:(i + 1) * PACKET]
        control = (packet[3] >> 4) & 3
        if not control & 1:
            return b""
        return packet[5 + packet[4]:] if control & 2 else packet[4:]

    def section(pid: int, table: int) -> bytes:
        for i in np.flatnonzero(starts & (pids == pid))[:1]:
            body = payload(int(i))
            body = body[1 + body[0]:] if body else b""
            if len(body) >= 3 and body[0] == table:
                return body[:3 + (((body[1] & 0x0F) << 8) | body[2])]
        raise TsError(f"no {'PAT' if table == 0 else 'PMT'} at its start")

    pat = section(0, 0)
    programs = [((pat[i] << 8) | pat[i + 1], ((pat[i + 2] & 0x1F) << 8) | pat[i + 3])
                for i in range(8, len(pat) - 4, 4)]
    pmt_pid = next((pid for number, pid in programs if number != 0), None)
    if pmt_pid is None:
        raise TsError("PAT lists no program")
    streams = _pmt_streams(section(pmt_pid, 2))
    video = [pid for pid, kind in streams.items() if kind == H264]
    if len(video) != 1:
        kinds = ", ".join(f"0x{kind:02x}" for kind in streams.values())
        raise TsError(f"want one H.264 video stream, found stream types {kinds or 'none'}")
    others = {kind for pid, kind in streams.items() if pid != video[0]} - _HARMLESS
    if others - {AAC}:
        raise TsError("audio is not AAC (ADTS)")
    heads = np.flatnonzero(starts & (pids == video[0]))
    if not len(heads):
        raise TsError("no video frames")
    pts = tuple(_pes_pts(payload(int(i))) for i in heads)
    # The first access unit: enough of its payload to reach its first slice.
    ours = np.flatnonzero(pids == video[0])
    unit = bytearray()
    first_slice, sps = None, None
    for i in ours[ours >= heads[0]][:_FIRST_UNIT_PACKETS]:
        if i != heads[0] and starts[i]:
            break
        unit += payload(int(i))
        first_slice, sps = _annexb(bytes(unit[9 + unit[8]:]))
        if first_slice is not None:
            break
    codec = f"avc1.{sps[1]:02x}{sps[2]:02x}{sps[3]:02x}" if sps is not None and len(sps) >= 4 else None
    audio = None
    for pid in (pid for pid, kind in streams.items() if kind == AAC):
        for i in np.flatnonzero(starts & (pids == pid))[:1]:
            body = payload(int(i))
            audio = _adts(body[9 + body[8]:] if len(body) > 9 else b"")
        break
    return TsSegment(pts, first_slice, codec, audio)


def _pmt_streams(pmt: bytes) -> dict[int, int]:
    """{elementary PID: stream type} of a PMT section."""
    streams: dict[int, int] = {}
    pos = 12 + (((pmt[10] & 0x0F) << 8) | pmt[11])
    while pos + 5 <= len(pmt) - 4:  # the last 4 bytes are the CRC
        streams[((pmt[pos + 1] & 0x1F) << 8) | pmt[pos + 2]] = pmt[pos]
        pos += 5 + (((pmt[pos + 3] & 0x0F) << 8) | pmt[pos + 4])
    return streams


def _pes_pts(body: bytes) -> int:
    if len(body) < 14 or body[:3] != b"\x00\x00\x01" or not body[7] & 0x80:
        raise TsError("a video PES without a PTS")
    p = body[9:14]
    return ((p[0] >> 1) & 7) << 30 | p[1] << 22 | (p[2] >> 1) << 15 | p[3] << 7 | p[4] >> 1


def _annexb(stream: bytes) -> tuple[int | None, bytes | None]:
    """(type of the first slice NAL or None, the SPS seen before it) in Annex B bytes."""
    sps = None
    pos = stream.find(b"\x00\x00\x01")
    while pos >= 0 and pos + 3 < len(stream):
        kind = stream[pos + 3] & 0x1F
        following = stream.find(b"\x00\x00\x01", pos + 3)
        if kind in _VCL:
            return kind, sps
        if kind == _SPS:
            sps = stream[pos + 3:following if following > 0 else len(stream)]
        pos = following
    return None, sps


def _adts(head: bytes) -> tuple[str, int, int] | None:
    """(codecs, sample rate, channels) from an ADTS header, None when there is none."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xF0 != 0xF0:
        return None
    index = (head[2] >> 2) & 0x0F
    rate = _ADTS_RATES[index] if index < len(_ADTS_RATES) else 0
    return f"mp4a.40.{(head[2] >> 6) + 1}", rate, ((head[2] & 1) << 2) | (head[3] >> 6)
