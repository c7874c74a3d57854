"""The aiohttp application: routes, middlewares, and resources opened in cleanup_ctx."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import AsyncIterator

from aiohttp import web

from edge import handlers
from edge.catalogs import Catalogs
from edge.errors import errors_middleware
from edge.keys import ALL as KEYS
from edge.metrics import create_metrics
from edge.observe import observe_middleware
from edge.profiles import MemoryProfiles, load_profiles
from edge.reload import reload_on_sighup, watch_files
from edge.settings import Settings
from edge.state import load
from manifests.token import Signer

log = logging.getLogger("sizzle.edge")

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Content-Length, Content-Range",
}
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Range",
    "Access-Control-Max-Age": "86400",
}


@web.middleware
async def cors_middleware(request: web.Request, handler: handlers.Handler) -> web.StreamResponse:
    """Answer every CORS preflight here, before routing, so media and playlists all allow Range."""
    if request.method == "OPTIONS":
        return web.Response(status=204, headers=PREFLIGHT_HEADERS)
    return await handler(request)


async def _add_cors(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(CORS_HEADERS)


def create_app(settings: Settings) -> web.Application:
    metrics = create_metrics()
    app = web.Application(middlewares=[observe_middleware(metrics, settings.access_log_sample),
                                       cors_middleware, errors_middleware])
    app[KEYS.settings] = settings
    app[KEYS.metrics] = metrics
    app.on_response_prepare.append(_add_cors)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        signer = Signer(dict(settings.signing_keys), settings.active_key)
        loaded = await asyncio.to_thread(load, settings.catalog, signer, settings.cadences,
                                         settings.media_base_url)
        app[KEYS.catalogs] = Catalogs(loaded, settings.grace_seconds, time.monotonic)
        metrics.catalog_swapped(None, loaded.catalog.version, loaded.loaded_at)
        catalog = loaded.catalog
        log.info("catalog %s version %s: %d titles, %d clips, %d renditions", catalog.asset_id,
                 catalog.version, len(catalog.titles), len(catalog.clips), len(catalog.renditions))
        if settings.redis_url:
            from edge.redis_profiles import RedisProfiles, connect

            client = connect(settings.redis_url, settings.redis_timeout)
            app[KEYS.profiles] = RedisProfiles(client, metrics, settings.redis_timeout,
                                               settings.profile_cache_seconds)
            try:
                await asyncio.wait_for(client.ping(), 1.0)
            except Exception as exc:  # noqa: BLE001 - any failure: serve on, with the default ranking
                log.warning("profile store (redis) not reachable at start (%s): serving the default "
                            "ranking until it answers", exc)
            try:
                yield
            finally:
                await client.aclose()
            return
        app[KEYS.profiles] = (await asyncio.to_thread(load_profiles, settings.profiles)
                              if settings.profiles else MemoryProfiles({}))
        yield

    app.cleanup_ctx.append(resources)
    app.cleanup_ctx.append(reload_on_sighup)
    app.cleanup_ctx.append(watch_files)
    handlers.add_routes(app, settings)
    return app
