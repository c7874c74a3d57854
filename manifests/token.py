"""Signed, stateless plan tokens: the variant URL carries the reel itself.

Layout before base64url (no padding): format (1 byte) | key id (1) | catalog version (8) |
flags (varint: bit 0 continuous timeline, the rest bed index + 1, 0 for none) | clip count (varint) |
clip indices (varints) | HMAC-SHA256 over all of that, first 16 bytes. Format 1 (no flags:
discontinuous, no bed) still verifies, so tokens already handed out keep working across an upgrade.
No viewer id goes in, so a CDN can share variant URLs between viewers with the same reel.
"""
from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import Mapping

from manifests.planner import Plan

FORMAT = 2
FORMATS = (1, 2)
MAC_BYTES = 16
MAX_CLIPS = 256


class TokenError(ValueError):
    """The token is malformed, signed with an unknown key, or altered."""


def _varint(value: int, out: bytearray) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift < 35:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise TokenError("truncated varint")


@dataclass(frozen=True, slots=True)
class Signer:
    keys: Mapping[int, bytes]  # key id (0-255) -> secret; all of them verify
    active: int  # the key id new tokens are signed with

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise ValueError(f"active key id {self.active} has no key")
        if any(not 0 <= kid <= 255 or len(key) < 16 for kid, key in self.keys.items()):
            raise ValueError("key ids are 0-255 and keys at least 16 bytes")

    def _mac(self, kid: int, body: bytes) -> bytes:
        return hmac.digest(self.keys[kid], body, "sha256")[:MAC_BYTES]

    def sign(self, plan: Plan) -> str:
        body = bytearray((FORMAT, self.active))
        body += bytes.fromhex(plan.catalog_version)[:8].ljust(8, b"\0")
        _varint(int(plan.continuous) | (0 if plan.bed is None else plan.bed + 1) << 1, body)
        _varint(len(plan.clips), body)
        for clip in plan.clips:
            _varint(clip, body)
        body += self._mac(self.active, bytes(body))
        return base64.urlsafe_b64encode(body).rstrip(b"=").decode("ascii")

    def verify(self, token: str) -> Plan:
        """Return the plan a token carries (catalog version as 16 hex chars) or raise TokenError."""
        if not 16 <= len(token) <= 2048:
            raise TokenError("bad length")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise TokenError("not base64url") from None
        if len(raw) < 2 + 8 + 1 + MAC_BYTES or raw[0] not in FORMATS:
            raise TokenError("unknown format")
        kid = raw[1]
        if kid not in self.keys:
            raise TokenError("unknown key id")
        body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
        if not hmac.compare_digest(self._mac(kid, body), mac):
            raise TokenError("bad signature")
        flags, pos = (0, 10) if raw[0] == 1 else _read_varint(body, 10)
        count, pos = _read_varint(body, pos)
        if count > MAX_CLIPS:
            raise TokenError("too many clips")
        clips = []
        for _ in range(count):
            clip, pos = _read_varint(body, pos)
            clips.append(clip)
        if pos != len(body):
            raise TokenError("trailing bytes")
        bed = (flags >> 1) - 1
        return Plan(body[2:10].hex(), tuple(clips), bool(flags & 1), bed if bed >= 0 else None)
