"""Property-based tests of the planner and tokens over random catalogs, rankings and cadences."""
from __future__ import annotations

import base64
from fractions import Fraction

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from manifests.cadence import BUILTIN, Cadence, Slot, check_monotone
from manifests.catalog import Catalog, parse_catalog
from manifests.planner import Plan, plan_reel, rank_titles
from manifests.token import Signer, TokenError

LENGTHS = (40, 80, 160)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def catalog_from(per_title: list[list[int]], talents: list[list[str]] | None = None) -> Catalog:
    segments, clips, frame = [], [], 0
    for t, lengths in enumerate(per_title):
        for n, length in enumerate(lengths):
            first = len(segments)
            left = length
            while left:
                size = min(40, left)
                segments.append({"index": len(segments), "start_frame": frame, "frames": size,
                                 "duration": size / 30, "bytes": {"a": 1000 + 7 * len(segments)}})
                frame += size
                left -= size
            clips.append({"id": f"c{t}-{n}", "title": f"t{t}", "frames": length,
                          "start_frame": frame - length,
                          "talent": (talents[t][n % len(talents[t])] if talents and talents[t] else []),
                          "segments": list(range(first, len(segments)))})
    raw = {"schema": 1, "version": "00112233445566ff", "frame_rate": [30, 1], "segment_frames": 40,
           "renditions": [{"id": "a", "width": 640, "height": 360, "frame_rate": 30.0,
                           "codecs": "avc1.64001e,mp4a.40.2", "init": "a/init.mp4",
                           "segment_template": "a/s{index:05d}.m4s"}],
           "titles": [{"id": f"t{t}", "name": f"T{t}"} for t in range(len(per_title))],
           "segments": segments, "clips": clips}
    return parse_catalog(orjson.dumps(raw))


titles_st = st.lists(st.lists(st.sampled_from(LENGTHS), min_size=1, max_size=8), min_size=1, max_size=12)
ranking_st = st.lists(st.one_of(st.integers(0, 14).map(lambda n: f"t{n}"), st.text(max_size=4)),
                      max_size=8)


@st.composite
def cadences(draw: st.DrawFn) -> Cadence:
    """Random rank-monotone cadences: rounds over the top k titles with non-increasing lengths."""
    k = draw(st.integers(1, 6))
    rounds = draw(st.integers(1, 4))
    slots = []
    for _ in range(rounds):
        lengths = sorted(draw(st.lists(st.sampled_from(LENGTHS), min_size=k, max_size=k)), reverse=True)
        slots.extend(Slot(rank, n) for rank, n in enumerate(lengths, 1))
    cadence = Cadence("random", tuple(slots))
    check_monotone(cadence)
    return cadence


@FAST
@given(titles_st, ranking_st, cadences(), st.text(max_size=12), st.text(max_size=3))
def test_never_a_clip_twice_and_deterministic(per_title, preferred, cadence, viewer, salt):
    catalog = catalog_from(per_title)
    ranking = rank_titles(catalog, preferred, cadence.depth)
    plan = plan_reel(catalog, ranking, viewer, cadence, salt)
    assert len(set(plan.clips)) == len(plan.clips) <= len(cadence.slots)
    # a catalog too small for the cadence gives a shorter reel, never an error; and a reel is
    # only short when the catalog has run dry
    assert len(plan.clips) == min(len(cadence.slots), len(catalog.clips)) or \
        len(plan.clips) < len(cadence.slots)
    again = catalog_from(per_title)
    assert plan_reel(again, rank_titles(again, preferred, cadence.depth), viewer, cadence, salt) == plan
    # the ranking cut at the cadence's depth never changes the reel
    assert plan_reel(catalog, rank_titles(catalog, preferred), viewer, cadence, salt) == plan


@FAST
@given(st.integers(6, 10), cadences(), st.text(max_size=12))
def test_shape_and_rank_monotone_when_the_catalog_has_the_clips(n_titles, cadence, viewer):
    # every title has enough clips of every length for any slot pattern of the cadence
    per_title = [[n for n in LENGTHS for _ in range(len(cadence.slots))] for _ in range(n_titles)]
    catalog = catalog_from(per_title)
    ranking = rank_titles(catalog, [f"t{(i * 3) % n_titles}" for i in range(n_titles)], cadence.depth)
    plan = plan_reel(catalog, ranking, viewer, cadence)
    assert len(plan.clips) == len(cadence.slots)
    screen = {}
    for slot, index in zip(cadence.slots, plan.clips):
        clip = catalog.clips[index]
        assert clip.frames == slot.frames and clip.title == ranking[slot.rank - 1]
        screen[slot.rank] = screen.get(slot.rank, 0) + clip.frames
    times = [screen.get(rank, 0) for rank in range(1, max(screen) + 1)]
    assert times == sorted(times, reverse=True)


@FAST
@given(titles_st, st.text(max_size=10))
def test_gaps_take_shorter_lengths_before_longer_ones(per_title, viewer):
    catalog = catalog_from(per_title)
    cadence = Cadence("one", (Slot(1, 80),))
    plan = plan_reel(catalog, rank_titles(catalog, []), viewer, cadence)
    first = catalog.clips[plan.clips[0]]
    lengths = set(per_title[first.title])
    if 80 in lengths:
        assert first.frames == 80
    elif 40 in lengths:
        assert first.frames == 40


