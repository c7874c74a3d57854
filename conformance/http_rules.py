"""Rules on HTTP answers (pure): status, content type, CORS, caching, Range and preflight."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from conformance.report import Violation

Kind = Literal["master", "variant", "media"]
PLAYLIST_TYPES = ("application/vnd.apple.mpegurl",)
MEDIA_TYPES = ("video/mp4", "video/iso.segment", "audio/mp4")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer as the rules see it (header names lower-cased)."""
    url: str
    final_url: str
    status: int
    headers: Mapping[str, str]
    body: bytes


def _tokens(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",") if part.strip()}


def _max_age(cache: str) -> int | None:
    match = re.search(r"max-age=(\d+)", cache)
    return int(match.group(1)) if match else None


def check_answer(kind: Kind, name: str, segment: str | None, answer: Answer,
                 expect_status: int = 200) -> list[Violation]:
    found: list[Violation] = []

    def bad(rule: str, detail: str) -> None:
        found.append(Violation(rule, name, segment, detail))

    if answer.final_url != answer.url:
        bad("REDIRECT", f"{answer.url} redirects to {answer.final_url}")
    if answer.status != expect_status:
        bad("HTTP", f"HTTP {answer.status}, want {expect_status}")
        return found
    content_type = answer.headers.get("content-type", "").split(";")[0].strip().lower()
    allowed = MEDIA_TYPES if kind == "media" else PLAYLIST_TYPES
    if content_type not in allowed:
        bad("CONTENT-TYPE", f"Content-Type {content_type!r}, want one of {list(allowed)}")
    if kind != "media":
        if answer.body.startswith(b"\xef\xbb\xbf"):
            bad("ENCODING", "playlist starts with a UTF-8 BOM")
        try:
            answer.body.decode("utf-8")
        except UnicodeDecodeError:
            bad("ENCODING", "playlist is not UTF-8")
    origin = answer.headers.get("access-control-allow-origin")
    if origin is None:
        bad("CORS", "no Access-Control-Allow-Origin")
    exposed = _tokens(answer.headers.get("access-control-expose-headers", ""))
    if "*" not in exposed and not {"content-length", "content-range"} <= exposed:
        bad("CORS", f"Access-Control-Expose-Headers {sorted(exposed)} lacks Content-Length, Content-Range")
    cache = answer.headers.get("cache-control", "").lower()
    directives = _tokens(cache)
    if kind == "master":
        if not {"private", "no-store"} <= directives:
            bad("CACHE", f"per-viewer master has Cache-Control {cache!r}, want private, no-store")
    else:
        age = _max_age(cache)
        if "immutable" not in directives or age is None or age < 86400 or "private" in directives \
                or "no-store" in directives:
            bad("CACHE", f"Cache-Control {cache!r}, want long-lived (max-age >= 1 day) and immutable")
    return found


def check_range(name: str, segment: str | None, answer: Answer, first: int, last: int,
                total: int | None) -> list[Violation]:
    """A `Range: bytes=first-last` request must answer 206 with a matching Content-Range."""
    found: list[Violation] = []
    if answer.status != 206:
        return [Violation("RANGE", name, segment, f"Range request answered {answer.status}, want 206")]
    match = _CONTENT_RANGE.fullmatch(answer.headers.get("content-range", ""))
    if match is None:
        return [Violation("RANGE", name, segment,
                          f"206 with Content-Range {answer.headers.get('content-range')!r}")]
    start, end, size = int(match.group(1)), int(match.group(2)), match.group(3)
    whole = None if size == "*" else int(size)
    want_end = last if whole is None else min(last, whole - 1)
    if (start, end) != (first, want_end):
        found.append(Violation("RANGE", name, segment, f"asked bytes {first}-{last}, got {start}-{end}"))
    if len(answer.body) != end - start + 1:
        found.append(Violation("RANGE", name, segment,
                               f"Content-Range says {end - start + 1} bytes, body has {len(answer.body)}"))
    if total is not None and whole is not None and whole != total:
        found.append(Violation("RANGE", name, segment,
                               f"Content-Range total {whole}, the object has {total}"))
    return found


def check_preflight(name: str, answer: Answer) -> list[Violation]:
    """OPTIONS with Origin, Access-Control-Request-Method GET and -Headers Range."""
    found: list[Violation] = []
    if not 200 <= answer.status < 300:
        return [Violation("CORS", name, None, f"preflight answered {answer.status}")]
    if answer.headers.get("access-control-allow-origin") is None:
        found.append(Violation("CORS", name, None, "preflight lacks Access-Control-Allow-Origin"))
    allowed = _tokens(answer.headers.get("access-control-allow-headers", ""))
    if "*" not in allowed and "range" not in allowed:
        found.append(Violation("CORS", name, None, f"preflight allows headers {sorted(allowed)}, not Range"))
    methods = _tokens(answer.headers.get("access-control-allow-methods", "GET"))
    if "*" not in methods and "get" not in methods:
        found.append(Violation("CORS", name, None, f"preflight allows methods {sorted(methods)}, not GET"))
    return found
