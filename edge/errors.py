"""JSON errors with precise 4xx statuses, for everything the router or a handler rejects."""
from __future__ import annotations

import logging
from typing import Awaitable, Callable, NoReturn

import orjson
from aiohttp import web

log = logging.getLogger("sizzle.edge")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          410: "gone", 416: "range_not_satisfiable", 503: "unavailable"}


def json_error(status: int, code: str, detail: str) -> web.Response:
    return web.Response(status=status, body=orjson.dumps({"error": code, "detail": detail}),
                        content_type="application/json",
                        headers={"Cache-Control": "no-store"})


def fail(status: int, code: str, detail: str) -> NoReturn:
    """Stop the handler with a JSON error."""
    raise _Fail(status, code, detail)


class _Fail(web.HTTPException):
    """A JSON error a handler raised with fail(): it passes through the middlewares as is."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        self.status_code = status
        super().__init__(text=orjson.dumps({"error": code, "detail": detail}).decode(),
                         content_type="application/json", headers={"Cache-Control": "no-store"})


Failure = _Fail  # what fail() raises


def as_json(exc: web.HTTPException) -> web.Response:
    """A 4xx/5xx the router or aiohttp raised (not one of ours), as a JSON error that keeps the
    Allow and Content-Range headers."""
    headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Content-Range")}
    response = json_error(exc.status, _CODES.get(exc.status, "error"), exc.reason)
    response.headers.update(headers)
    return response


def internal_error(request: web.Request) -> web.Response:
    """A bug, not bad input: log it (call from an except block), answer without leaking internals."""
    log.exception("unhandled error on %s %s", request.method, request.path)
    return json_error(500, "internal", "internal error")


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The error handling alone (the app runs it inside edge.observe.edge_middleware)."""
    try:
        return await handler(request)
    except _Fail:
        raise
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return as_json(exc)
    except Exception:
        return internal_error(request)
