"""Each rule fires: deliberately broken playlists, headers and segment bytes fed to the pure checks.
The segment bytes come from the tiny generated package (real x264/AAC fMP4), then get broken."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import orjson
import pytest

from conformance import http_rules, master_rules, media_rules, segment_rules
from conformance.decode import check_decodes
from conformance.fmp4 import InitInfo, parse_init, parse_segment
from conformance.http_rules import Answer
from conformance.playlist import parse_master, parse_media
from ingest import boxes

MASTER = """#EXTM3U
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=1000,AVERAGE-BANDWIDTH=800,CODECS="avc1.64001e,mp4a.40.2",\
RESOLUTION=640x360,FRAME-RATE=30.000
a.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=500,AVERAGE-BANDWIDTH=400,CODECS="avc1.640015,mp4a.40.2",\
RESOLUTION=426x240,FRAME-RATE=30.000
b.m3u8
"""
VARIANT = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init.mp4"
#EXTINF:1.333333,
s00000.m4s
#EXTINF:1.6,
s00001.m4s
#EXT-X-DISCONTINUITY
#EXTINF:1.333333,
s00007.m4s
#EXT-X-ENDLIST
"""


def rules(found: list[Any]) -> set[str]:
    return {v.rule for v in found}


def media_rules_of(text: str) -> set[str]:
    return rules(media_rules.check_media("v.m3u8", parse_media(text)))


def test_good_playlists_pass() -> None:
    assert master_rules.check_master(parse_master(MASTER)) == []
    assert media_rules.check_media("v", parse_media(VARIANT)) == []
    assert media_rules.check_variants_agree({"a": parse_media(VARIANT), "b": parse_media(VARIANT)}) == []


@pytest.mark.parametrize(("old", "new", "rule"), [
    ("#EXT-X-TARGETDURATION:2", "#EXT-X-TARGETDURATION:1", "TARGETDURATION"),  # below round(EXTINF)
    ("#EXT-X-TARGETDURATION:2", "#EXT-X-TARGETDURATION:2.0", "TARGETDURATION"),
    ("#EXT-X-TARGETDURATION:2\n", "", "TARGETDURATION"),
    ("#EXT-X-VERSION:6", "#EXT-X-VERSION:7", "VERSION"),  # higher than needed
    ("#EXT-X-VERSION:6", "#EXT-X-VERSION:3", "VERSION"),  # too low for EXT-X-MAP
    ("#EXT-X-VERSION:6", "#EXT-X-VERSION:6\n#EXT-X-VERSION:6", "VERSION"),  # twice
    ("#EXT-X-PLAYLIST-TYPE:VOD\n", "", "VOD"),
    ("#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-PLAYLIST-TYPE:EVENT", "VOD"),
    ("#EXT-X-ENDLIST\n", "", "ENDLIST"),
    ('#EXT-X-MAP:URI="init.mp4"\n', "", "MAP"),  # segments outside any MAP
    ("s00001.m4s\n", 's00001.m4s\n#EXT-X-MAP:URI="other.mp4"\n', "MAP"),  # MAP changes... with a
])  # DISCONTINUITY it is allowed (see below), so move it before an adjacent segment instead
def test_media_playlist_rules_fire(old: str, new: str, rule: str) -> None:
    text = VARIANT.replace(old, new, 1)
    if rule == "MAP" and "other" in new:
        text = VARIANT.replace("#EXTINF:1.6,\ns00001.m4s", '#EXT-X-MAP:URI="other.mp4"\n'
                               "#EXTINF:1.6,\ns00001.m4s", 1)
    assert text != VARIANT
    assert rule in media_rules_of(text)


def test_map_may_change_with_a_discontinuity() -> None:
    text = VARIANT.replace("#EXT-X-DISCONTINUITY\n", '#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="b.mp4"\n')
    assert media_rules_of(text) == set()


