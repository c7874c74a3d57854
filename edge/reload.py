"""Catalog and profile reloads: load off the event loop, swap atomically, keep serving the old one
when the new one is broken. Triggered by SIGHUP and by a change of the watched files."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator

from aiohttp import web

from edge.keys import ALL as KEYS
from edge.profiles import MemoryProfiles, ProfileError, parse_profiles
from edge.state import Signature, file_signature, load
from manifests.catalog import CatalogError

log = logging.getLogger("sizzle.edge")


async def reload_catalog(app: web.Application) -> bool:
    """True when a new catalog is now current; False (logged, counted) when it was rejected."""
    settings = app[KEYS.settings]
    catalogs = app[KEYS.catalogs]
    metrics = app[KEYS.metrics]
    try:
        new = await asyncio.to_thread(load, settings.catalog, catalogs.current.signer, settings.cadences,
                                      settings.media_base_url)
    except CatalogError as exc:
        metrics.reload_failures.labels("catalog").inc()
        log.error("catalog reload rejected, still serving %s: %s", catalogs.current.catalog.version, exc)
        return False
    previous = catalogs.current.catalog.version
    catalogs.swap(new)
    metrics.reloads.labels("catalog").inc()
    metrics.catalog_swapped(previous, new.catalog.version, new.loaded_at)
    if previous != new.catalog.version:
        log.info("catalog reloaded: %s -> %s", previous, new.catalog.version)
    return True


async def reload_profiles(app: web.Application) -> bool:
    """Reload the JSON Lines profiles file; a broken one is rejected and the old set kept."""
    settings = app[KEYS.settings]
    store = app[KEYS.profiles]
    if settings.profiles is None or not isinstance(store, MemoryProfiles):
        return False
    path = settings.profiles
    try:
        fresh = await asyncio.to_thread(lambda: parse_profiles(path.read_bytes(), path.name))
    except (OSError, ProfileError) as exc:
        app[KEYS.metrics].reload_failures.labels("profiles").inc()
        log.error("profiles reload rejected, keeping the previous ones: %s", exc)
        return False
    store.replace(fresh)
    app[KEYS.metrics].reloads.labels("profiles").inc()
    log.info("profiles reloaded from %s: %d viewers", settings.profiles, len(store.users()))
    return True


async def reload_on_sighup(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: SIGHUP reloads the catalog and profiles (only where the loop can own signals)."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    async def both() -> None:
        await reload_catalog(app)
        await reload_profiles(app)

    def hup() -> None:
        task = loop.create_task(both())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    try:
        loop.add_signal_handler(signal.SIGHUP, hup)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals
        installed = False
    yield
    if installed:
        loop.remove_signal_handler(signal.SIGHUP)


async def _watch(app: web.Application, interval: float) -> None:
    """Reload the catalog when the file behind the path differs from the one the current catalog
    came from (so a change is never missed, whatever reloaded in between); a rejected file is not
    retried until it changes again. Profiles reload when their file changes."""
    settings = app[KEYS.settings]
    metrics = app[KEYS.metrics]
    catalogs = app[KEYS.catalogs]
    profiles = settings.profiles
    rejected: Signature | None = None
    seen_profiles = await asyncio.to_thread(file_signature, profiles) if profiles else None
    while True:
        await asyncio.sleep(interval)  # a poll period, not a synchronisation
        metrics.catalog_age.set(time.time() - catalogs.current.loaded_at)
        now = await asyncio.to_thread(file_signature, settings.catalog)
        if now is not None and now != catalogs.current.source and now != rejected:
            rejected = None if await reload_catalog(app) else now
        if profiles is not None:
            now = await asyncio.to_thread(file_signature, profiles)
            if now is not None and now != seen_profiles:
                seen_profiles = now
                await reload_profiles(app)


async def watch_files(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: poll the catalog (and profiles) path every `watch_seconds`, off the loop; reload
    on change. Works in every gunicorn worker, so no signal has to reach each of them."""
    interval = app[KEYS.settings].watch_seconds
    task = asyncio.get_running_loop().create_task(_watch(app, interval)) if interval > 0 else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
