"""Cadence choice, talent, rotation and catalog grace periods through the real HTTP API."""
from __future__ import annotations

import os
import signal
import time
import urllib.request

import m3u8
import orjson
import pytest

from edge.app import create_app
from edge.keys import ALL as KEYS
from edge.reload import reload_catalog
from edge.settings import Settings
from loadtest.synthetic_catalog import make_catalog, write_package
from manifests.cadence import parse_cadences
from tests.conftest import start_server, stop

KEY = {3: b"s" * 32}


def settings_for(catalog, profiles=None, **extra):
    return Settings(catalog=catalog, profiles=profiles, signing_keys=KEY, active_key=3, **extra)


@pytest.fixture
def packages(tmp_path):
    """Two versioned package folders and a `current` symlink, the layout for zero-downtime swaps."""
    first = write_package(tmp_path / "v1", make_catalog(titles=6, seed=11))
    second = write_package(tmp_path / "v2", make_catalog(titles=6, seed=12))
    current = tmp_path / "current"
    current.symlink_to(tmp_path / "v1")
    profiles = tmp_path / "profiles.jsonl"
    profiles.write_bytes(b'{"user": "fan", "titles": ["t0", "t1"], "talent": ["star2"]}\n'
                         b'{"user": "plain", "titles": ["t0", "t1"]}\n')
    return current / "catalog.json", first, second, profiles


async def test_cadence_per_request_from_the_allow_list(aiohttp_client, packages):
    catalog, *_, profiles = packages
    client = await aiohttp_client(create_app(settings_for(catalog, profiles)))
    default = await (await client.get("/sizzle/plain/plan.json")).json()
    short = await (await client.get("/sizzle/plain/plan.json?cadence=short")).json()
    long = await (await client.get("/sizzle/plain/plan.json?cadence=long")).json()
    assert default["cadence"] == "default" and short["cadence"] == "short"
    assert short["duration"] <= 15 < default["duration"] < long["duration"] <= 60
    assert short["master"] == "master.m3u8?cadence=short"
    master = m3u8.loads(await (await client.get("/sizzle/plain/master.m3u8?cadence=short")).text())
    assert master.playlists[0].uri == short["variants"]["540p"]
    response = await client.get("/sizzle/plain/master.m3u8?cadence=secret")
    assert response.status == 400
    body = await response.json()
    assert body["error"] == "unknown_cadence" and "short" in body["detail"]


async def test_cadence_file_limits_the_allow_list(aiohttp_client, packages):
    catalog, *_ = packages
    book = parse_cadences(b'{"default": "mini", "allow": ["mini"], '
                          b'"cadences": {"mini": {"rounds": [[80, 40], [40]]}}}')
    client = await aiohttp_client(create_app(settings_for(catalog, cadences=book)))
    plan = await (await client.get("/sizzle/x/plan.json")).json()
    assert plan["cadence"] == "mini" and [c["frames"] for c in plan["clips"]] == [80, 40, 40]
    assert (await client.get("/sizzle/x/plan.json?cadence=long")).status == 400


async def test_favourite_talent_changes_the_reel_toward_its_titles(aiohttp_client, packages):
    catalog, *_, profiles = packages
    client = await aiohttp_client(create_app(settings_for(catalog, profiles)))
    fan = await (await client.get("/sizzle/fan/plan.json")).json()
    plain = await (await client.get("/sizzle/plain/plan.json")).json()
    # star2 is the talent of titles t2 and t5 in the synthetic catalog: they rise in the fan's reel
    fan_rank = [c["title"] for c in fan["clips"][:5]]
    plain_rank = [c["title"] for c in plain["clips"][:5]]
    assert fan_rank.index("t2") < plain_rank.index("t2")


async def test_rotation_period_is_reported_and_changes_the_reel(aiohttp_client, packages):
    catalog, *_ = packages
    frozen = await aiohttp_client(create_app(settings_for(catalog, rotation_seconds=0)))
    fast = await aiohttp_client(create_app(settings_for(catalog, rotation_seconds=1)))
    plan = await (await frozen.get("/sizzle/r/plan.json")).json()
    assert plan["rotation"] == {"period": 0, "seconds": 0, "next": None}
    seen = set()
    deadline = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < deadline:
        doc = await (await fast.get("/sizzle/r/plan.json")).json()
        seen.add(tuple(c["clip"] for c in doc["clips"]))
        assert doc["rotation"]["next"] == doc["rotation"]["period"] + 1
    assert len(seen) == 2, "a one-second rotation should give a new reel within a few seconds"


