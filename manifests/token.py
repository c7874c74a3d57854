"""Signed, stateless plan tokens: the variant URL carries the reel itself.

Layout before base64url (no padding): format (1 byte) | key id (1) | catalog version (8) |
flags (varint: bit 0 continuous timeline, the rest bed index + 1, 0 for none) | clip count (varint) |
clip indices (varints) | HMAC-SHA256 over all of that, first 16 bytes. Format 1 (no flags:
discontinuous, no bed) still verifies, so tokens already handed out keep working across an upgrade.
No viewer id goes in, so a CDN can share variant URLs between viewers with the same reel.
"""
from __future__ import annotations

import binascii
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Mapping

from manifests.planner import Plan

FORMAT = 2
FORMATS = (1, 2)
MAC_BYTES = 16
MAX_CLIPS = 256
# base64url as base64.urlsafe_b64encode / urlsafe_b64decode do it, without their wrapper layers
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_PADDING = ("", "=", "==", "===")


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


def _pads(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """HMAC-SHA256's two keyed states (RFC 2104), computed once per key: a MAC then costs two
    state copies instead of hmac.digest's key schedule on every call (same bytes out)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in key)), hashlib.sha256(bytes(b ^ 0x5C for b in key)))


@dataclass(frozen=True, slots=True)
class Signer:
    keys: Mapping[int, bytes]  # key id (0-255) -> secret; all of them verify
    active: int  # the key id new tokens are signed with
    # derived in __post_init__: per key id, HMAC-SHA256's inner and outer states
    _states: dict[int, tuple[hashlib._Hash, hashlib._Hash]] = field(
        init=False, repr=False, compare=False, default_factory=dict)
    # catalog version -> the 8 bytes a token carries (versions are few; see _version)
    _versions: dict[str, bytes] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise ValueError(f"active key id {self.active} has no key")
        if any(not 0 <= kid <= 255 or len(key) < 16 for kid, key in self.keys.items()):
            raise ValueError("key ids are 0-255 and keys at least 16 bytes")
        self._states.update((kid, _pads(key)) for kid, key in self.keys.items())

    def _mac(self, kid: int, body: bytes | bytearray) -> bytes:
        """First MAC_BYTES of HMAC-SHA256(keys[kid], body)."""
        inner_state, outer_state = self._states[kid]
        inner = inner_state.copy()
        inner.update(body)
        outer = outer_state.copy()
        outer.update(inner.digest())
        return outer.digest()[:MAC_BYTES]

    def _version(self, version: str) -> bytes:
        found = self._versions.get(version)
        if found is None:
            found = bytes.fromhex(version)[:8].ljust(8, b"\0")
            if len(self._versions) >= 64:  # a long-lived process sees a handful: never let it grow
                self._versions.clear()
            self._versions[version] = found
        return found

    def sign(self, plan: Plan) -> str:
        body = bytearray((FORMAT, self.active))
        body += self._version(plan.catalog_version)
        clips = plan.clips
        flags = int(plan.continuous) | (0 if plan.bed is None else plan.bed + 1) << 1
        if 0 <= flags < 0x80 and len(clips) < 0x80 and (not clips or (min(clips) >= 0 and max(clips) < 0x80)):
            body.append(flags)  # every varint one byte: the bytes are the values
            body.append(len(clips))
            body += bytes(clips)
        else:
            _varint(flags, body)
            _varint(len(clips), body)
            for clip in clips:
                _varint(clip, body)
        body += self._mac(self.active, body)
        return binascii.b2a_base64(body, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode("ascii")

    def verify(self, token: str) -> Plan:
        """Return the plan a token carries (catalog version as 16 hex chars) or raise TokenError."""
        if not 16 <= len(token) <= 2048:
            raise TokenError("bad length")
        try:  # what base64.urlsafe_b64decode does (non-ASCII: UnicodeEncodeError, a ValueError)
            padded = (token + _PADDING[-len(token) % 4]).encode("ascii")
            raw = binascii.a2b_base64(padded.translate(_FROM_URLSAFE))
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
        rest = body[pos:]
        if len(rest) == count and (not count or max(rest) < 0x80):
            clips = tuple(rest)  # every clip a one-byte varint: the bytes are the values
        else:
            values = []
            for _ in range(count):
                clip, pos = _read_varint(body, pos)
                values.append(clip)
            if pos != len(body):
                raise TokenError("trailing bytes")
            clips = tuple(values)
        bed = (flags >> 1) - 1
        return Plan(body[2:10].hex(), clips, bool(flags & 1), bed if bed >= 0 else None)