@FAST
@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=40), st.integers(0, 255),
       st.binary(min_size=16, max_size=64), st.booleans(), st.none() | st.integers(0, 1000), st.data())
def test_token_round_trip_and_any_tamper_rejected(clips, kid, key, continuous, bed, data):
    signer = Signer({kid: key}, kid)
    plan = Plan("0123456789abcdef", tuple(clips), continuous, bed)
    token = signer.sign(plan)
    assert signer.verify(token) == plan
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    position = data.draw(st.integers(0, len(raw) - 1))
    bit = data.draw(st.integers(0, 7))
    raw[position] ^= 1 << bit
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    try:
        assert signer.verify(forged) != plan
        raise AssertionError("a tampered token verified")
    except TokenError:
        pass


@FAST
@given(st.integers(3, 9), st.text(max_size=8))
def test_talent_is_preferred_within_a_title_and_lifts_it(n_titles, viewer):
    per_title = [[40, 40, 40, 80, 80, 160, 160]] * n_titles
    # every title has one clip with "star" (its second 40-frame clip); only the last title
    # carries "idol" on all its clips
    talents = [[[], ["star"], [], [], [], [], []] for _ in range(n_titles)]
    talents[-1] = [["idol"]] * 7
    catalog = catalog_from(per_title, talents)
    cadence = Cadence("c", (Slot(1, 40),))
    # within a title: the starred 40-frame clip wins over the others
    for user in ("a", "b", "c", viewer):
        plan = plan_reel(catalog, rank_titles(catalog, []), user, cadence, talent=frozenset({"star"}))
        assert catalog.clips[plan.clips[0]].talent == ("star",)
    # lift: the idol's title moves up two places, and never past the no-repeat rule
    plain = rank_titles(catalog, [])
    lifted = rank_titles(catalog, [], talent=frozenset({"idol"}))
    last = n_titles - 1
    assert lifted.index(last) == max(0, plain.index(last) - 2)
    plan = plan_reel(catalog, lifted, viewer, BUILTIN.cadences["default"], talent=frozenset({"idol"}))
    assert len(set(plan.clips)) == len(plan.clips)


@FAST
@given(st.sampled_from(sorted(BUILTIN.cadences)), st.sampled_from([Fraction(30), Fraction(25),
                                                                     Fraction(30000, 1001)]))
def test_builtin_cadences_resolve_to_their_target(name, rate):
    cadence = BUILTIN.cadences[name]
    resolved = cadence.resolve(rate, LENGTHS)
    check_monotone(resolved)
    if cadence.target_seconds is not None:
        seconds = resolved.frames / rate
        assert cadence.target_seconds - 40 / rate < seconds <= cadence.target_seconds
    else:
        assert resolved == cadence


def test_empty_ranking_unknown_titles_and_no_profile_all_get_a_reel():
    catalog = catalog_from([[40, 80, 160]] * 6)
    for preferred in ([], ["nope", "also-nope"], ["t9", "t3"]):
        plan = plan_reel(catalog, rank_titles(catalog, preferred, 30), "v", BUILTIN.cadences["default"])
        assert len(plan.clips) == 15


def test_rotation_changes_the_reel_and_keeps_it_within_a_period():
    catalog = catalog_from([[40, 40, 40, 80, 80, 80, 160, 160, 160]] * 8)
    ranking = rank_titles(catalog, [])
    cadence = BUILTIN.cadences["default"]
    periods = [plan_reel(catalog, ranking, "viewer", cadence, str(p)) for p in range(10)]
    assert plan_reel(catalog, ranking, "viewer", cadence, "3") == periods[3]
    assert len({p.clips for p in periods}) >= 8


def test_cadence_too_big_is_a_shorter_reel():
    catalog = catalog_from([[40]] * 2)
    assert len(plan_reel(catalog, [0, 1], "v", BUILTIN.cadences["default"]).clips) == 2


@FAST
@given(titles_st, ranking_st, cadences(), st.text(max_size=8))
def test_continuous_playlists_are_one_timeline(per_title, preferred, cadence, viewer):
    """Continuous: no DISCONTINUITY, each segment timed at the running frame count of the reel,
    the same segments in the same order as the discontinuous playlist."""
    from manifests.render import build_index, render_variant

    catalog = catalog_from(per_title)
    plan = plan_reel(catalog, rank_titles(catalog, preferred), viewer, cadence, "0")
    if not plan.clips:
        return
    index = build_index(catalog, "M/")
    rendition = catalog.renditions[0].id
    flat = render_variant(index, plan, rendition).decode()
    timed = render_variant(index, Plan(plan.catalog_version, plan.clips, True), rendition).decode()
    assert "#EXT-X-DISCONTINUITY" not in timed
    plain_uris = [line for line in flat.splitlines() if line.startswith("M/")]
    timed_uris = [line for line in timed.splitlines() if line.startswith("M/")]
    frame = 0
    assert len(plain_uris) == len(timed_uris)
    for plain, uri in zip(plain_uris, timed_uris):
        assert uri == plain.replace(".m4s", f".t{frame}.m4s")
        frame += catalog.segments[int(plain[-9:-4])].frames
    assert frame == sum(catalog.clips[c].frames for c in plan.clips)
