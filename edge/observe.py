"""Per-request work around every handler: CORS, JSON errors, request ids, metrics by route template,
sampled JSON access log."""
from __future__ import annotations

import itertools
import logging
import os
import random
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from edge.errors import Failure, as_json, internal_error
from edge.metrics import Metrics

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+/=\-]{1,128}")

log = logging.getLogger("sizzle.access")

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


class RequestIds:
    """The caller's X-Request-Id when it is sane, else a fresh one: a random per-process prefix and
    a counter (unique across workers and restarts, and no system call per request: os.urandom cost
    8% of a master request under load)."""

    __slots__ = ("_prefix", "_count")

    def __init__(self) -> None:
        self._prefix = os.urandom(6).hex()
        self._count = itertools.count(1)

    def of(self, request: web.Request) -> str:
        incoming = request.headers.get("X-Request-Id")
        if incoming is not None and REQUEST_ID.fullmatch(incoming):
            return incoming
        return f"{self._prefix}-{next(self._count):x}"


def edge_middleware(metrics: Metrics, sample: float) -> Any:
    """The app's one middleware, bound to its metrics: CORS preflights, JSON errors, request ids,
    metrics by route template, the sampled access log, and the CORS headers on every answer.

    One middleware instead of three plus an on_response_prepare signal: each layer costs a
    coroutine per request, and the signal two more. The order of the work is the old chain's
    (observe > cors > errors > handler): preflights are observed; errors become responses inside
    the observation; X-Request-Id then the CORS headers go on every response or raised
    HTTPException. (The signal appended the CORS headers after aiohttp's own Content-Length,
    Date and Server; they now come before those: same fields and values, another order.)"""
    rng = random.Random()
    ids = RequestIds()
    routes: dict[object, _Route] = {}  # route resource -> its metric children (routes are few)
    perf_counter = time.perf_counter
    cors = CORS_HEADERS

    @web.middleware
    async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
        start = perf_counter()
        rid = ids.of(request)
        status = 500
        try:
            if request.method == "OPTIONS":  # every preflight, before the handler: all routes allow Range
                response: web.StreamResponse = web.Response(status=204, headers=PREFLIGHT_HEADERS)
            else:
                try:
                    response = await handler(request)
                except Failure:
                    raise
                except web.HTTPException as exc:
                    if exc.status < 400:
                        raise
                    response = as_json(exc)
                except Exception:
                    response = internal_error(request)
            status = response.status
            headers = response.headers
            headers["X-Request-Id"] = rid
            headers.update(cors)
            return response
        except web.HTTPException as exc:
            status = exc.status
            exc.headers["X-Request-Id"] = rid
            exc.headers.update(cors)
            raise
        finally:
            elapsed = perf_counter() - start
            resource = request.match_info.route.resource
            observed = routes.get(resource)
            if observed is None:  # first request of this route (None: no route matched)
                observed = routes[resource] = _Route(
                    resource.canonical if resource is not None else "unmatched", metrics)
            observed.count(status)
            observed.observe(elapsed)
            if sample > 0 and rng.random() < sample:
                log.info("%s %s %d", request.method, request.path, status, extra={
                    "request_id": rid, "method": request.method, "path": request.path_qs,
                    "route": observed.name, "status": status, "ms": round(elapsed * 1000, 3),
                    "remote": request.remote})

    return edge


class _Route:
    """One route template's metric children, looked up once: the latency histogram, and the request
    counter per status."""

    __slots__ = ("name", "observe", "_metrics", "_counters")

    def __init__(self, name: str, metrics: Metrics) -> None:
        self.name = name
        self._metrics = metrics
        self._counters: dict[int, Callable[[], None]] = {}
        self.observe: Callable[[float], None] = self._first_observe

    def _first_observe(self, elapsed: float) -> None:
        # the histogram child is made at the first observation, as before: after the counter's, so
        # /metrics lists the series in the same order
        self.observe = self._metrics.latency.labels(self.name).observe
        self.observe(elapsed)

    def count(self, status: int) -> None:
        inc = self._counters.get(status)
        if inc is None:
            inc = self._counters[status] = self._metrics.requests.labels(self.name, str(status)).inc
        inc()
