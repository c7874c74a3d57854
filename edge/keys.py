"""Typed keys for state stored on the aiohttp application."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from edge.catalogs import Catalogs
from edge.metrics import Metrics
from edge.profiles import ProfileStore
from edge.settings import Settings


@dataclass(frozen=True, slots=True)
class _Keys:
    settings: web.AppKey[Settings]
    catalogs: web.AppKey[Catalogs]
    profiles: web.AppKey[ProfileStore]
    metrics: web.AppKey[Metrics]


ALL = _Keys(
    settings=web.AppKey("settings", Settings),
    catalogs=web.AppKey("catalogs", Catalogs),
    profiles=web.AppKey("profiles", object),  # type: ignore[arg-type]
    metrics=web.AppKey("metrics", Metrics),
)
