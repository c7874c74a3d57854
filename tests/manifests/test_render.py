"""Playlists keep every applicable rule of HLS_RULES.md; m3u8 parses them back as the oracle."""
from __future__ import annotations

import math
import re

import m3u8
import orjson
import pytest

from loadtest.synthetic_catalog import make_catalog
from manifests.cadence import DEFAULT_CADENCE
from manifests.catalog import parse_catalog
from manifests.planner import Plan, plan_reel, rank_titles
from manifests.render import bandwidth, build_index, plan_document, render_master, render_variant

PREFIX = "../../media/v1/"


@pytest.fixture(scope="module")
def catalog():
    return parse_catalog(orjson.dumps(make_catalog(titles=8)))


@pytest.fixture(scope="module")
def index(catalog):
    return build_index(catalog, PREFIX)


def reels(catalog, count=25):
    for n in range(count):
        ranking = rank_titles(catalog, [f"t{(n + k) % 8}" for k in range(5)])
        yield plan_reel(catalog, ranking, f"viewer{n}", DEFAULT_CADENCE)


def tags(text: str, name: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(name)]


def test_media_playlists(catalog, index):
    for plan in reels(catalog):
        positions = {}
        for rid in index.renditions:
            text = render_variant(index, plan, rid).decode()
            assert text.startswith("#EXTM3U\n") and "\ufeff" not in text
            assert tags(text, "#EXT-X-VERSION") == ["#EXT-X-VERSION:6"]
            assert tags(text, "#EXT-X-PLAYLIST-TYPE") == ["#EXT-X-PLAYLIST-TYPE:VOD"]
            assert text.endswith("#EXT-X-ENDLIST\n")
            playlist = m3u8.loads(text)
            assert playlist.is_endlist and playlist.playlist_type == "vod"
            expected = [n for c in plan.clips for n in catalog.clips[c].segments]
            assert len(playlist.segments) == len(expected)
            for seg, n in zip(playlist.segments, expected):
                assert seg.duration == pytest.approx(catalog.segments[n].duration, abs=1e-6)
                assert seg.uri == f"{PREFIX}{rid}/s{n:05d}.m4s"
                assert seg.init_section is not None and seg.init_section.uri == f"{PREFIX}{rid}/init.mp4"
            assert playlist.target_duration >= max(round(s.duration) for s in playlist.segments)
            assert playlist.target_duration == catalog.target_duration
            # discontinuity exactly where the next segment is not the one after it in the encode
            marks = [i for i, seg in enumerate(playlist.segments) if seg.discontinuity]
            wanted = [i for i in range(1, len(expected)) if expected[i] != expected[i - 1] + 1]
            assert marks == wanted
            positions[rid] = marks
            # relative URIs only, so the edge works behind any prefix
            assert not re.search(r"^(https?:|/)", text, re.M)
        assert len({tuple(v) for v in positions.values()}) == 1


def test_adjacent_clips_get_no_discontinuity(catalog, index):
    plan = Plan(catalog.version, (0, 1, 2, 10))  # clips 0,1,2 follow each other in the encode
    text = render_variant(index, plan, "540p").decode()
    assert text.count("#EXT-X-DISCONTINUITY") == 1


def test_master_playlist(catalog, index):
    for plan in reels(catalog):
        text = render_master(index, plan, "../v/TOKEN/").decode()
        master = m3u8.loads(text)
        assert master.is_variant and "#EXT-X-INDEPENDENT-SEGMENTS" in text
        segments = [n for c in plan.clips for n in catalog.clips[c].segments]
        total = sum(catalog.segments[n].duration for n in segments)
        for variant, rendition in zip(master.playlists, catalog.renditions):
            info = variant.stream_info
            assert variant.uri == f"../v/TOKEN/{rendition.id}.m3u8"
            assert info.codecs == rendition.codecs
            assert info.resolution == (rendition.width, rendition.height)
            assert info.frame_rate == pytest.approx(30.0)
            bits = [catalog.segments[n].bytes[rendition.id] * 8 for n in segments]
            assert info.average_bandwidth == pytest.approx(sum(bits) / total, abs=1)
            # peak: never below the average, never above the densest single segment
            densest = max(b / catalog.segments[n].duration for b, n in zip(bits, segments))
            assert info.average_bandwidth <= info.bandwidth <= densest + 1


def test_bandwidth_follows_apples_window_definition():
    # target 2 s: windows of 1-3 s; the 0.5 s burst only counts averaged with a neighbour
    durations = [1.0, 0.5, 1.0, 1.0]
    bits = [1000, 4000, 1000, 1000]
    peak, average = bandwidth(durations, bits, 2)
    assert average == math.ceil(7000 / 3.5)
    assert peak == math.ceil(5000 / 1.5)


def test_plan_document_matches_the_reel(catalog):
    plan = next(reels(catalog))
    doc = plan_document(catalog, plan)
    assert [c["clip"] for c in doc["clips"]] == [catalog.clips[i].id for i in plan.clips]
    starts = [c["start"] for c in doc["clips"]]
    assert starts[0] == 0 and starts == sorted(starts)
    assert doc["duration"] == pytest.approx(sum(catalog.clips[i].duration for i in plan.clips))
    assert math.isclose(starts[-1] + doc["clips"][-1]["duration"], doc["duration"], abs_tol=1e-5)


def test_fast_peak_equals_apples_windowed_peak(catalog, index):
    from manifests.render import reel_bandwidth

    assert index.peak_by_clip
    for plan in reels(catalog, 40):
        segments = [n for c in plan.clips for n in catalog.clips[c].segments]
        durations = [catalog.segments[n].duration for n in segments]
        for entry in index.renditions.values():
            slow = bandwidth(durations, [entry.segment_bits[n] for n in segments], catalog.target_duration)
            assert reel_bandwidth(index, plan, entry, sum(durations)) == slow


def test_short_segments_take_the_windowed_path():
    short = parse_catalog(orjson.dumps(make_catalog(titles=3, lengths=(25, 40, 100))))
    index = build_index(short, PREFIX)
    assert not index.peak_by_clip  # 20- and 25-frame segments are shorter than half the target
    plan = plan_reel(short, [0, 1, 2], "x", DEFAULT_CADENCE)
    master = m3u8.loads(render_master(index, plan, "v/").decode())
    segments = [n for c in plan.clips for n in short.clips[c].segments]
    durations = [short.segments[n].duration for n in segments]
    entry = index.renditions["540p"]
    peak, average = bandwidth(durations, [entry.segment_bits[n] for n in segments], short.target_duration)
    assert (master.playlists[0].stream_info.bandwidth, master.playlists[0].stream_info.average_bandwidth) \
        == (peak, average)
