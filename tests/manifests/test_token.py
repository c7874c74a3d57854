from __future__ import annotations

import base64

import pytest

from manifests.planner import Plan
from manifests.token import Signer, TokenError

KEY_A = b"a" * 32
KEY_B = b"b" * 32
PLAN = Plan("0123456789abcdef", (0, 5, 300, 17, 129, 20000))


def test_round_trip():
    signer = Signer({1: KEY_A}, 1)
    assert signer.verify(signer.sign(PLAN)) == PLAN


def test_token_carries_no_viewer_and_is_url_safe():
    token = Signer({1: KEY_A}, 1).sign(PLAN)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_every_single_byte_change_is_rejected():
    signer = Signer({1: KEY_A}, 1)
    raw = bytearray(base64.urlsafe_b64decode(signer.sign(PLAN) + "=="))
    for i in range(len(raw)):
        forged = bytearray(raw)
        forged[i] ^= 0x01
        token = base64.urlsafe_b64encode(bytes(forged)).rstrip(b"=").decode()
        with pytest.raises(TokenError):
            signer.verify(token)


def test_other_key_and_garbage_are_rejected():
    token = Signer({1: KEY_A}, 1).sign(PLAN)
    with pytest.raises(TokenError):
        Signer({1: KEY_B}, 1).verify(token)
    with pytest.raises(TokenError):
        Signer({2: KEY_A}, 2).verify(token)  # unknown key id
    for garbage in ["", "x", "!!!!!!!!!!!!!!!!!!!!", "A" * 40, token[:-3], token + "AAAA"]:
        with pytest.raises(TokenError):
            Signer({1: KEY_A}, 1).verify(garbage)


def test_rotation_old_key_still_verifies():
    old = Signer({1: KEY_A}, 1).sign(PLAN)
    rotated = Signer({2: KEY_B, 1: KEY_A}, 2)
    assert rotated.verify(old) == PLAN
    assert rotated.verify(rotated.sign(PLAN)) == PLAN


@pytest.mark.parametrize(("continuous", "bed"), [(False, None), (True, None), (True, 0), (True, 300)])
def test_timeline_and_bed_round_trip(continuous, bed):
    signer = Signer({1: b"x" * 32}, 1)
    plan = Plan("0123456789abcdef", (4, 200, 9), continuous, bed)
    assert signer.verify(signer.sign(plan)) == plan


def test_format_1_tokens_still_verify_as_discontinuous():
    """Tokens handed out before timelines existed (no flags field) keep working."""
    import hmac

    key = b"x" * 32
    body = bytes([1, 1]) + bytes.fromhex("0123456789abcdef") + bytes([2, 4, 9])
    raw = body + hmac.digest(key, body, "sha256")[:16]
    token = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert Signer({1: key}, 1).verify(token) == Plan("0123456789abcdef", (4, 9), False, None)
