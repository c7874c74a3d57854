"""Continuous timelines (tfdt rewritten per segment URL), demuxed audio and music beds over HTTP."""
from __future__ import annotations

import subprocess
import sys

import m3u8
import orjson
import pytest

from edge.app import create_app
from edge.settings import Settings
from ingest import boxes
from loadtest.synthetic_catalog import make_catalog, write_package
from manifests.cadence import parse_cadences

KEY = {3: b"t" * 32}
CADENCES = b'{"cadences": {"music": {"rounds": [[80, 40, 40], [40, 40]], "bed": "bed"}}, ' \
           b'"allow": ["default", "short", "music"]}'


@pytest.fixture(scope="module")
def demuxed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demuxed")
    catalog = make_catalog(titles=6, demuxed=True, bed_segments=40)
    return write_package(folder, catalog), catalog


@pytest.fixture(scope="module")
def muxed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("muxed")
    catalog = make_catalog(titles=6)
    return write_package(folder, catalog), catalog


def settings(path, **extra):
    return Settings(catalog=path, signing_keys=KEY, active_key=3,
                    cadences=parse_cadences(CADENCES), **extra)


@pytest.fixture
async def client(aiohttp_client, demuxed):
    return await aiohttp_client(create_app(settings(demuxed[0])))


async def text(client, url, status=200):
    response = await client.get(url)
    assert response.status == status, await response.text()
    return await response.text()


def tfdts(data: bytes) -> dict[int, int]:
    found = {}
    for traf in boxes.find_all(data, None, "moof/traf"):
        track = boxes.read_tfhd(data, boxes.find(data, traf, "tfhd")).track_id
        found[track] = boxes.read_tfdt(data, boxes.find(data, traf, "tfdt"))[1]
    return found


async def test_continuous_reel_has_no_discontinuity_and_timed_uris(client, demuxed):
    _, catalog = demuxed
    master = m3u8.loads(await text(client, "/sizzle/ana/master.m3u8"))
    variant_uri = master.playlists[0].uri
    playlist = m3u8.loads(await text(client, "/sizzle/ana/" + variant_uri))
    assert "#EXT-X-DISCONTINUITY" not in playlist.dumps()
    frame = 0
    for segment in playlist.segments:
        name = segment.uri.rsplit("/", 1)[1]
        index = int(name[1:6])
        assert name == f"s{index:05d}.t{frame}.m4s"
        frame += catalog["segments"][index]["frames"]
    plan = orjson.loads(await text(client, "/sizzle/ana/plan.json"))
    assert plan["timeline"] == "continuous" and plan["audio"] == {"kind": "clips"}
    assert sum(c["frames"] for c in plan["clips"]) == frame


async def test_retimed_segment_differs_only_in_tfdt(client, demuxed):
    path, catalog = demuxed
    master = m3u8.loads(await text(client, "/sizzle/ana/master.m3u8"))
    base = "/sizzle/ana/" + master.playlists[0].uri
    playlist = m3u8.loads(await text(client, base))
    later = [s for s in playlist.segments if int(s.uri.rsplit(".t", 1)[1][:-4]) > 0]
    for segment in later[:3]:
        url = base.rsplit("/", 1)[0] + "/" + segment.uri
        response = await client.get(url)
        assert response.status == 200 and response.headers["Content-Type"] == "video/mp4"
        assert "immutable" in response.headers["Cache-Control"]
        served = await response.read()
        name = segment.uri.rsplit("/", 1)[1]
        index, frame = int(name[1:6]), int(name.split(".t")[1][:-4])
        original = (path.parent / "540p" / f"s{index:05d}.m4s").read_bytes()
        assert tfdts(served) == {1: frame * 512}
        assert len(served) == len(original)
        assert sum(a != b for a, b in zip(served, original)) <= 8  # one 64-bit field
        # Range on a retimed segment
        ranged = await client.get(url, headers={"Range": "bytes=0-99"})
        assert ranged.status == 206 and await ranged.read() == served[:100]
        assert ranged.headers["Content-Range"] == f"bytes 0-99/{len(served)}"


