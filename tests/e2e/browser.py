"""What the browser tests share: Debian's Chromium and how it is launched, and a throwaway static
server that gives the test pages an origin of their own (so every request to the edge is
cross-origin and needs its CORS headers, as on a real site)."""
from __future__ import annotations

import http.server
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--autoplay-policy=no-user-gesture-required", "--disable-quic", "--no-first-run",
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
Files = Mapping[str, tuple[Path, str]]  # URL path -> (file, Content-Type)


def launch(*libraries: Path) -> Iterator[Browser]:
    """Headless Chromium for a module's tests; skips them when Chromium or a player library
    (node_modules, from `npm ci`) is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    missing = [str(p) for p in libraries if not p.exists()]
    if missing:
        pytest.skip(f"player libraries not installed (npm ci): {missing}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def serve_files(files: Files) -> Iterator[str]:
    """Serve exactly these paths (anything else 404, never cached) until the generator closes;
    yields the origin, e.g. "http://127.0.0.1:PORT"."""

    class Static(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            entry = files.get(urllib.parse.urlsplit(self.path).path)
            if entry is None:
                self.send_error(404)
                return
            body = entry[0].read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", f"{entry[1]}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Static)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