def test_variants_must_agree() -> None:
    a = parse_media(VARIANT)
    moved = parse_media(VARIANT.replace("#EXT-X-DISCONTINUITY\n", "").replace(
        "#EXTINF:1.6,\ns00001.m4s", "#EXT-X-DISCONTINUITY\n#EXTINF:1.6,\ns00001.m4s"))
    assert "DISCONTINUITY" in rules(media_rules.check_variants_agree({"a": a, "b": moved}))
    other_target = parse_media(VARIANT.replace("TARGETDURATION:2", "TARGETDURATION:3"))
    assert "TARGETDURATION" in rules(media_rules.check_variants_agree({"a": a, "b": other_target}))
    shorter = parse_media(VARIANT.replace("#EXTINF:1.333333,\ns00000.m4s\n", ""))
    assert "ALIGNMENT" in rules(media_rules.check_variants_agree({"a": a, "b": shorter}))
    timing = parse_media(VARIANT.replace("#EXTINF:1.333333,\ns00000.m4s", "#EXTINF:1.3,\ns00000.m4s"))
    assert "ALIGNMENT" in rules(media_rules.check_variants_agree({"a": a, "b": timing}))


@pytest.mark.parametrize(("old", "new", "rule"), [
    ("#EXT-X-INDEPENDENT-SEGMENTS\n", "", "INDEPENDENT-SEGMENTS"),
    ("BANDWIDTH=1000,", "", "BANDWIDTH"),
    ("AVERAGE-BANDWIDTH=800,", "", "AVERAGE-BANDWIDTH"),
    ('CODECS="avc1.64001e,mp4a.40.2",', "", "CODECS"),
    ("RESOLUTION=640x360,", "", "RESOLUTION"),
    (",FRAME-RATE=30.000\na.m3u8", "\na.m3u8", "FRAME-RATE"),
])
def test_master_rules_fire(old: str, new: str, rule: str) -> None:
    text = MASTER.replace(old, new, 1)
    assert text != MASTER
    assert rule in rules(master_rules.check_master(parse_master(text)))


def test_bandwidth_against_real_sizes() -> None:
    durations = [2.0, 2.0, 2.0, 2.0]
    sizes = [100_000, 100_000, 300_000, 100_000]  # peak window: the third segment alone
    attributes = {"BANDWIDTH": "1200000", "AVERAGE-BANDWIDTH": "600000"}
    assert master_rules.check_bandwidth("a", attributes, durations, sizes, 2) == []
    assert master_rules.check_bandwidth("a", {**attributes, "BANDWIDTH": "1090000"}, durations, sizes,
                                        2) == []  # within 10%
    low = master_rules.check_bandwidth("a", {**attributes, "BANDWIDTH": "1000000"}, durations, sizes, 2)
    assert rules(low) == {"BANDWIDTH"}
    high = master_rules.check_bandwidth("a", {**attributes, "AVERAGE-BANDWIDTH": "700000"}, durations,
                                        sizes, 2)
    assert rules(high) == {"AVERAGE-BANDWIDTH"}


def test_codecs_resolution_and_frame_rate_against_the_media() -> None:
    attributes = parse_master(MASTER).variants[0].attributes
    assert master_rules.check_codecs("a", attributes, ["avc1.64001e", "mp4a.40.2"]) == []
    assert rules(master_rules.check_codecs("a", attributes, ["avc1.64001f", "mp4a.40.2"])) == {"CODECS"}
    assert rules(master_rules.check_codecs("a", attributes, ["avc1.64001e"])) == {"CODECS"}
    assert master_rules.check_resolution("a", attributes, 640, 360) == []
    assert rules(master_rules.check_resolution("a", attributes, 426, 240)) == {"RESOLUTION"}
    assert master_rules.check_frame_rate("a", attributes, 30.0) == []
    assert rules(master_rules.check_frame_rate("a", attributes, 25.0)) == {"FRAME-RATE"}


GOOD_MEDIA_HEADERS = {"content-type": "video/mp4", "access-control-allow-origin": "*",
                      "access-control-expose-headers": "Content-Length, Content-Range",
                      "cache-control": "public, max-age=31536000, immutable"}


def answer(headers: dict[str, str], status: int = 200, body: bytes = b"#EXTM3U\n",
           final: str = "http://e/x") -> Answer:
    return Answer("http://e/x", final, status, headers, body)


