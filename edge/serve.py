"""Run the edge: N worker processes under gunicorn with aiohttp's uvloop worker, or (workers=0) one
process on uvloop for development and the demo."""
from __future__ import annotations

import asyncio
import logging
import math
import os
import shutil
import signal
import tempfile
from collections.abc import Callable
from typing import Any

import uvloop
from aiohttp import web
from aiohttp.worker import GunicornUVLoopWebWorker
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from edge.logs import configure_logging, logging_config
from edge.settings import Settings

__all__ = ["configure_logging", "serve"]

WORKER_CLASS = "edge.serve.EdgeWorker"  # aiohttp.worker.GunicornUVLoopWebWorker, signal-safe at boot

log = logging.getLogger("sizzle.serve")


def serve(settings: Settings, on_ready: Callable[[str], None] | None = None,
          log_level: str = "INFO", log_format: str = "json") -> None:
    base = f"http://{_hostport(settings)}/"
    if settings.workers <= 0:
        _serve_single(settings, base, on_ready)
    else:
        _serve_gunicorn(settings, base, on_ready, log_level, log_format)


def _hostport(settings: Settings) -> str:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"{host}:{settings.port}"


def _serve_single(settings: Settings, base: str, on_ready: Callable[[str], None] | None) -> None:
    from edge.app import create_app

    app = create_app(settings)

    def announce(_message: str) -> None:  # run_app calls this once the socket is listening
        if on_ready is not None:
            on_ready(base)

    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    web.run_app(app, host=settings.host, port=settings.port, loop=loop, print=announce,
                access_log=None, handle_signals=True, shutdown_timeout=settings.graceful_seconds)


# Signals a worker must not lose while it boots (before aiohttp installs its handlers, a freshly
# forked worker still has the master's Python handlers, which would swallow them).
WORKER_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGUSR1}


class _Arbiter(Arbiter):  # type: ignore[misc]
    """gunicorn's master, except that SIGHUP asks every worker to reload the catalog in place
    (gunicorn's own HUP would restart the workers, and a broken catalog would then stop them
    booting); the file watch in each worker reloads on a change without any signal. Workers are
    forked with WORKER_SIGNALS blocked; they unblock them once their handlers are in place
    (EdgeWorker), so a SIGTERM during boot is delivered late instead of lost."""

    def handle_hup(self) -> None:
        self.log.info("SIGHUP: asking %d workers to reload the catalog and profiles", len(self.WORKERS))
        for pid in list(self.WORKERS):
            self.kill_worker(pid, signal.SIGHUP)

    def spawn_worker(self) -> Any:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, WORKER_SIGNALS)
        try:
            return super().spawn_worker()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class EdgeWorker(GunicornUVLoopWebWorker):
    """aiohttp's uvloop worker, unblocking WORKER_SIGNALS only once its loop runs: uvloop drops
    signals that arrive before the loop starts, so a SIGTERM during boot would be lost and the
    master would wait the whole graceful timeout. SIGHUP is ignored until the app's own handler is
    installed (a worker still booting loads the newest catalog anyway)."""

    async def _run(self) -> None:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, WORKER_SIGNALS)
        await super()._run()


class EdgeApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn application: the master holds the frozen Settings; each worker, after the fork,
    builds its own app with create_app(settings)."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> web.Application:
        from edge.app import create_app

        return create_app(self._settings)

    def run(self) -> None:
        _Arbiter(self).run()


def _serve_gunicorn(settings: Settings, base: str, on_ready: Callable[[str], None] | None,
                    log_level: str, log_format: str) -> None:
    master = os.getpid()
    own_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if own_dir:  # must be set before prometheus_client is first imported (in the workers' app)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="sizzle-metrics-")
    metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]

    def when_ready(_arbiter: Any) -> None:
        if on_ready is not None:
            on_ready(base)

    def child_exit(_arbiter: Any, worker: Any) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, metrics_dir)  # type: ignore[no-untyped-call]

    options: dict[str, Any] = {
        "bind": [_hostport(settings)],
        "workers": settings.workers,
        "worker_class": WORKER_CLASS,
        "graceful_timeout": max(1, math.ceil(settings.graceful_seconds)),
        "timeout": 30,
        "keepalive": 75,
        "accesslog": None,  # the app's own sampled JSON access log (--access-log-sample)
        "logconfig_dict": logging_config(log_level, log_format),
        "loglevel": log_level.lower(),
        "proc_name": "sizzle-edge",
        "control_socket_disable": True,  # one control socket per user home would clash between servers
        "when_ready": when_ready,
        "child_exit": child_exit,
    }
    try:
        EdgeApplication(settings, options).run()
    finally:  # workers leave through here too (SystemExit from the fork): only the master cleans up
        if own_dir and os.getpid() == master:
            shutil.rmtree(metrics_dir, ignore_errors=True)
