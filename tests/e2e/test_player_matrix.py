"""The player matrix: hls.js and Shaka Player (HLS mode) in headless Chromium, each playing five
viewers' reels of the generated catalog end to end from a page on another origin, concurrently in
pages of one browser: two on the discontinuous timeline, two on the continuous one (tfdt rewritten
by the edge) and one on the continuous timeline with the package's music bed (a steady tone no
title has) running under the cuts instead of the clips' own sound. Per reel: no fatal error, at
most one stall after start, >= 97% of the expected frames decoded, three forced rendition switches
that reach the screen, a seek into the middle of a later clip that plays on, and at every clip the
picture and the sound are that clip's: a frame drawn from the video onto a canvas matches a frame
decoded with PyAV from the clip's own segment better than any other title's clip, and the
analyser's dominant frequency under it is the clip's own tone (each generated title has its own;
one has no audio and must be silent) — or, with the bed, the bed's tone under every cut.
"""
from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import BED_TONE_HZ, LiveServer
from tests.e2e import matrix
from tests.e2e.browser import launch
from tests.e2e.reel import expected_frames, plan_of

pytestmark = pytest.mark.e2e

PLAYERS = ("hls", "shaka")
VIEWERS = 5
PAGES_AT_ONCE = 4  # 2 cores: five at once made Shaka drop ~5% of frames and stall at switches
MIN_DECODED = 0.97
MAX_STALLS = 1
TONE_TOLERANCE_HZ = 15.0
SILENCE_RMS = 0.005
# per viewer: the query its master is asked with
MODES = ("timeline=discontinuous", "timeline=continuous", "timeline=discontinuous", "", "cadence=music")


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    yield from matrix.serve_pages()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch(*matrix.LIBRARIES.values())


def _titles_of(plan: dict[str, Any]) -> tuple[str, ...]:
    return tuple(c["title"] for c in plan["clips"])


def _clips_of(plan: dict[str, Any]) -> tuple[str, ...]:
    return tuple(c["clip"] for c in plan["clips"])


def pick_viewers(server: LiveServer, count: int) -> list[tuple[str, dict[str, Any]]]:
    """`count` viewers with distinct reels, preferring reels whose order of titles differs too."""
    plans = [(user, plan_of(server, user)) for user in server.viewers[:60]]
    chosen: list[tuple[str, dict[str, Any]]] = []
    for key in (_titles_of, _clips_of):
        seen = {key(plan) for _, plan in chosen}
        for user, plan in plans:
            if len(chosen) < count and key(plan) not in seen and len(plan["clips"]) >= 6 \
                    and all(user != u for u, _ in chosen):
                seen.add(key(plan))
                chosen.append((user, plan))
    assert len(chosen) == count, f"fewer than {count} distinct reels among the viewers"
    return chosen


