"""Catalog reload: load the new catalog off the event loop, swap it in atomically, keep serving the
old one when the new one is broken."""
from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator

from aiohttp import web

from edge.keys import ALL as KEYS
from edge.state import load
from manifests.catalog import CatalogError

log = logging.getLogger("sizzle.edge")


async def reload_catalog(app: web.Application) -> bool:
    """True when a new catalog is now current; False (logged) when it was rejected."""
    settings = app[KEYS.settings]
    catalogs = app[KEYS.catalogs]
    try:
        new = await asyncio.to_thread(load, settings.catalog, catalogs.current.signer, settings.cadences)
    except CatalogError as exc:
        log.error("catalog reload rejected, still serving %s: %s", catalogs.current.catalog.version, exc)
        return False
    previous = catalogs.current.catalog.version
    catalogs.swap(new)
    log.info("catalog reloaded: %s -> %s", previous, new.catalog.version)
    return True


async def reload_on_sighup(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: SIGHUP reloads the catalog (only where the loop can own signals)."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[bool]] = set()

    def hup() -> None:
        task = loop.create_task(reload_catalog(app))
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
