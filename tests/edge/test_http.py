"""The HTTP API through aiohttp's test client: statuses, headers, tokens, media, CORS."""
from __future__ import annotations

import m3u8
import orjson
import pytest

from edge.app import create_app
from edge.settings import Settings
from loadtest.synthetic_catalog import make_catalog, write_package

KEY = {7: b"k" * 32}


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pkg")
    catalog = make_catalog(titles=6)
    path = write_package(folder, catalog)
    profiles = folder.parent / "profiles.jsonl"
    profiles.write_bytes(b'{"user": "ana", "titles": ["t0", "t1", "t2", "t3", "t4"]}\n'
                         b'{"user": "ben", "titles": ["t5", "t4", "t3", "t2", "t1"]}\n')
    return path, profiles, catalog


@pytest.fixture
async def client(aiohttp_client, package):
    path, profiles, _ = package
    app = create_app(Settings(catalog=path, profiles=profiles, signing_keys=KEY, active_key=7))
    return await aiohttp_client(app)


async def master_of(client, user):
    response = await client.get(f"/sizzle/{user}/master.m3u8")
    assert response.status == 200
    return m3u8.loads(await response.text())


async def test_master_headers_and_body(client):
    response = await client.get("/sizzle/ana/master.m3u8")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    master = m3u8.loads(await response.text())
    assert [p.stream_info.resolution for p in master.playlists] == [(960, 540), (640, 360)]
    assert all("ana" not in p.uri for p in master.playlists)


async def test_tastes_differ_and_plan_agrees_with_master(client, package):
    _, _, catalog = package
    a = await master_of(client, "ana")
    b = await master_of(client, "ben")
    assert a.playlists[0].uri != b.playlists[0].uri
    plan = await (await client.get("/sizzle/ben/plan.json")).json()
    assert plan["user"] == "ben" and plan["master"] == "master.m3u8"
    assert plan["clips"][0]["title"] == "t5"
    assert plan["variants"]["540p"] == b.playlists[0].uri
    variant = await client.get("/sizzle/ben/" + b.playlists[0].uri)
    playlist = m3u8.loads(await variant.text())
    clips = {c["id"]: c for c in catalog["clips"]}
    want = [n for c in plan["clips"] for n in clips[c["clip"]]["segments"]]
    assert [int(s.uri.rsplit("/s", 1)[1][:5]) for s in playlist.segments] == want


async def test_same_viewer_same_urls(client):
    first = await master_of(client, "someone-new")
    second = await master_of(client, "someone-new")
    assert [p.uri for p in first.playlists] == [p.uri for p in second.playlists]


async def test_variant_is_immutable_and_media_urls_resolve(client):
    master = await master_of(client, "ana")
    url = "/sizzle/ana/" + master.playlists[1].uri
    response = await client.get(url)
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    playlist = m3u8.loads(await response.text())
    base = url.rsplit("/", 1)[0] + "/"
    from urllib.parse import urljoin

    init = await client.get(urljoin(base, playlist.segments[0].init_section.uri))
    assert init.status == 200 and init.headers["Content-Type"] == "video/mp4"
    segment = await client.get(urljoin(base, playlist.segments[3].uri))
    assert segment.status == 200
    assert segment.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert segment.headers["Access-Control-Allow-Origin"] == "*"
    body = await segment.read()
    ranged = await client.get(urljoin(base, playlist.segments[3].uri), headers={"Range": "bytes=10-109"})
    assert ranged.status == 206
    assert ranged.headers["Content-Range"] == f"bytes 10-109/{len(body)}"
    assert await ranged.read() == body[10:110]


async def forged(client):
    master = await master_of(client, "ana")
    uri = master.playlists[0].uri  # ../v/TOKEN/540p.m3u8
    token = uri.split("/")[2]
    return token


async def test_forged_or_altered_token_is_403(client):
    token = await forged(client)
    flipped = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    for bad in [flipped, token[:-2], "x" * 60, "not-a-token"]:
        response = await client.get(f"/sizzle/v/{bad}/540p.m3u8")
        assert response.status == 403, bad
        body = await response.json()
        assert body["error"] == "bad_token" and body["detail"]


async def test_unknown_rendition_is_404(client):
    token = await forged(client)
    response = await client.get(f"/sizzle/v/{token}/1080p.m3u8")
    assert response.status == 404
    assert (await response.json())["error"] == "unknown_rendition"


async def test_bad_user_is_400_and_unknown_routes_are_json_404(client):
    response = await client.get("/sizzle/%20bad%20user/master.m3u8")
    assert response.status == 400
    assert (await response.json())["error"] == "bad_user"
    response = await client.get("/sizzle/" + "x" * 200 + "/plan.json")
    assert response.status == 400
    response = await client.get("/nowhere")
    assert response.status == 404 and (await response.json())["error"] == "not_found"
    response = await client.post("/sizzle/ana/master.m3u8")
    assert response.status == 405 and (await response.json())["error"] == "method_not_allowed"


@pytest.mark.parametrize("path", [
    "/sizzle/media/0000000000000000/540p/s00000.m4s",  # wrong catalog version
    "/sizzle/media/{v}/720p/s00000.m4s",  # unknown rendition
    "/sizzle/media/{v}/540p/s99999.m4s",  # past the last segment
    "/sizzle/media/{v}/540p/..%2Fcatalog.json",  # traversal
    "/sizzle/media/{v}/540p/catalog.json",
])
async def test_media_rejects_what_is_not_in_the_package(client, package, path):
    response = await client.get(path.format(v=package[2]["version"]))
    assert response.status == 404
    assert response.headers["Content-Type"].startswith("application/json")


async def test_cors_preflight(client):
    response = await client.options("/sizzle/media/x/540p/s00000.m4s", headers={
        "Origin": "http://elsewhere.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "range"})
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Range" in response.headers["Access-Control-Allow-Headers"]
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert "Content-Range" in response.headers["Access-Control-Expose-Headers"]


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status == 200 and (await response.json()) == {"status": "ok"}


async def test_token_from_another_catalog_version_is_410(aiohttp_client, tmp_path, package):
    _, profiles, _ = package
    old = make_catalog(titles=6, seed=2)
    old_app = create_app(Settings(catalog=write_package(tmp_path / "old", old), signing_keys=KEY,
                                  active_key=7))
    old_client = await aiohttp_client(old_app)
    master = m3u8.loads(await (await old_client.get("/sizzle/ana/master.m3u8")).text())
    token = master.playlists[0].uri.split("/")[2]
    path, _, _ = package
    new_client = await aiohttp_client(create_app(Settings(catalog=path, signing_keys=KEY, active_key=7)))
    response = await new_client.get(f"/sizzle/v/{token}/540p.m3u8")
    assert response.status == 410
    assert orjson.loads(await response.read())["error"] == "catalog_gone"
