"""Viewer profiles: who likes which titles. The store is a Protocol so a fleet backend can swap in."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import orjson


class ProfileError(ValueError):
    """The profiles file is broken; the message names the line."""


@dataclass(frozen=True, slots=True)
class Profile:
    user: str
    titles: tuple[str, ...]  # best first
    talent: tuple[str, ...] = ()


class ProfileStore(Protocol):
    async def get(self, user: str) -> Profile | None: ...


class MemoryProfiles:
    """Profiles held in memory, e.g. loaded from a JSON Lines file."""

    def __init__(self, profiles: dict[str, Profile]) -> None:
        self._profiles = profiles

    async def get(self, user: str) -> Profile | None:
        return self._profiles.get(user)

    def users(self) -> list[str]:
        return list(self._profiles)

    def replace(self, profiles: dict[str, Profile]) -> None:
        """Swap in a freshly loaded set (one assignment: requests see the old or the new set)."""
        self._profiles = profiles


def parse_profile(obj: object, where: str) -> Profile:
    """One profile object: {"user": str, "titles": [ids, best first], "talent": [optional]}."""
    if not isinstance(obj, dict) or not isinstance(obj.get("user"), str):
        raise ProfileError(f"{where}: want an object with a string 'user'")
    titles = obj.get("titles", [])
    talent = obj.get("talent", [])
    if not isinstance(titles, list) or not all(isinstance(t, str) for t in titles):
        raise ProfileError(f"{where}: 'titles' must be a list of strings")
    if not isinstance(talent, list) or not all(isinstance(t, str) for t in talent):
        raise ProfileError(f"{where}: 'talent' must be a list of strings")
    return Profile(obj["user"], tuple(titles), tuple(talent))


def parse_profiles(data: bytes, name: str = "profiles") -> dict[str, Profile]:
    """One JSON object per line: {"user": str, "titles": [ids, best first], "talent": [optional]}."""
    profiles: dict[str, Profile] = {}
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise ProfileError(f"{name}:{number}: not JSON") from None
        profile = parse_profile(obj, f"{name}:{number}")
        profiles[profile.user] = profile
    return profiles


def load_profiles(path: Path) -> MemoryProfiles:
    return MemoryProfiles(parse_profiles(path.read_bytes(), path.name))
