"""Side by side, in one run on pinned cores: the personalised edge against two ceilings.

Servers run on one core (taskset), wrk on the other, 64 connections, one wrk thread:
  master     GET /sizzle/{new viewer}/master.m3u8   (plan + sign + render per request), run directly
             (--workers 0) and as one gunicorn uvloop worker (--workers 1)
  variant    GET /sizzle/v/{token}/{rendition}.m3u8  (verify + render), 512 distinct reels
  plan.json  GET /sizzle/{new viewer}/plan.json
  aiohttp    a constant body of the same size from aiohttp + uvloop: the ceiling for this stack
  nginx      the same bytes as a static file from disk: the ceiling for any server
Prints requests/s and p99 for each, and the ratios to the ceilings of the same body size.
Run: `.venv/bin/python benchmarks/side_by_side.py [--duration 10] [--titles 5000]`
(installs wrk and nginx with apt-get when missing).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadtest.synthetic_catalog import make_catalog, write_package  # noqa: E402

SERVER_CORE = "1"
CLIENT_CORE = "0"


def ensure_tools() -> None:
    missing = [pkg for tool, pkg in (("wrk", "wrk"), ("nginx", "nginx-light")) if shutil.which(tool) is None
               and not Path(f"/usr/sbin/{tool}").exists()]
    if missing:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, deadline_s: float = 30) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return bytes(response.read())


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, duration: float, connections: int, script: Path | None,
        env: dict[str, str]) -> dict[str, float]:
    cmd = ["taskset", "-c", CLIENT_CORE, "wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency"]
    if script is not None:
        if not script.is_file():
            raise FileNotFoundError(script)
        cmd += ["-s", str(script)]
    out = subprocess.run(cmd + [url], check=True, capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=duration + 60).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": rate, "p99_ms": float(p99.group(1)) * UNITS[p99.group(2)] if p99 else float("nan"),
            "non2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per scenario (median reported)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--titles", type=int, default=5000)
    parser.add_argument("--json", type=Path, default=ROOT / "build" / "bench" / "side_by_side.json")
    args = parser.parse_args()
    ensure_tools()
    with tempfile.TemporaryDirectory(prefix="sizzle-bench-") as scratch, ExitStack() as stack:
        tmp = Path(scratch)
        tmp.chmod(0o755)  # nginx's workers run as an unprivileged user and must read www/
        catalog = write_package(tmp / "pkg", make_catalog(titles=args.titles, renditions=2,
                                                          lengths=(40, 40, 40, 80, 80, 80, 160, 160, 160)))
        edge_port, gunicorn_port, ceiling_port, nginx_port = (free_port() for _ in range(4))
        env = {**os.environ, "SIZZLE_SIGNING_KEYS": "1:" + "5a" * 32}
        for port, workers in ((edge_port, "0"), (gunicorn_port, "1")):  # direct, and one gunicorn worker
            edge = subprocess.Popen(["taskset", "-c", SERVER_CORE, sys.executable, "-m", "edge.cli", "serve",
                                     "--catalog", str(catalog), "--port", str(port), "--workers", workers,
                                     "--log-level", "WARNING"],
                                    env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stack.callback(edge.wait, 20)
            stack.callback(edge.terminate)
            wait_ready(f"http://127.0.0.1:{port}/healthz")
        base = f"http://127.0.0.1:{edge_port}"

        # sample bodies, and 512 distinct variant paths from real masters
        master = fetch(f"{base}/sizzle/sample/master.m3u8")
        paths = []
        for n in range(512):
            text = fetch(f"{base}/sizzle/u{n}/master.m3u8").decode()
            uri = next(line for line in text.splitlines() if line.endswith(".m3u8"))
            paths.append("/sizzle/" + uri[3:])  # "../v/TOKEN/r.m3u8" relative to /sizzle/uN/
        variant = fetch(base + paths[0])
        plan = fetch(f"{base}/sizzle/sample/plan.json")
        (tmp / "paths.txt").write_text("\n".join(paths) + "\n")

        ceiling = subprocess.Popen(["taskset", "-c", SERVER_CORE, sys.executable,
                                    str(ROOT / "benchmarks" / "ceiling_app.py"), str(ceiling_port),
                                    str(len(master)), str(len(variant))], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        stack.callback(ceiling.wait, 10)
        stack.callback(ceiling.terminate)
        wait_ready(f"http://127.0.0.1:{ceiling_port}/master")

        www = tmp / "www"
        www.mkdir()
        (www / "master.m3u8").write_bytes(master)
        (www / "variant.m3u8").write_bytes(variant)
        (tmp / "nginx.conf").write_text(f"""
