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

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--autoplay-policy=no-user-gesture-required", "--disable-quic", "--no-first-run",
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
Files = Mapping[str, tuple[Path, str]]  # URL path -> (file, Content-Type)


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