async def test_reels_of_a_replaced_catalog_play_through_the_grace_period_then_410(aiohttp_client, packages,
                                                                                  tmp_path):
    catalog, first, second, profiles = packages
    app = create_app(settings_for(catalog, profiles, grace_seconds=100))
    client = await aiohttp_client(app)
    old_master = m3u8.loads(await (await client.get("/sizzle/fan/master.m3u8")).text())
    old_variant_url = "/sizzle/fan/" + old_master.playlists[0].uri
    old_variant = m3u8.loads(await (await client.get(old_variant_url)).text())
    old_segment = old_variant_url.rsplit("/", 1)[0] + "/" + old_variant.segments[0].uri

    now = [1000.0]
    app[KEYS.catalogs].clock = lambda: now[0]
    (tmp_path / "next").symlink_to(tmp_path / "v2")
    os.replace(tmp_path / "next", tmp_path / "current")  # atomic switch of the `current` link
    assert await reload_catalog(app)
    new_version = orjson.loads(second.read_bytes())["version"]
    assert (await (await client.get("/sizzle/fan/plan.json")).json())["catalog"] == new_version

    now[0] += 99  # within the grace period: the old reel keeps playing, media included
    response = await client.get(old_variant_url)
    assert response.status == 200
    from urllib.parse import urljoin
    segment = await client.get(urljoin(old_variant_url, old_variant.segments[0].uri))
    assert segment.status == 200, old_segment
    now[0] += 2  # past it: 410 for the playlist, 404 for media of a version no longer served
    response = await client.get(old_variant_url)
    assert response.status == 410 and (await response.json())["error"] == "catalog_gone"
    assert (await client.get(urljoin(old_variant_url, old_variant.segments[0].uri))).status == 404


async def test_broken_catalog_on_reload_is_rejected_and_the_old_one_serves(aiohttp_client, packages,
                                                                           tmp_path):
    catalog, first, *_ = packages
    app = create_app(settings_for(catalog))
    client = await aiohttp_client(app)
    before = (await (await client.get("/sizzle/a/plan.json")).json())["catalog"]
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "catalog.json").write_bytes(b'{"schema": 1, "version": "nothex"}')
    (tmp_path / "next").symlink_to(broken)
    os.replace(tmp_path / "next", tmp_path / "current")
    assert not await reload_catalog(app)
    assert (await (await client.get("/sizzle/a/plan.json")).json())["catalog"] == before
    assert (await client.get("/sizzle/a/master.m3u8")).status == 200


def test_sighup_reloads_a_running_server(packages, tmp_path):
    catalog, first, second, _ = packages
    process, server = start_server(catalog, [], tmp_path)
    url = server.base + "sizzle/u/plan.json"

    def version() -> str | None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return orjson.loads(response.read())["catalog"]
        except OSError:
            return None

    try:
        assert version() == orjson.loads(first.read_bytes())["version"]
        (tmp_path / "next").symlink_to(tmp_path / "v2")
        os.replace(tmp_path / "next", tmp_path / "current")
        process.send_signal(signal.SIGHUP)
        want = orjson.loads(second.read_bytes())["version"]
        deadline = time.monotonic() + 10
        while version() != want and time.monotonic() < deadline:
            time.sleep(0.05)
        assert version() == want
    finally:
        stop(process)


async def test_returning_viewer_reuses_the_memoised_reel_until_the_profile_changes(aiohttp_client,
                                                                                   packages):
    catalog, *_, profiles = packages
    app = create_app(settings_for(catalog, profiles, rotation_seconds=0))
    client = await aiohttp_client(app)
    first = await (await client.get("/sizzle/fan/master.m3u8")).text()
    loaded = app[KEYS.catalogs].current
    assert len(loaded.reels) == 1
    assert await (await client.get("/sizzle/fan/master.m3u8")).text() == first
    plan = await (await client.get("/sizzle/fan/plan.json")).json()
    assert len(loaded.reels) == 1 and plan["variants"]["540p"] in first
    await client.get("/sizzle/fan/master.m3u8?cadence=short")
    assert len(loaded.reels) == 2  # another cadence is another reel
    # a changed profile is a different key: the viewer gets the reel of their new taste
    from edge.profiles import MemoryProfiles, Profile

    app[KEYS.profiles]._profiles["fan"] = Profile("fan", ("t5", "t4"), ())  # type: ignore[union-attr]
    assert isinstance(app[KEYS.profiles], MemoryProfiles)
    changed = await (await client.get("/sizzle/fan/plan.json")).json()
    assert changed["clips"][0]["title"] == "t5" and len(loaded.reels) == 3