def test_http_rules_fire() -> None:
    media = answer(GOOD_MEDIA_HEADERS)
    assert http_rules.check_answer("media", "v", "s", media) == []
    playlist = {**GOOD_MEDIA_HEADERS, "content-type": "application/vnd.apple.mpegurl"}
    assert http_rules.check_answer("variant", "v", None, answer(playlist)) == []
    master = {**playlist, "cache-control": "private, no-store"}
    assert http_rules.check_answer("master", "master", None, answer(master)) == []

    def fired(kind: http_rules.Kind, headers: dict[str, str], **kw: Any) -> set[str]:
        return rules(http_rules.check_answer(kind, "v", None, answer(headers, **kw)))

    assert fired("media", {**GOOD_MEDIA_HEADERS, "content-type": "application/octet-stream"}) == {
        "CONTENT-TYPE"}
    assert fired("variant", {**playlist, "content-type": "text/plain"}) == {"CONTENT-TYPE"}
    assert fired("media", {k: v for k, v in GOOD_MEDIA_HEADERS.items()
                           if k != "access-control-allow-origin"}) == {"CORS"}
    assert fired("media", {**GOOD_MEDIA_HEADERS, "access-control-expose-headers": "Content-Length"}) == {
        "CORS"}
    assert fired("master", {**master, "cache-control": "no-cache"}) == {"CACHE"}
    assert fired("master", playlist) == {"CACHE"}  # a per-viewer master cached publicly
    assert fired("variant", {**playlist, "cache-control": "public, max-age=31536000"}) == {"CACHE"}
    assert fired("media", {**GOOD_MEDIA_HEADERS, "cache-control": "private, no-store"}) == {"CACHE"}
    assert fired("variant", playlist, body=b"\xef\xbb\xbf#EXTM3U\n") == {"ENCODING"}
    assert fired("media", GOOD_MEDIA_HEADERS, final="http://e/elsewhere") == {"REDIRECT"}
    assert fired("media", GOOD_MEDIA_HEADERS, status=404) == {"HTTP"}


def test_range_and_preflight_rules_fire() -> None:
    ok = answer({"content-range": "bytes 0-9/100"}, status=206, body=b"x" * 10)
    assert http_rules.check_range("v", "s", ok, 0, 9, 100) == []
    assert rules(http_rules.check_range("v", "s", answer({}, status=200, body=b"x" * 100), 0, 9, 100)) == {
        "RANGE"}
    no_header = answer({}, status=206, body=b"x" * 10)
    assert rules(http_rules.check_range("v", "s", no_header, 0, 9, 100)) == {"RANGE"}
    wrong_total = answer({"content-range": "bytes 0-9/99"}, status=206, body=b"x" * 10)
    assert rules(http_rules.check_range("v", "s", wrong_total, 0, 9, 100)) == {"RANGE"}
    short_body = answer({"content-range": "bytes 0-9/100"}, status=206, body=b"x" * 5)
    assert rules(http_rules.check_range("v", "s", short_body, 0, 9, 100)) == {"RANGE"}

    good = {"access-control-allow-origin": "*", "access-control-allow-headers": "Range",
            "access-control-allow-methods": "GET, HEAD, OPTIONS"}
    assert http_rules.check_preflight("m", answer(good, status=204)) == []
    assert rules(http_rules.check_preflight("m", answer(good, status=405))) == {"CORS"}
    no_range = {**good, "access-control-allow-headers": "Content-Type"}
    assert rules(http_rules.check_preflight("m", answer(no_range, status=204))) == {"CORS"}
    no_origin = {k: v for k, v in good.items() if k != "access-control-allow-origin"}
    assert rules(http_rules.check_preflight("m", answer(no_origin, status=204))) == {"CORS"}


# --- segment bytes ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def media(synthetic_package: Path) -> dict[str, Any]:
    catalog = orjson.loads(synthetic_package.read_bytes())
    pkg = synthetic_package.parent
    rendition = catalog["renditions"][0]
    init = (pkg / rendition["init"]).read_bytes()
    segments = [(pkg / rendition["segment_template"].format(index=n)).read_bytes()
                for n in range(len(catalog["segments"]))]
    return {"catalog": catalog, "init": init, "info": parse_init(init), "segments": segments,
            "rendition": rendition}


def video_traf(data: bytearray, info: InitInfo) -> tuple[boxes.Box, boxes.Box]:
    moof = boxes.find(data, None, "moof")
    assert moof is not None and info.video is not None
    for traf in boxes.find_all(data, moof, "traf"):
        tfhd = boxes.find(data, traf, "tfhd")
        assert tfhd is not None
        if boxes.read_tfhd(data, tfhd).track_id == info.video.id:
            return moof, traf
    raise AssertionError("no video traf")


