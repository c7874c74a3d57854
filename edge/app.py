"""The aiohttp application: routes, middlewares, and resources opened in cleanup_ctx."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import AsyncIterator

from aiohttp import web

from edge import handlers
from edge.catalogs import Catalogs
from edge.keys import ALL as KEYS
from edge.metrics import create_metrics
from edge.observe import CORS_HEADERS, PREFLIGHT_HEADERS, edge_middleware
from edge.profiles import MemoryProfiles, load_profiles
from edge.reload import reload_on_sighup, watch_files
from edge.settings import Settings
from edge.state import load
from manifests.token import Signer

log = logging.getLogger("sizzle.edge")

__all__ = ["CORS_HEADERS", "PREFLIGHT_HEADERS", "create_app"]


def create_app(settings: Settings) -> web.Application:
    metrics = create_metrics()
    # one middleware does CORS (preflights, and the headers on every answer), JSON errors and the
    # observation: see edge.observe.edge_middleware
    app = web.Application(middlewares=[edge_middleware(metrics, settings.access_log_sample)])
    app[KEYS.settings] = settings
    app[KEYS.metrics] = metrics

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
