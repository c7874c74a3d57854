"""The ceiling for this stack: aiohttp on uvloop answering a constant body, no work per request.
`python benchmarks/ceiling_app.py PORT MASTER_BYTES VARIANT_BYTES [--observed]` serves /master and
/variant with bodies of those sizes and the same headers the edge sends. With --observed the app
also runs the edge's own middleware (edge.observe.edge_middleware: request id, metrics by route,
CORS headers), so the difference to the plain ceiling is what that layer costs per request."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import uvloop
from aiohttp import web


def main() -> None:
    port, master_size, variant_size = (int(x) for x in sys.argv[1:4])
    observed = "--observed" in sys.argv[4:]
    bodies = {"master": b"#" * master_size, "variant": b"#" * variant_size}

    async def constant(request: web.Request) -> web.Response:
        return web.Response(body=bodies[request.match_info["kind"]],
                            content_type="application/vnd.apple.mpegurl",
                            headers={"Cache-Control": "private, no-store",
                                     "Access-Control-Allow-Origin": "*"})

    middlewares = []
    if observed:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from edge.metrics import create_metrics
        from edge.observe import edge_middleware

        middlewares.append(edge_middleware(create_metrics(), 0.0))
    app = web.Application(middlewares=middlewares)
    app.router.add_get("/{kind:master|variant}", constant)
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    web.run_app(app, host="127.0.0.1", port=port, loop=loop, print=None, access_log=None)


if __name__ == "__main__":
    main()