worker_processes 1;
daemon off;
error_log {tmp}/nginx-error.log warn;
pid {tmp}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types {{ application/vnd.apple.mpegurl m3u8; }}
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  server {{ listen 127.0.0.1:{nginx_port}; root {www};
           add_header Cache-Control "private, no-store"; add_header Access-Control-Allow-Origin "*"; }}
}}
""")
        nginx = subprocess.Popen(["taskset", "-c", SERVER_CORE, "nginx", "-c", str(tmp / "nginx.conf")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stack.callback(nginx.wait, 10)
        stack.callback(nginx.terminate)
        wait_ready(f"http://127.0.0.1:{nginx_port}/master.m3u8")

        scripts = ROOT / "loadtest" / "wrk"
        scenarios = {
            "master": (base, scripts / "master.lua", {}),
            "master (gunicorn, 1 worker)": (f"http://127.0.0.1:{gunicorn_port}", scripts / "master.lua", {}),
            "variant": (base, scripts / "variant.lua", {"SIZZLE_WRK_PATHS": str(tmp / "paths.txt")}),
            "plan.json": (base, scripts / "plan.lua", {}),
            "aiohttp master-size": (f"http://127.0.0.1:{ceiling_port}/master", None, {}),
            "aiohttp variant-size": (f"http://127.0.0.1:{ceiling_port}/variant", None, {}),
            "nginx master-size": (f"http://127.0.0.1:{nginx_port}/master.m3u8", None, {}),
            "nginx variant-size": (f"http://127.0.0.1:{nginx_port}/variant.m3u8", None, {}),
        }
        for url, script, extra in scenarios.values():  # warm up every server and path
            wrk(url, 2, args.connections, script, {**extra, "SIZZLE_WRK_PREFIX": "warm"})
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in scenarios}
        for round_number in range(args.rounds):  # interleaved rounds: noise hits every scenario alike
            for name, (url, script, extra) in scenarios.items():
                runs[name].append(wrk(url, args.duration, args.connections, script,
                                      {**extra, "SIZZLE_WRK_PREFIX": f"r{round_number}x"}))
        result = {name: {"rps": statistics.median(r["rps"] for r in rs),
                         "p99_ms": statistics.median(r["p99_ms"] for r in rs),
                         "errors": sum(r["non2xx"] + r["socket_errors"] for r in rs)}
                  for name, rs in runs.items()}

    sizes = {"master": len(master), "variant": len(variant), "plan.json": len(plan)}
    print(f"server on core {SERVER_CORE}, wrk on core {CLIENT_CORE}, {args.connections} connections, "
          f"{args.rounds} x {args.duration:g} s per scenario (medians); catalog {args.titles} titles")
    print(f"{'scenario':<28} {'bytes':>6} {'req/s':>9} {'p99 ms':>7} {'errors':>6} {'/ aiohttp':>9} "
          f"{'/ nginx':>8}")
    for name, r in result.items():
        kind = "variant" if "variant" in name else "master"
        size = sizes.get(name, sizes[kind])
        ratio_a = r["rps"] / result[f"aiohttp {kind}-size"]["rps"]
        ratio_n = r["rps"] / result[f"nginx {kind}-size"]["rps"]
        print(f"{name:<28} {size:>6} {r['rps']:>9.0f} {r['p99_ms']:>7.2f} {r['errors']:>6} "
              f"{ratio_a:>8.2f}x {ratio_n:>7.2f}x")
    direct, gunicorn = result["master"]["rps"], result["master (gunicorn, 1 worker)"]["rps"]
    print(f"one gunicorn worker / the app run directly: {gunicorn / direct:.2f}x")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_bytes(orjson.dumps({"sizes": sizes, "results": result, "args": vars(args)},
                                       default=str, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
