"""Typed keys for state stored on the aiohttp application."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from edge.profiles import MemoryProfiles, ProfileStore
from edge.settings import Settings
from edge.state import Loaded


@dataclass(frozen=True, slots=True)
class _Keys:
    settings: web.AppKey[Settings]
    loaded: web.AppKey[Loaded]
    profiles: web.AppKey[ProfileStore | MemoryProfiles]


ALL = _Keys(
    settings=web.AppKey("settings", Settings),
    loaded=web.AppKey("loaded", Loaded),
    profiles=web.AppKey("profiles", object),  # type: ignore[arg-type]
)
