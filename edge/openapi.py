"""The HTTP API as an OpenAPI 3.1 document, served at /openapi.json (and checked by Schemathesis)."""
from __future__ import annotations

from functools import cache
from typing import Any

import orjson

USER_PATTERN = r"^[A-Za-z0-9._~@+\-]{1,128}$"
JSON_ERROR = {"$ref": "#/components/schemas/Error"}
PLAYLIST = "application/vnd.apple.mpegurl"


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": JSON_ERROR}}}


def _text(description: str, media_type: str) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


_REQUEST_ID = {"name": "X-Request-Id", "in": "header", "required": False,
               "description": "echoed in the response; generated when absent or malformed",
               "schema": {"type": "string"}}
_USER = {"name": "user", "in": "path", "required": True, "description": "viewer id",
         "schema": {"type": "string", "pattern": USER_PATTERN}}


def _cadence(allowed: tuple[str, ...]) -> dict[str, Any]:
    return {"name": "cadence", "in": "query", "required": False,
            "description": "a cadence from this server's allow-list; empty or absent: the default; "
                           "anything else: 400",
            "schema": {"type": "string", "enum": [*allowed, ""]}}


_TIMELINE = {"name": "timeline", "in": "query", "required": False,
             "description": "continuous: one timeline, segment URLs carry their decode time (no "
                            "discontinuities); discontinuous: a discontinuity at every cut; absent: the "
                            "server's default",
             "schema": {"type": "string", "enum": ["continuous", "discontinuous", ""]}}
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_MEDIA_TYPES = {"video/mp4": _BINARY, "audio/mp4": _BINARY, "video/mp2t": _BINARY}


def _get(summary: str, responses: dict[str, Any], *params: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": [*params, _REQUEST_ID],
                    "responses": {**responses, "404": _error("no such route or object"),
                                  "405": _error("method not allowed")}}}


def build(cadences: tuple[str, ...]) -> dict[str, Any]:
    cadence = _cadence(cadences)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Sizzle Edge", "version": "1",
                 "description": "Per-viewer HLS sizzle reels planned on every request."},
        "paths": {
            "/sizzle/{user}/master.m3u8": _get(
                "The viewer's master playlist (private, no-store)",
                {"200": _text("master playlist", PLAYLIST),
                 "400": _error("bad user id, unknown cadence or timeline, or a music-bed cadence "
                               "asked for on a discontinuous timeline")}, _USER, cadence, _TIMELINE),
            "/sizzle/{user}/plan.json": _get(
                "The same reel as data", {"200": {"description": "the plan", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Plan"}}}},
                    "400": _error("bad user id, unknown cadence or timeline, or a music-bed cadence "
                                  "asked for on a discontinuous timeline")}, _USER, cadence, _TIMELINE),
            "/sizzle/v/{token}/{rendition}.m3u8": _get(
                "A variant playlist at a signed, shareable URL (immutable)",
                {"200": _text("variant playlist", PLAYLIST), "403": _error("token forged or not ours"),
                 "410": _error("the reel was planned on a catalog no longer served")},
                {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "rendition", "in": "path", "required": True, "schema": {"type": "string"}}),
            "/sizzle/media/{version}/{path}": _get(
                "An init or media segment by its package-relative path; NAME.tFRAME.EXT serves the "
                "segment with its decode time rewritten to frame FRAME of a reel (Range supported)",
                {"200": {"description": "media bytes", "content": _MEDIA_TYPES},
                 "206": {"description": "partial media bytes", "content": _MEDIA_TYPES},
                 "416": _error("range not satisfiable"),
                 "502": _error("the package's segment is not valid fragmented MP4")},
                {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "Range", "in": "header", "required": False, "schema": {"type": "string"}}),
            "/healthz": _get("Liveness", {"200": {"description": "alive", "content": {
                "application/json": {"schema": {"type": "object", "required": ["status"],
                                                "properties": {"status": {"const": "ok"}}}}}}}),
            "/readyz": _get("Readiness: a catalog is loaded", {
                "200": {"description": "ready", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["status", "catalog"],
                    "properties": {"status": {"const": "ready"}, "catalog": {"type": "string"}}}}}},
                "503": _error("no catalog loaded yet")}),
            "/metrics": _get("Prometheus metrics", {"200": _text("Prometheus text format",
                                                                 "text/plain")}),
            "/openapi.json": _get("This document", {"200": {
                "description": "OpenAPI 3.1",
                "content": {"application/json": {"schema": {"type": "object"}}}}}),
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error", "detail"], "properties": {
                "error": {"type": "string"}, "detail": {"type": "string"}}},
            "Plan": {"type": "object",
                     "required": ["user", "catalog", "cadence", "master", "variants", "clips", "rotation"],
                     "properties": {
                         "user": {"type": "string"}, "catalog": {"type": "string"},
                         "cadence": {"type": "string"}, "master": {"type": "string"},
                         "duration": {"type": "number"},
                         "timeline": {"enum": ["continuous", "discontinuous"]},
                         "audio": {"type": "object", "required": ["kind"], "properties": {
                             "kind": {"enum": ["muxed", "clips", "bed"]}, "bed": {"type": "string"},
                             "name": {"type": "string"}, "credit": {"type": "string"}}},
                         "variants": {"type": "object", "additionalProperties": {"type": "string"}},
                         "clips": {"type": "array", "items": {"type": "object"}},
                         "rotation": {"type": "object", "required": ["period", "seconds", "next"],
                                      "properties": {"period": {"type": "integer"},
                                                     "seconds": {"type": "integer"},
                                                     "next": {"type": ["integer", "null"]}}}}},
        }},
    }


@cache
def document(cadences: tuple[str, ...]) -> bytes:
    """The document for a server offering these cadences."""
    return orjson.dumps(build(cadences))