@pytest.fixture(scope="module")
def runs(browser: Browser, page_origin: str, synthetic_server: LiveServer) -> dict[tuple[str, str], Any]:
    """Every (player, viewer) reel, played in waves of at most PAGES_AT_ONCE concurrent pages
    (both players mixed in each wave, so no wave carries only the hungrier one)."""
    catalog = synthetic_server.catalog
    heights = [r["height"] for r in catalog["renditions"]]
    viewers = pick_viewers(synthetic_server, VIEWERS)
    jobs = [(player, user, mode, plan_of(synthetic_server, user, mode))
            for (user, _), mode in zip(viewers, MODES) for player in PLAYERS]
    waves = -(-len(jobs) // PAGES_AT_ONCE)
    results: dict[tuple[str, str], Any] = {}
    for wave in range(waves):
        # One context (a window of its own) per page: Chromium throttles requestVideoFrameCallback
        # to about once a second in every tab of a window but the front one.
        pages: list[tuple[str, str, dict[str, Any], dict[str, Any], BrowserContext, Page, list[str]]] = []
        try:
            for player, user, mode, plan in jobs[wave::waves]:
                steps = matrix.script(plan, heights)
                context = browser.new_context()
                page = context.new_page()
                console: list[str] = []
                page.on("console", lambda m, log=console: log.append(f"{m.type}: {m.text}"))
                page.on("pageerror", lambda e, log=console: log.append(f"pageerror: {e}"))
                query = urllib.parse.urlencode({
                    "player": player, "src": f"{synthetic_server.base}sizzle/{user}/master.m3u8"
                                             + (f"?{mode}" if mode else ""),
                    "plan": json.dumps(steps)})
                page.goto(f"{page_origin}/{player}/?{query}")
                pages.append((player, user, plan, steps, context, page, console))
            for player, user, plan, steps, _context, page, console in pages:
                deadline_ms = (plan["duration"] + 45) * 1000
                try:
                    page.wait_for_function("window.sizzle && window.sizzle.done", timeout=deadline_ms,
                                           polling=250)
                    state = page.evaluate("window.sizzle")
                except PlaywrightTimeout:
                    state = page.evaluate("window.sizzle") or {}
                    state["timeout"] = True
                state["console"] = console[-30:]
                results[(player, user)] = (plan, steps, state)
        finally:
            for *_rest, context, _page, _console in pages:
                context.close()
    dump = os.environ.get("SIZZLE_MATRIX_DUMP")
    if dump:  # for looking at what the players did, outside the assertions
        Path(dump).write_text(json.dumps({f"{p} {u}": v for (p, u), v in results.items()}))
    return results


CASES = [(player, n) for player in PLAYERS for n in range(VIEWERS)]


def case(runs: dict[tuple[str, str], Any], player: str, n: int) -> tuple[str, Any, Any, Any]:
    users = sorted({user for p, user in runs if p == player})
    user = users[n]
    plan, steps, state = runs[(player, user)]
    return user, plan, steps, state


def summary(state: dict[str, Any]) -> str:
    keep = ("version", "reason", "ended", "fatal", "quality", "waiting", "waitingAt", "switches",
            "heights", "seek", "gaps", "events", "timeout")
    errors = [(e["details"], e["fatal"], round(e["at"], 2)) for e in state.get("errors", [])]
    return (", ".join(f"{k}={state.get(k)!r}" for k in keep)
            + f", errors={errors}, console={state.get('console')}")


@pytest.mark.parametrize(("player", "n"), CASES)
def test_player_plays_the_reel(runs: dict[tuple[str, str], Any], player: str, n: int,
                               record_property: Callable[[str, object], None]) -> None:
    user, plan, steps, state = case(runs, player, n)
    assert not state.get("timeout"), f"{player} {user}: did not finish: {summary(state)}"
    assert state["fatal"] is None, f"{player} {user}: fatal error {state['fatal']}: {summary(state)}"
    assert state["ended"], f"{player} {user}: no 'ended': {summary(state)}"
    fps = 30.0
    seek = state["seek"]
    assert seek is not None, f"{player} {user}: the seek never happened: {summary(state)}"
    skipped = round((seek["to"] - seek["from"]) * fps)
    want = expected_frames(plan) - skipped
    decoded = state["quality"]["total"]
    switched = []
    for i, request in enumerate(state["switches"]):
        until = state["switches"][i + 1]["requestedAt"] if i + 1 < len(state["switches"]) else 1e9
        shown = [h["at"] for h in state["heights"]
                 if h["height"] == request["height"] and request["requestedAt"] <= h["at"] < until]
        switched.append((request["height"], round(request["requestedAt"], 2),
                         round(shown[0] - request["requestedAt"], 2) if shown else None))
    print(f"\n{player} {state['version']} {user} ({plan['timeline']}, audio {plan['audio']['kind']}): "
          f"decoded {decoded} of {want} expected frames "
          f"({decoded / want:.1%}; plan {expected_frames(plan)}, seek skips {skipped}), dropped "
          f"{state['quality']['dropped']}; stalls {state['waiting']} at {state['waitingAt']}; switches "
          f"(height, at s, on screen after s) {switched}; seek {seek['from']:.2f} -> {seek['to']:.2f} s, "
          f"first frame after it {seek['firstFrame']}; gaps {state['gaps']}; "
          f"errors {[e['details'] for e in state['errors']]}")
    for name, value in {"frames_expected": want, "frames_decoded": decoded, "stalls": state["waiting"],
                        "switches": switched, "seek": seek}.items():
        record_property(name, value)
    assert decoded >= MIN_DECODED * want, f"{player} {user}: decoded {decoded} of {want}: {summary(state)}"
    assert state["waiting"] <= MAX_STALLS, f"{player} {user}: {state['waiting']} stalls: {summary(state)}"
    assert len(state["switches"]) == 3, f"{player} {user}: switches not all requested: {summary(state)}"
    assert all(s[2] is not None for s in switched), (
        f"{player} {user}: a switch never reached the screen: {switched}")
    assert state["heights"][0]["height"] == steps["startHeight"], state["heights"]
    assert seek["firstFrame"] is not None and seek["firstFrame"] - seek["to"] < 0.2, (
        f"{player} {user}: after the seek to {seek['to']} playback resumed at {seek['firstFrame']}")
    after = [c for c in state["captures"] if c["want"] > seek["to"]]
    assert after and not any(c.get("missed") for c in after), (
        f"{player} {user}: did not play on after the seek")


@pytest.mark.parametrize(("player", "n"), CASES)
def test_what_the_viewer_sees_and_hears_is_the_plan(
        runs: dict[tuple[str, str], Any], synthetic_server: LiveServer, player: str, n: int,
        record_property: Callable[[str, object], None]) -> None:
    user, plan, steps, state = case(runs, player, n)
    assert state.get("captures"), f"{player} {user}: nothing captured: {summary(state)}"
    catalog = synthetic_server.catalog
    pkg = synthetic_server.catalog_path.parent
    by_height = {r["height"]: r for r in catalog["renditions"]}
    clips = {c["id"]: c for c in catalog["clips"]}
    fps = catalog["frame_rate"][0] / catalog["frame_rate"][1]
    problems: list[str] = []
    rows: list[str] = []
    assert len(state["captures"]) == len(plan["clips"]), state["captures"]
    for item, capture in zip(plan["clips"], state["captures"]):
        if capture.get("missed"):
            problems.append(f"clip {item['position']} ({item['clip']}): no frame presented near "
                            f"{capture['want']:.2f} s")
            continue
        rendition = by_height[capture["height"]]
        offset = round((capture["at"] - item["start"]) * fps)
        seen = np.asarray(capture["luma"], dtype=np.float64).reshape(matrix.THUMB)
        own, own_media = matrix.clip_frame(pkg, catalog, rendition, clips[item["clip"]], offset)
        own_distance = matrix.distance(seen, own)
        others: list[tuple[float, int, str]] = []
        for clip in catalog["clips"]:
            if clip["title"] == item["title"]:
                continue
            thumb, _ = matrix.clip_frame(pkg, catalog, rendition, clip, offset)
            others.append((matrix.distance(seen, thumb), matrix.dhash_distance(seen, thumb), clip["id"]))
        nearest = min(others)
        own_dhash = matrix.dhash_distance(seen, own)
        best = matrix.best_offset(pkg, catalog, rendition, clips[item["clip"]], seen, offset)
        tones = {c["title"]: matrix.clip_frame(pkg, catalog, rendition, c, 0)[1].tone_hz
                 for c in catalog["clips"]}
        sound = capture["sound"]
        heard = sound["hz"] if sound["rms"] >= SILENCE_RMS else 0.0
        want_tone = own_media.tone_hz
        bed = plan["audio"]["kind"] == "bed"
        if bed:  # the bed, not the clip: one tone under every cut (the last clip is its fade-out)
            want_tone = BED_TONE_HZ
            tones = {"bed": BED_TONE_HZ, **{f"title {t}": hz for t, hz in tones.items()}}
        rows.append(f"{item['clip']}@{offset} (best match @{best}) {capture['height']}p: "
                    f"luma distance own {own_distance:.1f} "
                    f"(dHash {own_dhash}) vs nearest other {nearest[0]:.1f} ({nearest[2]}, "
                    f"dHash {nearest[1]}); "
                    f"tone heard {heard:.0f} Hz (rms {sound['rms']:.3f}) want {want_tone:.0f} Hz")
        if abs(best - offset) > 1:
            problems.append(f"clip {item['clip']}: the player said frame {offset} was on screen, the "
                            f"picture is frame {best}")
        if not own_distance < nearest[0]:
            problems.append(f"clip {item['clip']}: the picture is closer to {nearest[2]} ({nearest[0]:.1f}) "
                            f"than to its own clip ({own_distance:.1f})")
        if bed and item["position"] == len(plan["clips"]) - 1:
            continue  # the fade-out: too quiet near its end for a tone check
        if bed:
            if abs(heard - want_tone) > TONE_TOLERANCE_HZ:
                problems.append(f"clip {item['clip']}: heard {heard:.0f} Hz under the cut, the bed is "
                                f"{want_tone:.0f} Hz")
        elif want_tone == 0.0:
            if sound["rms"] >= SILENCE_RMS:
                problems.append(f"clip {item['clip']}: want silence, heard {sound['hz']:.0f} Hz "
                                f"rms {sound['rms']:.3f}")
        elif abs(heard - want_tone) > TONE_TOLERANCE_HZ or any(
                abs(heard - tone) < abs(heard - want_tone)
                for title, tone in tones.items() if title != item["title"]):
            problems.append(f"clip {item['clip']}: heard {heard:.0f} Hz, the clip's tone is "
                            f"{want_tone:.0f} Hz")
    print(f"\n{player} {user} ({len(rows)} clips):\n  " + "\n  ".join(rows))
    record_property("captures", rows)
    assert not problems, "\n".join(problems) + "\n" + summary(state)
