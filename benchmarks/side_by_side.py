"""Side by side, in one run on pinned cores: the personalised edge against two ceilings.

Servers run on one core (taskset), wrk on the other, 64 connections, one wrk thread:
  master     GET /sizzle/{new viewer}/master.m3u8   (plan + sign + render per request), run directly
             (--workers 0) and as one gunicorn uvloop worker (--workers 1)
  variant    GET /sizzle/v/{token}/{rendition}.m3u8  (verify + render), 512 distinct reels
  plan.json  GET /sizzle/{new viewer}/plan.json
  aiohttp    a constant body of the same size from aiohttp + uvloop: the ceiling for this stack
  aiohttp+mw the same, through the edge's own middleware (request id, metrics, CORS headers): what
             that layer costs; the rest of the gap to a scenario is its handler
  nginx      the same bytes as a static file from disk: the ceiling for any server
Prints requests/s and p99 for each, and the ratios to the ceilings of the same body size; and the
server's own CPU time per request (utime + stime from /proc over each wrk run, the server process and
its children: gunicorn's worker, nginx's worker), the figure other tenants of a shared core distort
least, with its ratio: ceiling CPU per request / scenario CPU per request.
Run: `.venv/bin/python benchmarks/side_by_side.py [--duration 10] [--titles 5000] [--only master,...]`
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
    done = re.search(r"(\d+) requests in", out)
    return {"rps": rate, "requests": int(done.group(1)) if done else 0,
            "p99_ms": float(p99.group(1)) * UNITS[p99.group(2)] if p99 else float("nan"),
            "non2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0}


def cpu_tree(pid: int) -> float:
    """CPU seconds so far of a process and its live descendants (a gunicorn arbiter's worker, an
    nginx master's worker). retime_serving.cpu_seconds reads one process; imported here, not at
    the top, because retime_serving imports this module."""
    from benchmarks.retime_serving import cpu_seconds

    total = cpu_seconds(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += cpu_tree(int(child))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per scenario (median reported)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--titles", type=int, default=5000)
    parser.add_argument("--only", default="", help="comma-separated scenario names to run (default: all; "
                        "the ceilings of the sizes they need are added)")
    parser.add_argument("--json", type=Path, default=ROOT / "build" / "bench" / "side_by_side.json")
    args = parser.parse_args()
    ensure_tools()
    with tempfile.TemporaryDirectory(prefix="sizzle-bench-") as scratch, ExitStack() as stack:
        tmp = Path(scratch)
        tmp.chmod(0o755)  # nginx's workers run as an unprivileged user and must read www/
        catalog = write_package(tmp / "pkg", make_catalog(titles=args.titles, renditions=2,
                                                          lengths=(40, 40, 40, 80, 80, 80, 160, 160, 160)))
        edge_port, gunicorn_port, ceiling_port, nginx_port, observed_port = (free_port() for _ in range(5))
        env = {**os.environ, "SIZZLE_SIGNING_KEYS": "1:" + "5a" * 32}
        pids = {}
        for port, workers in ((edge_port, "0"), (gunicorn_port, "1")):  # direct, and one gunicorn worker
            edge = subprocess.Popen(["taskset", "-c", SERVER_CORE, sys.executable, "-m", "edge.cli", "serve",
                                     "--catalog", str(catalog), "--port", str(port), "--workers", workers,
                                     "--log-level", "WARNING"],
                                    env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stack.callback(edge.wait, 20)
            stack.callback(edge.terminate)
            wait_ready(f"http://127.0.0.1:{port}/healthz")
            pids[workers] = edge.pid
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
        observed = subprocess.Popen(["taskset", "-c", SERVER_CORE, sys.executable,
                                     str(ROOT / "benchmarks" / "ceiling_app.py"), str(observed_port),
                                     str(len(master)), str(len(variant)), "--observed"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stack.callback(observed.wait, 10)
        stack.callback(observed.terminate)
        wait_ready(f"http://127.0.0.1:{observed_port}/master")

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
        paths_env = {"SIZZLE_WRK_PATHS": str(tmp / "paths.txt")}
        every: dict[str, tuple[str, Path | None, dict[str, str], int]] = {
            "master": (base, scripts / "master.lua", {}, pids["0"]),
            "master (gunicorn, 1 worker)": (f"http://127.0.0.1:{gunicorn_port}", scripts / "master.lua", {},
                                            pids["1"]),
            "variant": (base, scripts / "paths.lua", paths_env, pids["0"]),
            "plan.json": (base, scripts / "plan.lua", {}, pids["0"]),
            "aiohttp master-size": (f"http://127.0.0.1:{ceiling_port}/master", None, {}, ceiling.pid),
            "aiohttp variant-size": (f"http://127.0.0.1:{ceiling_port}/variant", None, {}, ceiling.pid),
            "aiohttp+mw master-size": (f"http://127.0.0.1:{observed_port}/master", None, {}, observed.pid),
            "aiohttp+mw variant-size": (f"http://127.0.0.1:{observed_port}/variant", None, {}, observed.pid),
            "nginx master-size": (f"http://127.0.0.1:{nginx_port}/master.m3u8", None, {}, nginx.pid),
            "nginx variant-size": (f"http://127.0.0.1:{nginx_port}/variant.m3u8", None, {}, nginx.pid),
        }
        wanted = {name for name in args.only.split(",") if name}
        if wanted - set(every):
            raise SystemExit(f"unknown scenarios {sorted(wanted - set(every))}; choose from {sorted(every)}")
        for name in list(wanted):  # a scenario's ratios need the ceilings of its body size
            kind = "variant" if "variant" in name else "master"
            wanted |= {f"aiohttp {kind}-size", f"nginx {kind}-size", f"aiohttp+mw {kind}-size"}
        scenarios = {name: s for name, s in every.items() if not wanted or name in wanted}

        def run(name: str, duration: float, prefix: str) -> dict[str, float]:
            url, script, extra, pid = scenarios[name]
            before = cpu_tree(pid)
            result = wrk(url, duration, args.connections, script, {**extra, "SIZZLE_WRK_PREFIX": prefix})
            result["cpu_us"] = (cpu_tree(pid) - before) / max(result["requests"], 1) * 1e6
            return result

        for name in scenarios:  # warm up every server and path
            run(name, 2, "warm")
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in scenarios}
        for round_number in range(args.rounds):  # interleaved rounds: noise hits every scenario alike
            for name in scenarios:
                runs[name].append(run(name, args.duration, f"r{round_number}x"))
        result = {name: {"rps": statistics.median(r["rps"] for r in rs),
                         "p99_ms": statistics.median(r["p99_ms"] for r in rs),
                         "cpu_us": statistics.median(r["cpu_us"] for r in rs),
                         "errors": sum(r["non2xx"] + r["socket_errors"] for r in rs),
                         "runs_rps": [r["rps"] for r in rs], "runs_cpu_us": [r["cpu_us"] for r in rs]}
                  for name, rs in runs.items()}

    sizes = {"master": len(master), "variant": len(variant), "plan.json": len(plan)}
    print(f"server on core {SERVER_CORE}, wrk on core {CLIENT_CORE}, {args.connections} connections, "
          f"{args.rounds} x {args.duration:g} s per scenario (medians); catalog {args.titles} titles")
    print(f"{'scenario':<28} {'bytes':>6} {'req/s':>9} {'p99 ms':>7} {'errors':>6} {'/ aiohttp':>9} "
          f"{'/ nginx':>8} {'CPU us':>7} {'CPU: aiohttp/this':>17}")
    for name, r in result.items():
        kind = "variant" if "variant" in name else "master"
        size = sizes.get(name, sizes[kind])
        ceiling_a = result[f"aiohttp {kind}-size"]
        ratio_a = r["rps"] / ceiling_a["rps"]
        ratio_n = r["rps"] / result[f"nginx {kind}-size"]["rps"]
        print(f"{name:<28} {size:>6} {r['rps']:>9.0f} {r['p99_ms']:>7.2f} {r['errors']:>6} "
              f"{ratio_a:>8.2f}x {ratio_n:>7.2f}x {r['cpu_us']:>7.1f} "
              f"{ceiling_a['cpu_us'] / r['cpu_us']:>16.2f}x")
    print("CPU per request above the aiohttp ceiling: the edge's middleware (aiohttp+mw - aiohttp) and "
          "the handler with its framework calls (scenario - aiohttp+mw)")
    for name in ("master", "variant", "plan.json"):
        if name in result:
            kind = "variant" if name == "variant" else "master"
            ceiling_us = result[f"aiohttp {kind}-size"]["cpu_us"]
            mw_us = result[f"aiohttp+mw {kind}-size"]["cpu_us"]
            print(f"  {name:<10} ceiling {ceiling_us:6.1f} us + middleware {mw_us - ceiling_us:5.1f} us "
                  f"+ handler {result[name]['cpu_us'] - mw_us:6.1f} us = {result[name]['cpu_us']:6.1f} us")
    if "master" in result and "master (gunicorn, 1 worker)" in result:
        direct, gunicorn = result["master"], result["master (gunicorn, 1 worker)"]
        print(f"one gunicorn worker / the app run directly: {gunicorn['rps'] / direct['rps']:.2f}x req/s, "
              f"{direct['cpu_us'] / gunicorn['cpu_us']:.2f}x by CPU per request")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_bytes(orjson.dumps({"sizes": sizes, "results": result, "args": vars(args)},
                                       default=str, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
