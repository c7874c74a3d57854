"""HTTP handlers: parse the request, call the pure core, answer. Nothing here builds playlists."""
from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Awaitable, Callable, NamedTuple

import orjson
from aiohttp import web
from multidict import MultiDict, MultiDictProxy, MultiMapping

from edge.errors import fail
from edge.keys import ALL as KEYS
from edge.media import MAX_FRAME, TIMED, RetimeError, read_retimed
from edge.profiles import MemoryProfiles
from edge.settings import TIMELINES, Settings
from edge.state import REEL_MEMO, Loaded
from manifests.cadence import Cadence
from manifests.catalog import Catalog
from manifests.planner import Plan, plan_reel, rank_titles
from manifests.render import bed_segments, plan_document, render_master, render_variant
from manifests.token import TokenError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PLAYLIST = "application/vnd.apple.mpegurl"
PRIVATE = {"Cache-Control": "private, no-store"}
PRIVATE_PLAYLIST = {**PRIVATE, "Content-Type": PLAYLIST}  # what content_type=PLAYLIST adds, in its place
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
IMMUTABLE_PLAYLIST = {**IMMUTABLE, "Content-Type": PLAYLIST}
USER = re.compile(r"[A-Za-z0-9._~@+\-]{1,128}")
STATIC = Path(__file__).parent / "static"


class Planned(NamedTuple):  # a tuple: built per request, and cheaper to build than a dataclass
    user: str
    loaded: Loaded
    plan: Plan
    token: str  # the signed plan, as variant URLs carry it
    cadence: str
    period: int


_NO_QUERY: MultiMapping[str] = MultiDictProxy(MultiDict())
_DEPTHS: dict[int, tuple[Cadence, int]] = {}  # id(cadence) -> (cadence, its depth)


def _depth(cadence: Cadence) -> int:
    """Cadence.depth, computed once per cadence object (it is a property that walks the slots).
    The entry holds the cadence, so its id cannot be reused while the entry lives."""
    found = _DEPTHS.get(id(cadence))
    if found is not None and found[0] is cadence:
        return found[1]
    if len(_DEPTHS) >= 256:  # cadences are few per catalog; reloads make new ones
        _DEPTHS.clear()
    depth = cadence.depth
    _DEPTHS[id(cadence)] = (cadence, depth)
    return depth


