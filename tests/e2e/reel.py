"""Small HTTP helpers shared by the real-client tests (plain urllib: the clients under test do the rest)."""
from __future__ import annotations

import urllib.request
from typing import Any

import orjson

from tests.conftest import LiveServer


def fetch(url: str) -> tuple[bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200, f"{url}: HTTP {response.status}"
        return response.read(), dict(response.headers)


def plan_of(server: LiveServer, user: str, query: str = "") -> dict[str, Any]:
    body, _ = fetch(f"{server.base}sizzle/{user}/plan.json" + (f"?{query}" if query else ""))
    plan: dict[str, Any] = orjson.loads(body)
    assert plan["clips"], f"{user}: empty reel"
    return plan


def expected_frames(plan: dict[str, Any]) -> int:
    """What a player must show: every frame of every clip of the reel, once."""
    return sum(int(clip["frames"]) for clip in plan["clips"])
