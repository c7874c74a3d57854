"""`sizzle demo` set-up: works without ../shared/media, builds once, viewers of different tastes."""
from __future__ import annotations

import orjson

from edge.demo import demo_profiles, prepare_demo
from manifests.cadence import DEFAULT_CADENCE
from manifests.catalog import parse_catalog
from manifests.planner import plan_reel, rank_titles


def test_demo_without_footage_builds_synthetic_titles_once(tmp_path):
    out = tmp_path / "demo"
    catalog_path, profiles_path = prepare_demo(out, tmp_path / "no-media-here")
    catalog = parse_catalog(catalog_path.read_bytes())
    assert len(catalog.titles) == 4 and len(catalog.renditions) >= 2
    built = catalog_path.stat().st_mtime_ns
    assert prepare_demo(out, tmp_path / "no-media-here")[0].stat().st_mtime_ns == built
    profiles = [orjson.loads(line) for line in profiles_path.read_bytes().splitlines()]
    assert [p["user"] for p in profiles] == ["ana", "ben", "chloe", "dev"]
    reels = {}
    for profile in profiles:
        ranking = rank_titles(catalog, profile["titles"], DEFAULT_CADENCE.depth,
                              frozenset(profile.get("talent", [])))
        reels[profile["user"]] = plan_reel(catalog, ranking, profile["user"], DEFAULT_CADENCE,
                                           talent=frozenset(profile.get("talent", []))).clips
    assert len(set(reels.values())) == 4
    # ana and dev share a favourite: both reels open on it and give it the most screen time
    for user in ("ana", "dev"):
        screen: dict[int, int] = {}
        for clip in reels[user]:
            screen[catalog.clips[clip].title] = screen.get(catalog.clips[clip].title, 0) + \
                catalog.clips[clip].frames
        top = catalog.title_index[profiles[0]["titles"][0]]
        assert catalog.clips[reels[user][0]].title == top
        assert screen[top] == max(screen.values())


def test_demo_viewers_have_clearly_different_tastes():
    ids = [f"t{n}" for n in range(6)]
    profiles = {p["user"]: p["titles"] for p in demo_profiles(ids)}
    assert profiles["ana"][0] != profiles["ben"][0] != profiles["chloe"][0]
    assert profiles["dev"][0] == profiles["ana"][0] and profiles["dev"] != profiles["ana"]
    assert all(sorted(titles) == ids for titles in profiles.values())
