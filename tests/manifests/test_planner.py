from __future__ import annotations

import orjson
import pytest

from loadtest.synthetic_catalog import make_catalog
from manifests.cadence import DEFAULT_CADENCE, Cadence, Slot
from manifests.catalog import parse_catalog
from manifests.planner import plan_reel, rank_titles


@pytest.fixture(scope="module")
def catalog():
    return parse_catalog(orjson.dumps(make_catalog(titles=8)))


def test_same_viewer_same_reel_on_any_node(catalog):
    ranking = rank_titles(catalog, ["t3", "t1"])
    first = plan_reel(catalog, ranking, "viewer-1", DEFAULT_CADENCE)
    # a second, independently parsed catalog stands in for another node
    other = parse_catalog(orjson.dumps(make_catalog(titles=8)))
    assert plan_reel(other, rank_titles(other, ["t3", "t1"]), "viewer-1", DEFAULT_CADENCE) == first


def test_different_viewers_get_different_reels_from_the_same_ranking(catalog):
    ranking = rank_titles(catalog, ["t0", "t1", "t2", "t3", "t4"])
    reels = {plan_reel(catalog, ranking, f"user{n}", DEFAULT_CADENCE).clips for n in range(20)}
    assert len(reels) > 10


@pytest.mark.parametrize("user", [f"u{n}" for n in range(30)])
def test_no_clip_twice_and_cadence_kept(catalog, user):
    ranking = rank_titles(catalog, ["t5", "t2", "t7", "t0", "t1"])
    plan = plan_reel(catalog, ranking, user, DEFAULT_CADENCE)
    assert len(plan.clips) == len(set(plan.clips)) == len(DEFAULT_CADENCE.slots)
    for slot, index in zip(DEFAULT_CADENCE.slots, plan.clips):
        clip = catalog.clips[index]
        assert clip.frames == slot.frames
        assert clip.title == ranking[slot.rank - 1]


def test_default_cadence_favours_higher_ranks():
    times = [DEFAULT_CADENCE.screen_time(rank) for rank in range(1, 6)]
    assert times == sorted(times, reverse=True) and times[0] > times[-1]
    rounds = [slot.rank for slot in DEFAULT_CADENCE.slots]
    assert rounds == [1, 2, 3, 4, 5] * 3


def test_ranking_drops_unknown_and_repeated_titles_and_fills_from_catalog(catalog):
    ranking = rank_titles(catalog, ["nope", "t4", "t4", "t2"])
    assert ranking[:2] == [catalog.title_index["t4"], catalog.title_index["t2"]]
    assert sorted(ranking) == list(range(len(catalog.titles)))
    assert rank_titles(catalog, []) == list(range(len(catalog.titles)))


def test_missing_length_takes_nearest_and_exhausted_title_yields_its_slot():
    catalog = parse_catalog(orjson.dumps(make_catalog(titles=3, lengths=(40, 80))))
    cadence = Cadence("t", (Slot(1, 160), Slot(1, 160), Slot(1, 160), Slot(2, 40)))
    plan = plan_reel(catalog, [0, 1, 2], "x", cadence)
    clips = [catalog.clips[i] for i in plan.clips]
    assert [c.frames for c in clips[:2]] == [80, 40]  # nearest length first, then what is left
    assert clips[2].title == 1  # title 0 is exhausted: the slot went to the next title
    assert len(set(plan.clips)) == len(plan.clips) == 4


def test_catalog_too_small_gives_a_shorter_reel_not_an_error():
    catalog = parse_catalog(orjson.dumps(make_catalog(titles=2, lengths=(40,))))
    plan = plan_reel(catalog, [0, 1], "x", DEFAULT_CADENCE)
    assert sorted(plan.clips) == [0, 1]


@pytest.mark.parametrize("user", [f"d{n}" for n in range(20)])
def test_ranking_cut_at_cadence_depth_plans_the_same_reel(user):
    thin = parse_catalog(orjson.dumps(make_catalog(titles=40, lengths=(40, 160))))
    preferred = [f"t{(n * 3) % 40}" for n in range(4)]
    full = plan_reel(thin, rank_titles(thin, preferred), user, DEFAULT_CADENCE)
    cut = plan_reel(thin, rank_titles(thin, preferred, DEFAULT_CADENCE.depth), user, DEFAULT_CADENCE)
    assert cut == full and len(full.clips) == len(DEFAULT_CADENCE.slots)
