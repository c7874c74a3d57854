"""The I/O shell: plain urllib with timeouts. Media answers are cached per fetcher (their URLs are
immutable), so checking many reels of one catalog fetches each segment once."""
from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Mapping

from conformance.http_rules import Answer

ORIGIN = "https://player.example"  # what a cross-origin page would send


class FetchError(OSError):
    """The server could not be reached or did not answer in time."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect is reported by the rules, not followed


class Fetcher:
    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.requests = 0
        self._cache: dict[tuple[str, str, str], Answer] = {}
        self._lock = threading.Lock()
        self._opener = urllib.request.build_opener(_NoRedirect)

    def request(self, url: str, method: str = "GET", headers: Mapping[str, str] | None = None,
                cache: bool = False) -> Answer:
        sent = {"Origin": ORIGIN, **(headers or {})}
        key = (method, url, sent.get("Range", ""))
        if cache:
            with self._lock:
                hit = self._cache.get(key)
            if hit is not None:
                return hit
        req = urllib.request.Request(url, method=method, headers=sent)
        self.requests += 1
        try:
            with self._opener.open(req, timeout=self.timeout) as response:
                answer = Answer(url, response.geturl(), response.status,
                                {k.lower(): v for k, v in response.headers.items()}, response.read())
        except urllib.error.HTTPError as exc:
            answer = Answer(url, url, exc.code, {k.lower(): v for k, v in exc.headers.items()},
                            exc.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FetchError(f"{url}: {reason}") from None
        if cache and answer.status in (200, 206):
            with self._lock:
                self._cache[key] = answer
        return answer

    def get(self, url: str, cache: bool = False) -> Answer:
        return self.request(url, cache=cache)

    def get_range(self, url: str, first: int, last: int, cache: bool = False) -> Answer:
        return self.request(url, headers={"Range": f"bytes={first}-{last}"}, cache=cache)

    def preflight(self, url: str) -> Answer:
        return self.request(url, "OPTIONS", {"Access-Control-Request-Method": "GET",
                                             "Access-Control-Request-Headers": "range"})
