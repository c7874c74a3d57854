"""Run the edge app on uvloop."""
from __future__ import annotations

import asyncio
import logging
import sys
from typing import Callable

import uvloop
from aiohttp import web

from edge.app import create_app
from edge.settings import Settings


def serve(settings: Settings, on_ready: Callable[[str], None] | None = None) -> None:
    app = create_app(settings)
    base = f"http://{settings.host}:{settings.port}/"

    def announce(_message: str) -> None:  # run_app calls this once the socket is listening
        if on_ready is not None:
            on_ready(base)

    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    web.run_app(app, host=settings.host, port=settings.port, loop=loop, print=announce,
                access_log=logging.getLogger("aiohttp.access") if settings.access_log else None,
                handle_signals=True)


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(stream=sys.stderr, level=level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