def rotation_period(settings: Settings, now: float) -> int:
    """Which rotation period `now` falls in; every node agrees, so master, variants and plan.json
    agree within a period."""
    return int(now // settings.rotation_seconds) if settings.rotation_seconds > 0 else 0


async def _plan_for(request: web.Request) -> Planned:
    user = request.match_info["user"]
    if USER.fullmatch(user) is None:
        fail(400, "bad_user", "user ids are 1-128 characters from A-Z a-z 0-9 . _ ~ @ + -")
    app = request.app
    settings = app[KEYS.settings]
    loaded = app[KEYS.catalogs].current
    query = request.query if request.rel_url.raw_query_string else _NO_QUERY
    requested = query.get("cadence")
    cadence = loaded.cadence(requested)
    if cadence is None:
        allowed = ", ".join(sorted(loaded.cadences.allowed))
        fail(400, "unknown_cadence", f"cadence {requested!r} is not offered; choose from: {allowed}")
    continuous = _continuous(query, settings, loaded)
    bed = loaded.bed_index(cadence)
    if bed is not None and not continuous:
        fail(400, "timeline_conflict", f"cadence {cadence.name!r} runs a music bed under the cuts, "
                                       "which needs timeline=continuous")
    profile = await app[KEYS.profiles].get(user)
    period = rotation_period(settings, time.time())
    key: tuple[object, ...] = (user, cadence.name, period, continuous)
    if profile is not None:
        key += (profile.titles, profile.talent)
    reels = loaded.reels
    memo = reels.get(key)
    if memo is not None:
        plan = Plan(loaded.catalog.version, memo[0], continuous, bed)
        return Planned(user, loaded, plan, memo[1], cadence.name, period)
    talent = frozenset(profile.talent) if profile else frozenset()
    catalog = loaded.catalog
    ranking = rank_titles(catalog, profile.titles if profile else (), _depth(cadence), talent,
                          settings.talent_lift)
    plan = plan_reel(catalog, ranking, user, cadence, str(period), talent, continuous=continuous, bed=bed)
    token = loaded.signer.sign(plan)
    if len(reels) >= REEL_MEMO:
        reels.popitem(last=False)
    reels[key] = (plan.clips, token)
    app[KEYS.metrics].plans.inc()
    return Planned(user, loaded, plan, token, cadence.name, period)


def _continuous(query: MultiMapping[str], settings: Settings, loaded: Loaded) -> bool:
    """The timeline a request gets: ?timeline= when given, else the deployment's."""
    asked = query.get("timeline")
    if asked is None or asked == "":
        return settings.timeline == "continuous" and loaded.index.retimable
    if asked not in TIMELINES:
        fail(400, "unknown_timeline", f"timeline {asked!r}: want one of {', '.join(TIMELINES)}")
    if asked == "continuous" and not loaded.index.retimable:
        fail(400, "timeline_unavailable", "this catalog's segments are MPEG-TS: only "
                                          "timeline=discontinuous can be served")
    return asked == "continuous"


async def master(request: web.Request) -> web.Response:
    planned = await _plan_for(request)
    body = render_master(planned.loaded.index, planned.plan, f"../v/{planned.token}/")
    return web.Response(body=body, headers=PRIVATE_PLAYLIST)


async def plan_json(request: web.Request) -> web.Response:
    planned = await _plan_for(request)
    loaded = planned.loaded
    token = planned.token
    doc = plan_document(loaded.catalog, planned.plan)
    settings = request.app[KEYS.settings]
    asked = [f"{name}={request.query[name]}" for name in ("cadence", "timeline") if name in request.query]
    query = "?" + "&".join(asked) if asked else ""
    playlists = loaded.catalog.renditions + loaded.catalog.audio
    doc.update({
        "user": planned.user, "cadence": planned.cadence, "master": f"master.m3u8{query}",
        "variants": {r.id: f"../v/{token}/{r.id}.m3u8" for r in playlists},
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


def _fits(catalog: Catalog, plan: Plan) -> bool:
    """The plan names only clips (and a bed long enough) that this catalog has."""
    if not plan.clips or max(plan.clips) >= len(catalog.clips):
        return False
    if plan.bed is None:
        return True
    return (plan.bed < len(catalog.beds) and bool(catalog.audio)
            and bed_segments(catalog, plan) <= len(catalog.beds[plan.bed].durations))


async def variant(request: web.Request) -> web.Response:
    signer = request.app[KEYS.catalogs].current.signer
    try:
        plan = signer.verify(request.match_info["token"])
    except TokenError as exc:
        request.app[KEYS.metrics].token_rejections.inc()
        fail(403, "bad_token", f"variant token rejected: {exc}")
    loaded = _catalog_for(request, plan.catalog_version)
    catalog = loaded.catalog
    if not _fits(catalog, plan):
        request.app[KEYS.metrics].token_rejections.inc()
        fail(403, "bad_token", "token names clips or a music bed this catalog does not have")
    if plan.continuous and not loaded.index.retimable:
        fail(403, "bad_token", "token asks for a continuous timeline this catalog cannot serve")
    rendition = request.match_info["rendition"]
    if loaded.index.playlist(rendition) is None:
        fail(404, "unknown_rendition", f"no rendition {rendition!r}")
    return web.Response(body=render_variant(loaded.index, plan, rendition), headers=IMMUTABLE_PLAYLIST)


async def media(request: web.Request) -> web.StreamResponse:
    """A package file as is, or a segment with its decode time rewritten (`NAME.tFRAME.EXT`)."""
    version = request.match_info["version"]
    loaded = request.app[KEYS.catalogs].find(version)
    if loaded is None:
        fail(404, "unknown_version", f"no media for catalog version {version!r}")
    relative = request.match_info["path"]
    item = loaded.media.lookup(relative)
    if item is not None:
        return web.FileResponse(item.path, headers={**IMMUTABLE, "Content-Type": item.content_type})
    timed = TIMED.fullmatch(relative)
    if timed is None:
        fail(404, "not_found", "no such media object")
    item = loaded.media.lookup(f"{timed['stem']}.{timed['ext']}")
    if item is None:
        fail(404, "not_found", "no such media object")
    frame = int(timed["frame"])
    if item.segment is None or item.timescales is None or frame > MAX_FRAME:
        fail(404, "not_retimable", "this media object has no decode time to rewrite")
    loop = asyncio.get_running_loop()
    try:
        data = await loop.run_in_executor(None, read_retimed, item.path,
                                          loaded.media.deltas(item, frame))
    except FileNotFoundError:
        fail(404, "not_found", "no such media object")
    except RetimeError as exc:
        fail(502, "bad_media", f"segment {relative} is not valid fragmented MP4: {exc}")
    request.app[KEYS.metrics].retimed.inc()
    return _ranged(request, data, item.content_type)


def _ranged(request: web.Request, data: bytearray, content_type: str) -> web.Response:
    """The whole body, or the one byte range asked for (206; 416 when it cannot be met)."""
    headers = {**IMMUTABLE, "Content-Type": content_type, "Accept-Ranges": "bytes"}
    if "Range" not in request.headers:
        return web.Response(body=data, headers=headers)
    size = len(data)
    try:
        wanted = request.http_range
    except ValueError:
        wanted = slice(size, size)
    start, stop, _ = wanted.indices(size)
    if start >= stop:
        return web.Response(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    return web.Response(status=206, body=data[start:stop], headers=headers)


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
    app.router.add_get("/sizzle/media/{version}/{path:.+}", media)
    if settings.demo:
        app.router.add_get("/", demo_page)
        app.router.add_get("/demo/viewers.json", demo_viewers)
        app.router.add_get("/favicon.ico", no_content)
        if settings.player_js is not None:
            player_js = settings.player_js

            async def hls_js(request: web.Request) -> web.FileResponse:
                return web.FileResponse(player_js, headers={"Cache-Control": "no-cache"})

            app.router.add_get("/static/hls.min.js", hls_js)