async def test_audio_rendition_follows_the_cuts(client, demuxed):
    _, catalog = demuxed
    body = await text(client, "/sizzle/ana/master.m3u8")
    assert '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Original",LANGUAGE="en",CHANNELS="2",' \
           'DEFAULT=YES,AUTOSELECT=YES,URI=' in body
    master = m3u8.loads(body)
    assert all(p.stream_info.audio == "audio" for p in master.playlists)
    assert all(p.stream_info.codecs.endswith(",mp4a.40.2") for p in master.playlists)
    audio_uri = master.media[0].uri
    video = m3u8.loads(await text(client, "/sizzle/ana/" + master.playlists[0].uri))
    audio = m3u8.loads(await text(client, "/sizzle/ana/" + audio_uri))
    assert [s.uri.replace("audio/", "540p/") for s in audio.segments] == [s.uri for s in video.segments]
    assert audio.target_duration == video.target_duration
    # EXTINF is next start minus this start on the reel's timeline: every clip's audio starts with
    # its video, so the audio EXTINFs add up to the video's at every clip boundary
    video_time = audio_time = 0.0
    for v, a in zip(video.segments, audio.segments):
        video_time += v.duration
        audio_time += a.duration
        index = int(v.uri.rsplit("/", 1)[1][1:6])
        if any(index == clip["segments"][-1] for clip in catalog["clips"]):
            assert abs(video_time - audio_time) < 1e-5, (video_time, audio_time)
    # an audio segment moves by the same time, in its own timescale, less its clip's audio lead:
    # every clip's audio starts exactly with its video (the reel at 0), contiguous within the clip
    offsets = {n: -(-s["start_frame"] * 1600 // 1024) * 1024 - s["start_frame"] * 1600
               for n, s in enumerate(catalog["segments"])}
    first_of = {n: clip["segments"][0] for clip in catalog["clips"] for n in clip["segments"]}
    audio_dir = "/sizzle/ana/" + audio_uri.rsplit("/", 1)[0]
    leads = set()
    for segment in audio.segments:
        name = segment.uri.rsplit("/", 1)[1]
        index, frame = int(name[1:6]), int(name.split(".t")[1][:-4])
        served = await (await client.get(f"{audio_dir}/{segment.uri}")).read()
        assert tfdts(served) == {1: frame * 1600 + offsets[index] - offsets[first_of[index]]}
        if index == first_of[index]:
            assert tfdts(served) == {1: frame * 1600}
        leads.add(offsets[first_of[index]])
    assert leads == {0, 512}  # both kinds of clip start were exercised


async def test_discontinuous_on_request(client):
    body = await text(client, "/sizzle/ana/master.m3u8?timeline=discontinuous")
    uri = m3u8.loads(body).playlists[0].uri
    playlist = await text(client, "/sizzle/ana/" + uri)
    assert ".t" not in playlist and "#EXT-X-DISCONTINUITY" in playlist
    plan = orjson.loads(await text(client, "/sizzle/ana/plan.json?timeline=discontinuous"))
    assert plan["timeline"] == "discontinuous" and plan["master"] == "master.m3u8?timeline=discontinuous"
    assert plan["variants"]["540p"] == uri


@pytest.mark.parametrize(("query", "code"), [
    ("timeline=sideways", "unknown_timeline"),
    ("cadence=music&timeline=discontinuous", "timeline_conflict"),
])
async def test_bad_timeline_requests(client, query, code):
    response = await client.get(f"/sizzle/ana/master.m3u8?{query}")
    assert response.status == 400 and (await response.json())["error"] == code


async def test_music_bed_runs_under_the_cuts(client, demuxed):
    _, catalog = demuxed
    body = await text(client, "/sizzle/ana/master.m3u8?cadence=music")
    master = m3u8.loads(body)
    assert master.media[0].name == "Test Bed"
    bed = m3u8.loads(await text(client, "/sizzle/ana/" + master.media[0].uri))
    plan = orjson.loads(await text(client, "/sizzle/ana/plan.json?cadence=music"))
    assert plan["audio"] == {"kind": "bed", "bed": "bed", "name": "Test Bed", "credit": "nobody"}
    frames = sum(c["frames"] for c in plan["clips"])
    count = -(-frames // catalog["segment_frames"])
    uris = [s.uri.rsplit("/", 2)[1:] for s in bed.segments]
    assert uris == [["bed", f"s{k:05d}.m4s"] for k in range(count - 1)] + [["bed", f"f{count - 1:05d}.m4s"]]
    assert "#EXT-X-DISCONTINUITY" not in bed.dumps()
    video = m3u8.loads(await text(client, "/sizzle/ana/" + master.playlists[0].uri))
    assert bed.target_duration == video.target_duration
    bed_dir = "/sizzle/ana/" + master.media[0].uri.rsplit("/", 1)[0]
    for segment in bed.segments[-2:]:
        response = await client.get(f"{bed_dir}/{segment.uri}")
        assert response.status == 200 and response.headers["Content-Type"] == "audio/mp4"
    # BANDWIDTH covers video and the bed
    total_bed_bits = sum(s["bytes"] for s in catalog["music"][0]["segments"][:count - 1]) * 8
    assert master.playlists[0].stream_info.average_bandwidth > total_bed_bits / (frames / 30)


async def test_bad_media_urls(client, demuxed):
    _, catalog = demuxed
    version = catalog["version"]
    for rest, status in [("540p/s00001.t-5.m4s", 404), ("540p/s99999.t0.m4s", 404),
                         ("540p/init.t0.mp4", 404), ("music/bed/s00001.t40.m4s", 404),
                         ("540p/s00001.t99999999999.m4s", 404), ("540p/../catalog.json", 404),
                         ("540p/s1.t0.m4s", 404), ("nothing/s00001.t0.m4s", 404)]:
        response = await client.get(f"/sizzle/media/{version}/{rest}")
        assert response.status == status, rest
        assert "error" in await response.json()


async def test_corrupt_segment_is_a_clear_502(aiohttp_client, tmp_path):
    catalog = make_catalog(titles=2, demuxed=True)
    path = write_package(tmp_path, catalog)
    (tmp_path / "540p" / "s00002.m4s").write_bytes(b"\0\0\0\x09moofX")
    client = await aiohttp_client(create_app(settings(path).__class__(catalog=path, signing_keys=KEY,
                                                                      active_key=3)))
    response = await client.get(f"/sizzle/media/{catalog['version']}/540p/s00002.t80.m4s")
    assert response.status == 502 and (await response.json())["error"] == "bad_media"
    plain = await client.get(f"/sizzle/media/{catalog['version']}/540p/s00002.m4s")
    assert plain.status == 200


async def test_bed_cadence_is_bounded_by_the_asset_not_the_cadence(tmp_path):
    """A bed needs to cover the longest possible reel: the cadence, or the whole Mega Asset when
    that is shorter (no clip twice); a muxed catalog cannot carry a bed at all."""
    from edge.state import load
    from manifests.catalog import CatalogError
    from manifests.token import Signer

    catalog = make_catalog(titles=1, lengths=(40, 80), demuxed=True, bed_segments=3)  # 120 frames
    (tmp_path / "short").mkdir()
    path = write_package(tmp_path / "short", catalog)
    book = parse_cadences(CADENCES)  # "music" asks 280 frames
    loaded = load(path, Signer(KEY, 3), book)
    assert loaded.bed_index(loaded.cadences.cadences["music"]) == 0
    catalog = make_catalog(titles=1, lengths=(40, 80, 80), demuxed=True, bed_segments=3)  # 200 frames
    (tmp_path / "long").mkdir()
    with pytest.raises(CatalogError, match="covers only 120"):
        load(write_package(tmp_path / "long", catalog), Signer(KEY, 3), book)


async def test_muxed_package_retimes_both_tracks(aiohttp_client, muxed):
    path, catalog = muxed
    client = await aiohttp_client(create_app(Settings(catalog=path, signing_keys=KEY, active_key=3)))
    master = m3u8.loads(await text(client, "/sizzle/ben/master.m3u8"))
    assert not master.media  # audio is muxed: no EXT-X-MEDIA
    served = await (await client.get(f"/sizzle/media/{catalog['version']}/360p/s00007.t120.m4s")).read()
    start = catalog["segments"][7]["start_frame"]
    offset = -(-start * 1600 // 1024) * 1024 - start * 1600
    assert tfdts(served) == {1: 120 * 512, 2: 120 * 1600 + offset}


def run_serve(*args):
    return subprocess.run([sys.executable, "-m", "edge.cli", "serve", *args], capture_output=True,
                          text=True, timeout=60)


def test_bed_cadence_needs_continuous_deployment(tmp_path, demuxed):
    cadences = tmp_path / "cadences.json"
    cadences.write_bytes(CADENCES)
    result = run_serve("--catalog", str(demuxed[0]), "--cadences", str(cadences),
                       "--timeline", "discontinuous")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "needs --timeline continuous" in result.stderr.strip().splitlines()[-1]


def test_bed_cadence_on_a_catalog_without_that_bed(tmp_path, muxed):
    cadences = tmp_path / "cadences.json"
    cadences.write_bytes(CADENCES)
    result = run_serve("--catalog", str(muxed[0]), "--cadences", str(cadences), "--port", "1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "music bed 'bed'" in result.stderr.strip().splitlines()[-1]


async def test_ts_package_is_served_discontinuous_only(aiohttp_client, tmp_path):
    """Indexed third-party MPEG-TS packages: no init, version 3, no tfdt to rewrite."""
    catalog = make_catalog(titles=3, renditions=1)
    for rendition in catalog["renditions"]:
        rendition.update(container="ts", init=None,
                         segment_uris=[f"ts/seg{n}.ts" for n in range(len(catalog["segments"]))])
        del rendition["segment_template"]
    (tmp_path / "ts").mkdir()
    for n, segment in enumerate(catalog["segments"]):
        (tmp_path / "ts" / f"seg{n}.ts").write_bytes(b"G" * segment["bytes"]["360p"])
    (tmp_path / "catalog.json").write_bytes(orjson.dumps(catalog))
    client = await aiohttp_client(create_app(Settings(catalog=tmp_path / "catalog.json", signing_keys=KEY,
                                                      active_key=3)))
    master = m3u8.loads(await text(client, "/sizzle/ana/master.m3u8"))
    body = await text(client, "/sizzle/ana/" + master.playlists[0].uri)
    assert "#EXT-X-VERSION:3\n" in body and "EXT-X-MAP" not in body and ".t0." not in body
    playlist = m3u8.loads(body)
    variant_dir = ("/sizzle/ana/" + master.playlists[0].uri).rsplit("/", 1)[0]
    response = await client.get(variant_dir + "/" + playlist.segments[0].uri)
    assert response.status == 200 and response.headers["Content-Type"] == "video/mp2t"
    refused = await client.get("/sizzle/ana/master.m3u8?timeline=continuous")
    assert refused.status == 400 and (await refused.json())["error"] == "timeline_unavailable"
