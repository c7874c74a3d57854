"""HTTP handlers: parse the request, call the pure core, answer. Nothing here builds playlists."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Awaitable, Callable

import orjson
from aiohttp import web

from edge.errors import fail
from edge.keys import ALL as KEYS
from edge.settings import Settings
from manifests.planner import Plan, plan_reel, rank_titles
from manifests.render import plan_document, render_master, render_variant
from manifests.token import TokenError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PLAYLIST = "application/vnd.apple.mpegurl"
PRIVATE = {"Cache-Control": "private, no-store"}
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
USER = re.compile(r"[A-Za-z0-9._~@+\-]{1,128}")
STATIC = Path(__file__).parent / "static"


async def _plan_for(request: web.Request) -> tuple[str, Plan]:
    user = request.match_info["user"]
    if USER.fullmatch(user) is None:
        fail(400, "bad_user", "user ids are 1-128 characters from A-Z a-z 0-9 . _ ~ @ + -")
    loaded = request.app[KEYS.loaded]
    profile = await request.app[KEYS.profiles].get(user)
    ranking = rank_titles(loaded.catalog, profile.titles if profile else (), loaded.cadence.depth)
    return user, plan_reel(loaded.catalog, ranking, user, loaded.cadence)


async def master(request: web.Request) -> web.Response:
    _, plan = await _plan_for(request)
    loaded = request.app[KEYS.loaded]
    token = loaded.signer.sign(plan)
    body = render_master(loaded.index, plan, f"../v/{token}/")
    return web.Response(body=body, content_type=PLAYLIST, headers=PRIVATE)


async def plan_json(request: web.Request) -> web.Response:
    user, plan = await _plan_for(request)
    loaded = request.app[KEYS.loaded]
    token = loaded.signer.sign(plan)
    doc = plan_document(loaded.catalog, plan)
    doc["user"] = user
    doc["master"] = "master.m3u8"
    doc["variants"] = {r.id: f"../v/{token}/{r.id}.m3u8" for r in loaded.catalog.renditions}
    return web.Response(body=orjson.dumps(doc), content_type="application/json", headers=PRIVATE)


async def variant(request: web.Request) -> web.Response:
    loaded = request.app[KEYS.loaded]
    try:
        plan = loaded.signer.verify(request.match_info["token"])
    except TokenError as exc:
        fail(403, "bad_token", f"variant token rejected: {exc}")
    if plan.catalog_version != loaded.catalog.version:
        fail(410, "catalog_gone", f"reel was planned on catalog {plan.catalog_version}, "
                                  f"now serving {loaded.catalog.version}")
    if not plan.clips or max(plan.clips) >= len(loaded.catalog.clips):
        fail(403, "bad_token", "token names clips this catalog does not have")
    rendition = request.match_info["rendition"]
    if rendition not in loaded.index.renditions:
        fail(404, "unknown_rendition", f"no rendition {rendition!r}")
    return web.Response(body=render_variant(loaded.index, plan, rendition), content_type=PLAYLIST,
                        headers=IMMUTABLE)


async def media(request: web.Request) -> web.StreamResponse:
    loaded = request.app[KEYS.loaded]
    version = request.match_info["version"]
    if version != loaded.catalog.version:
        fail(404, "unknown_version", f"no media for catalog version {version!r}")
    path = loaded.media_path(request.match_info["rendition"], request.match_info["name"])
    if path is None:
        fail(404, "not_found", "no such media object")
    return web.FileResponse(path, headers={**IMMUTABLE, "Content-Type": "video/mp4"})


async def healthz(request: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ok"}', content_type="application/json",
                        headers={"Cache-Control": "no-store"})


async def demo_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def no_content(request: web.Request) -> web.Response:
    return web.Response(status=204, headers={"Cache-Control": "public, max-age=86400"})


async def demo_viewers(request: web.Request) -> web.Response:
    profiles = request.app[KEYS.profiles]
    users = profiles.users() if hasattr(profiles, "users") else []
    return web.Response(body=orjson.dumps({"viewers": users}), content_type="application/json",
                        headers={"Cache-Control": "no-cache"})


def add_routes(app: web.Application, settings: Settings) -> None:
    app.router.add_get("/healthz", healthz)
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
