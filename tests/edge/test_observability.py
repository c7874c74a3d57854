"""In-process: media base URL, readiness, request ids on errors, JSON logs, sampled access log,
profiles reloaded on change, OpenAPI document; and one-line CLI errors for the new flags."""
from __future__ import annotations

import asyncio
import logging
import re
import time

import m3u8
import orjson
import pytest

from edge.app import create_app
from edge.keys import ALL as KEYS
from edge.logs import JsonFormatter
from edge.settings import Settings, check_media_base_url
from loadtest.synthetic_catalog import make_catalog, write_package
from tests.edge.test_cli import assert_one_line_error, run

KEY = {5: b"o" * 32}


@pytest.fixture
def package(tmp_path):
    catalog = make_catalog(titles=4, seed=41)
    return write_package(tmp_path / "pkg", catalog), catalog


async def test_media_base_url_makes_init_and_segments_absolute(aiohttp_client, package):
    path, catalog = package
    base = check_media_base_url("https://cdn.example.com/sizzle/media")
    client = await aiohttp_client(create_app(Settings(catalog=path, signing_keys=KEY, active_key=5,
                                                      media_base_url=base)))
    master = m3u8.loads(await (await client.get("/sizzle/ana/master.m3u8")).text())
    assert not master.playlists[0].uri.startswith("http")  # playlists stay relative and served here
    variant = m3u8.loads(await (await client.get("/sizzle/ana/" + master.playlists[0].uri)).text())
    prefix = f"https://cdn.example.com/sizzle/media/{catalog['version']}/"
    assert variant.segments[0].init_section.uri == prefix + "540p/init.mp4"
    assert all(s.uri.startswith(prefix + "540p/s") and s.uri.endswith(".m4s") for s in variant.segments)
    local = await aiohttp_client(create_app(Settings(catalog=path, signing_keys=KEY, active_key=5)))
    master = m3u8.loads(await (await local.get("/sizzle/ana/master.m3u8")).text())
    variant = m3u8.loads(await (await local.get("/sizzle/ana/" + master.playlists[0].uri)).text())
    assert variant.segments[0].uri.startswith(f"../../media/{catalog['version']}/540p/s")


@pytest.mark.parametrize("bad", ["ftp://cdn.example.com/", "cdn.example.com/media", "https:///x",
                                 "https://cdn.example.com/?sig=1"])
def test_bad_media_base_url_is_rejected(bad):
    with pytest.raises(ValueError, match="absolute http"):
        check_media_base_url(bad)


async def test_readyz_request_ids_and_openapi(aiohttp_client, package):
    path, catalog = package
    client = await aiohttp_client(create_app(Settings(catalog=path, signing_keys=KEY, active_key=5)))
    response = await client.get("/readyz")
    assert response.status == 200 and (await response.json())["catalog"] == catalog["version"]
    response = await client.get("/sizzle/v/forged/540p.m3u8", headers={"X-Request-Id": "trace-1"})
    assert response.status == 403 and response.headers["X-Request-Id"] == "trace-1"
    response = await client.get("/nowhere")
    again = await client.get("/healthz")
    assert response.status == 404
    assert re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", response.headers["X-Request-Id"])
    assert again.headers["X-Request-Id"] != response.headers["X-Request-Id"]
    doc = await (await client.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    routes = {r.resource.canonical for r in client.app.router.routes() if r.resource is not None}
    assert routes <= set(doc["paths"]), routes - set(doc["paths"])
    text = await (await client.get("/metrics")).text()
    assert 'sizzle_http_requests_total{route="unmatched",status="404"} 1.0' in text


async def test_access_log_is_sampled_json(aiohttp_client, package, caplog):
    path, _ = package
    quiet = await aiohttp_client(create_app(Settings(catalog=path, signing_keys=KEY, active_key=5)))
    loud = await aiohttp_client(create_app(Settings(catalog=path, signing_keys=KEY, active_key=5,
                                                    access_log_sample=1.0)))
    with caplog.at_level(logging.INFO, logger="sizzle.access"):
        await quiet.get("/healthz")
        assert not [r for r in caplog.records if r.name == "sizzle.access"]
        await loud.get("/sizzle/ana/plan.json", headers={"X-Request-Id": "abc"})
    record = next(r for r in caplog.records if r.name == "sizzle.access")
    line = orjson.loads(JsonFormatter().format(record))
    assert line["request_id"] == "abc" and line["status"] == 200
    assert line["route"] == "/sizzle/{user}/plan.json" and line["level"] == "INFO"


async def test_profiles_reload_on_change_and_a_broken_file_is_kept_out(aiohttp_client, package, tmp_path):
    path, _ = package
    profiles = tmp_path / "profiles.jsonl"
    profiles.write_bytes(b'{"user": "fan", "titles": ["t3"]}\n')
    app = create_app(Settings(catalog=path, profiles=profiles, signing_keys=KEY, active_key=5,
                              watch_seconds=0.05))
    client = await aiohttp_client(app)

    async def top() -> str:
        return str((await (await client.get("/sizzle/fan/plan.json")).json())["clips"][0]["title"])

    assert await top() == "t3"
    profiles.write_bytes(b'{"user": "fan", "titles": ["t2"]}\n')
    deadline = time.monotonic() + 10
    while await top() != "t2":
        assert time.monotonic() < deadline, "profiles not reloaded"
        await asyncio.sleep(0.02)  # poll period
    profiles.write_bytes(b'{"user": 5}\n')
    deadline = time.monotonic() + 10
    while "sizzle_reload_failures_total{what=\"profiles\"} 1.0" not in \
            (await (await client.get("/metrics")).text()):
        assert time.monotonic() < deadline, "broken profiles not noticed"
        await asyncio.sleep(0.02)  # poll period
    assert await top() == "t2"
    assert app[KEYS.catalogs].current.source is not None


@pytest.mark.parametrize("flags, culprit", [
    (["--media-base-url", "ftp://x/"], "--media-base-url"),
    (["--redis-url", "http://x"], "--redis-url"),
    (["--redis-url", "redis://x:port/0"], "Port could not be cast"),
    (["--access-log-sample", "2"], "--access-log-sample"),
    (["--workers", "-1"], "--workers"),
])
def test_bad_serve_flags_are_one_line_errors(package, flags, culprit):
    path, _ = package
    assert_one_line_error(run("serve", "--catalog", str(path), *flags), culprit)
