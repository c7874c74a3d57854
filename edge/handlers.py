"""HTTP handlers: parse the request, call the pure core, answer. Nothing here builds playlists."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

import orjson
from aiohttp import web

from edge.errors import fail
from edge.keys import ALL as KEYS
from edge.profiles import MemoryProfiles
from edge.settings import Settings
from edge.state import REEL_MEMO, Loaded
from manifests.planner import Plan, plan_reel, rank_titles
from manifests.render import plan_document, render_master, render_variant
from manifests.token import TokenError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PLAYLIST = "application/vnd.apple.mpegurl"
PRIVATE = {"Cache-Control": "private, no-store"}
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
USER = re.compile(r"[A-Za-z0-9._~@+\-]{1,128}")
STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True, slots=True)
class Planned:
    user: str
    loaded: Loaded
    plan: Plan
    token: str  # the signed plan, as variant URLs carry it
    cadence: str
    period: int


def rotation_period(settings: Settings, now: float) -> int:
    """Which rotation period `now` falls in; every node agrees, so master, variants and plan.json
    agree within a period."""
    return int(now // settings.rotation_seconds) if settings.rotation_seconds > 0 else 0


async def _plan_for(request: web.Request) -> Planned:
    user = request.match_info["user"]
    if USER.fullmatch(user) is None:
        fail(400, "bad_user", "user ids are 1-128 characters from A-Z a-z 0-9 . _ ~ @ + -")
    settings = request.app[KEYS.settings]
    loaded = request.app[KEYS.catalogs].current
    requested = request.query.get("cadence")
    cadence = loaded.cadence(requested)
    if cadence is None:
        allowed = ", ".join(sorted(loaded.cadences.allowed))
        fail(400, "unknown_cadence", f"cadence {requested!r} is not offered; choose from: {allowed}")
    profile = await request.app[KEYS.profiles].get(user)
    period = rotation_period(settings, time.time())
    key: tuple[object, ...] = (user, cadence.name, period)
    if profile is not None:
        key += (profile.titles, profile.talent)
    memo = loaded.reels.get(key)
    if memo is not None:
        return Planned(user, loaded, Plan(loaded.catalog.version, memo[0]), memo[1], cadence.name, period)
    talent = frozenset(profile.talent) if profile else frozenset()
    ranking = rank_titles(loaded.catalog, profile.titles if profile else (), cadence.depth, talent,
                          settings.talent_lift)
    plan = plan_reel(loaded.catalog, ranking, user, cadence, str(period), talent)
    token = loaded.signer.sign(plan)
    if len(loaded.reels) >= REEL_MEMO:
        loaded.reels.popitem(last=False)
    loaded.reels[key] = (plan.clips, token)
    request.app[KEYS.metrics].plans.inc()
    return Planned(user, loaded, plan, token, cadence.name, period)


async def master(request: web.Request) -> web.Response:
    planned = await _plan_for(request)
    body = render_master(planned.loaded.index, planned.plan, f"../v/{planned.token}/")
    return web.Response(body=body, content_type=PLAYLIST, headers=PRIVATE)


async def plan_json(request: web.Request) -> web.Response:
    planned = await _plan_for(request)
    loaded = planned.loaded
    token = planned.token
    doc = plan_document(loaded.catalog, planned.plan)
    settings = request.app[KEYS.settings]
    query = f"?cadence={planned.cadence}" if "cadence" in request.query else ""
    doc.update({
        "user": planned.user, "cadence": planned.cadence, "master": f"master.m3u8{query}",
        "variants": {r.id: f"../v/{token}/{r.id}.m3u8" for r in loaded.catalog.renditions},
        "rotation": {"period": planned.period, "seconds": settings.rotation_seconds,
                     "next": (planned.period + 1) * settings.rotation_seconds
                     if settings.rotation_seconds > 0 else None},
    })
    return web.Response(body=orjson.dumps(doc), content_type="application/json", headers=PRIVATE)


def _catalog_for(request: web.Request, version: str) -> Loaded:
    catalogs = request.app[KEYS.catalogs]
    loaded = catalogs.find(version)
    if loaded is None:
        fail(410, "catalog_gone", f"catalog {version} is no longer served; now serving "
                                  f"{catalogs.current.catalog.version}")
    return loaded


async def variant(request: web.Request) -> web.Response:
    signer = request.app[KEYS.catalogs].current.signer
    try:
        plan = signer.verify(request.match_info["token"])
    except TokenError as exc:
        request.app[KEYS.metrics].token_rejections.inc()
        fail(403, "bad_token", f"variant token rejected: {exc}")
    loaded = _catalog_for(request, plan.catalog_version)
    if not plan.clips or max(plan.clips) >= len(loaded.catalog.clips):
        request.app[KEYS.metrics].token_rejections.inc()
        fail(403, "bad_token", "token names clips this catalog does not have")
    rendition = request.match_info["rendition"]
    if rendition not in loaded.index.renditions:
        fail(404, "unknown_rendition", f"no rendition {rendition!r}")
    return web.Response(body=render_variant(loaded.index, plan, rendition), content_type=PLAYLIST,
                        headers=IMMUTABLE)


async def media(request: web.Request) -> web.StreamResponse:
    version = request.match_info["version"]
    loaded = request.app[KEYS.catalogs].find(version)
    if loaded is None:
        fail(404, "unknown_version", f"no media for catalog version {version!r}")
    path = loaded.media_path(request.match_info["rendition"], request.match_info["name"])
    if path is None:
        fail(404, "not_found", "no such media object")
    return web.FileResponse(path, headers={**IMMUTABLE, "Content-Type": "video/mp4"})


async def healthz(request: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ok"}', content_type="application/json",
                        headers={"Cache-Control": "no-store"})


async def readyz(request: web.Request) -> web.Response:
    """Ready once a catalog is loaded (the listener opens only after that, so 503 is rare: it is
    kept for apps embedded before start-up completes)."""
    if KEYS.catalogs not in request.app:
        fail(503, "not_ready", "no catalog loaded yet")
    version = request.app[KEYS.catalogs].current.catalog.version
    return web.Response(body=orjson.dumps({"status": "ready", "catalog": version}),
                        content_type="application/json", headers={"Cache-Control": "no-store"})


async def metrics(request: web.Request) -> web.Response:
    body, content_type = request.app[KEYS.metrics].render()
    return web.Response(body=body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})


async def openapi(request: web.Request) -> web.Response:
    from edge.openapi import document

    allowed = tuple(sorted(request.app[KEYS.settings].cadences.allowed))
    return web.Response(body=document(allowed), content_type="application/json",
                        headers={"Cache-Control": "no-cache"})


async def demo_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def no_content(request: web.Request) -> web.Response:
    return web.Response(status=204, headers={"Cache-Control": "public, max-age=86400"})


async def demo_viewers(request: web.Request) -> web.Response:
    profiles = request.app[KEYS.profiles]
    users = profiles.users() if isinstance(profiles, MemoryProfiles) else []
    found = [await profiles.get(user) for user in users]
    viewers = [{"user": p.user, "titles": list(p.titles), "talent": list(p.talent)} for p in found if p]
    cadences = sorted(request.app[KEYS.catalogs].current.cadences.allowed)
    return web.Response(body=orjson.dumps({"viewers": viewers, "cadences": cadences}),
                        content_type="application/json", headers={"Cache-Control": "no-cache"})


def add_routes(app: web.Application, settings: Settings) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/sizzle/{user}/master.m3u8", master)
    app.router.add_get("/sizzle/{user}/plan.json", plan_json)
    app.router.add_get("/sizzle/v/{token}/{rendition}.m3u8", variant)
    app.router.add_get("/sizzle/media/{version}/{rendition}/{name}", media)
    if settings.demo:
        app.router.add_get("/", demo_page)
        app.router.add_get("/demo/viewers.json", demo_viewers)
        app.router.add_get("/favicon.ico", no_content)
        if settings.player_js is not None:
            player_js = settings.player_js

            async def hls_js(request: web.Request) -> web.FileResponse:
                return web.FileResponse(player_js, headers={"Cache-Control": "no-cache"})

            app.router.add_get("/static/hls.min.js", hls_js)