def test_init_gives_the_real_codecs(media: dict[str, Any]) -> None:
    info = media["info"]
    assert ",".join(info.codecs) == media["rendition"]["codecs"]
    assert (info.width, info.height) == (media["rendition"]["width"], media["rendition"]["height"])


def test_keyframe_rule_fires_on_a_non_idr_first_sample(media: dict[str, Any]) -> None:
    info = media["info"]
    good = parse_segment(media["segments"][0], info)
    assert good.first_nal_types is not None and 5 in good.first_nal_types
    assert segment_rules.check_keyframe("v", "s0", info, good) == []
    assert check_decodes("v", "s0", media["init"], media["segments"][0]) == []
    # Rewrite the first sample's IDR NAL header (type 5) into a non-IDR slice (type 1).
    data = bytearray(media["segments"][0])
    run = good.tracks[info.video.id]
    assert run.data_offset is not None
    pos, size = run.data_offset, info.nal_length_size
    while data[pos + size] & 0x1F != 5:
        pos += size + int.from_bytes(data[pos:pos + size], "big")
    data[pos + size] = (data[pos + size] & 0xE0) | 1
    broken = parse_segment(bytes(data), info)
    assert rules(segment_rules.check_keyframe("v", "s0", info, broken)) == {"KEYFRAME"}


def test_keyframe_rule_fires_on_sample_flags(media: dict[str, Any]) -> None:
    info = media["info"]
    good = parse_segment(media["segments"][0], info)
    run = dataclasses.replace(good.tracks[info.video.id], first_sync=False)
    flagged = segment_rules.check_keyframe("v", "s0", info, dataclasses.replace(
        good, tracks={**good.tracks, info.video.id: run}))
    assert rules(flagged) == {"KEYFRAME"}


def test_discontinuity_rule_follows_the_decode_times(media: dict[str, Any]) -> None:
    info = media["info"]
    segments = media["segments"]
    catalog = media["catalog"]
    clips = catalog["clips"]
    # Two adjacent segments (one 80-frame clip), then a jump back to the first clip.
    adjacent = clips[2]["segments"]
    order = [*adjacent, clips[0]["segments"][0]]
    infos = [parse_segment(segments[n], info) for n in order]
    text = ('#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n'
            '#EXT-X-MAP:URI="i.mp4"\n#EXTINF:1.333333,\na\n{tag1}#EXTINF:1.333333,\nb\n'
            '{tag2}#EXTINF:1.333333,\nc\n#EXT-X-ENDLIST\n')
    right = parse_media(text.format(tag1="", tag2="#EXT-X-DISCONTINUITY\n"))
    assert segment_rules.check_cuts("v", right, info, infos) == []
    missing = parse_media(text.format(tag1="", tag2=""))
    assert [v.segment for v in segment_rules.check_cuts("v", missing, info, infos)] == ["c"]
    extra = parse_media(text.format(tag1="#EXT-X-DISCONTINUITY\n", tag2="#EXT-X-DISCONTINUITY\n"))
    assert [v.segment for v in segment_rules.check_cuts("v", extra, info, infos)] == ["b"]
    # A tfdt that does not follow on (rewritten by one frame) is a cut too.
    data = bytearray(segments[adjacent[1]])
    moof, traf = video_traf(data, info)
    tfdt = boxes.find(data, traf, "tfdt")
    assert tfdt is not None
    boxes.set_tfdt(data, tfdt, boxes.read_tfdt(data, tfdt)[1] + 512)
    shifted = [infos[0], parse_segment(bytes(data), info), infos[2]]
    assert [v.segment for v in segment_rules.check_cuts("v", right, info, shifted)] == ["b"]


def test_extinf_must_match_the_samples(media: dict[str, Any]) -> None:
    info = media["info"]
    first = parse_segment(media["segments"][0], info)
    duration = media["catalog"]["segments"][0]["duration"]
    assert segment_rules.check_extinf("v", "s0", duration, info, first) == []
    assert rules(segment_rules.check_extinf("v", "s0", duration + 0.04, info, first)) == {"EXTINF"}


def test_undecodable_segment(media: dict[str, Any]) -> None:
    assert rules(check_decodes("v", "s0", media["init"], b"\0" * 64)) <= {"DECODE", "KEYFRAME"}
    assert check_decodes("v", "s0", media["init"], b"\0" * 64)
