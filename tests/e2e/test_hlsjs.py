"""hls.js in headless Chromium, from a page on another origin, plays viewers' reels to the end.

The page (tests/e2e/player/) is served by a throwaway static server on its own port, so every
playlist and segment request to the edge is cross-origin and needs the edge's CORS headers, as on
a real site. The harness records hls.js errors, level switches, loaded fragments, `waiting` events
and the video element's playback quality in `window.sizzle`; the test polls it until `done`.
"""
from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import REPO, LiveServer
from tests.e2e.browser import launch, serve_files
from tests.e2e.reel import expected_frames, plan_of

pytestmark = pytest.mark.e2e

HLS_JS = REPO / "node_modules" / "hls.js" / "dist" / "hls.min.js"
PLAYER = Path(__file__).with_name("player")
# Real time (~37 s a reel). At 2x headless Chromium still decodes every frame but drops some at
# render and requestVideoFrameCallback misses many, so the presented-frame figures stop meaning
# anything; SIZZLE_E2E_RATE=2 is there for a quick smoke run, not for CI.
RATE = float(os.environ.get("SIZZLE_E2E_RATE", "1"))
MIN_SHARE = 0.95  # of the plan's frames that must reach the screen


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    """The harness page's own origin: same host as the edge, another port (a different origin)."""
    yield from serve_files({"/": (PLAYER / "index.html", "text/html"),
                            "/harness.js": (PLAYER / "harness.js", "text/javascript"),
                            "/hls.min.js": (HLS_JS, "text/javascript")})


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch(HLS_JS)


def play(browser: Browser, page_origin: str, master: str, plan: dict[str, Any],
         **params: Any) -> dict[str, Any]:
    """Open the harness on `master`, wait (with a deadline) until the reel ends or fails."""
    assert urllib.parse.urlsplit(master).netloc != urllib.parse.urlsplit(page_origin).netloc
    context = browser.new_context()
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    page.on("requestfailed", lambda request: console.append(
        f"request failed: {request.url} {request.failure}"))
    query = urllib.parse.urlencode({"src": master, "rate": RATE, **params})
    try:
        page.goto(f"{page_origin}/?{query}")
        deadline_ms = (plan["duration"] / RATE + 30) * 1000
        try:
            page.wait_for_function("window.sizzle && window.sizzle.done", timeout=deadline_ms,
                                   polling=250)
        except PlaywrightTimeout:
            pytest.fail(f"reel did not finish in {deadline_ms / 1000:.0f} s: "
                        f"{summarise(page.evaluate('window.sizzle'))}\nconsole:\n"
                        + "\n".join(console[-40:]))
        state: dict[str, Any] = page.evaluate("window.sizzle")
    finally:
        context.close()
    state["console"] = console
    return state


def summarise(state: dict[str, Any] | None) -> str:
    if not state:
        return "harness never started"
    keys = ("reason", "ended", "fatal", "quality", "presented", "mediaTimes", "duration",
            "currentTime", "waiting", "stalls", "switched", "switchRequest", "rate", "wall",
            "gaps", "events")
    errors = [f"{e['details']}{' (fatal)' if e['fatal'] else ''} at {e['at']:.2f}s"
              for e in state.get("errors", [])]
    return ", ".join(f"{k}={state.get(k)!r}" for k in keys) + f", errors={errors}"


def report(label: str, state: dict[str, Any], want: int,
           record_property: Callable[[str, object], None]) -> int:
    """Print and record what the player did; return the frames that reached the screen."""
    quality = state["quality"]
    shown = int(quality["total"] - quality["dropped"])
    wall = state["wall"]
    played = (wall["end"] - wall["playing"]) / 1000 if wall["playing"] else None
    figures = {
        "frames_expected": want, "frames_decoded": quality["total"],
        "frames_dropped": quality["dropped"], "frames_shown": shown,
        "distinct_frames_presented": state["mediaTimes"], "waiting_after_start": state["waiting"],
        "buffer_stalled_errors": state["stalls"], "wall_seconds": played,
    }
    for name, value in figures.items():
        record_property(name, value)
    skips = [(round(a, 3), round(b, 3)) for a, b in state["gaps"]]
    switches = [(s["level"], round(s["at"], 2)) for s in state["switched"]]
    print(f"\nhls.js {label}: frames decoded {quality['total']}, dropped {quality['dropped']}, "
          f"shown {shown} of {want} planned ({shown / want:.1%}); distinct frames presented "
          f"{state['mediaTimes']} (skips {skips}); level switches (level, at s) {switches}; "
          f"waiting after start {state['waiting']}, bufferStalledError {state['stalls']}; "
          f"non-fatal errors {[e['details'] for e in state['errors']]}; media duration "
          f"{state['duration']} s played in {played} s wall at rate {state['rate']}")
    return shown


# Non-fatal hls.js errors that only say the machine was slow; anything else (a parsing or append
# error, a load error, a seek over a hole in the timeline) is a defect in what the edge served.
LOAD_ONLY = {"bufferStalledError", "bufferNudgeOnStall"}


def check_complete(state: dict[str, Any], plan: dict[str, Any], want: int, shown: int,
                   decoded_slack: int = 2) -> None:
    assert state["fatal"] is None, f"fatal hls.js error: {state['fatal']}\n{summarise(state)}"
    assert state["ended"], f"no 'ended': {summarise(state)}"
    defects = [e for e in state["errors"] if e["details"] not in LOAD_ONLY]
    assert not defects, f"hls.js reported errors: {defects}"
    # The timeline hls.js built from the variant covers the whole reel: within one AAC frame
    # (audio may end up to one frame after the last video frame), i.e. well under a video frame.
    assert abs(state["duration"] - plan["duration"]) <= 1 / 30, (
        f"media duration {state['duration']} s, plan says {plan['duration']} s")
    # Every frame is decoded exactly once when nothing is flushed mid-segment. The count does not
    # suffer from a slow machine (late frames are decoded, then dropped), so it can be tight: a
    # missing 40-frame clip or segment fails it, where the 95% bound below would not notice.
    total = state["quality"]["total"]
    assert abs(total - want) <= decoded_slack, (
        f"hls.js decoded {total} frames, the plan has {want}: {summarise(state)}")
    assert shown >= MIN_SHARE * want, (
        f"only {shown} of {want} frames reached the screen: {summarise(state)}")


def reel_segments(server: LiveServer, plan: dict[str, Any]) -> list[int]:
    clips = {clip["id"]: clip for clip in server.catalog["clips"]}
    return [n for item in plan["clips"] for n in clips[item["clip"]]["segments"]]


def test_hlsjs_plays_a_reel_to_the_end(browser: Browser, page_origin: str, live_server: LiveServer,
                                       record_property: Callable[[str, object], None]) -> None:
    plan = plan_of(live_server, "ben")
    want = expected_frames(plan)
    state = play(browser, page_origin, f"{live_server.base}sizzle/ben/master.m3u8", plan)
    shown = report("ben, default config (ABR)", state, want, record_property)
    check_complete(state, plan, want, shown)
    # Every segment of the reel was fetched (from whichever level hls.js chose at the time).
    loaded = {f["sn"] for f in state["frags"]}
    assert loaded == set(range(len(reel_segments(live_server, plan)))), "not every segment loaded"


@pytest.mark.parametrize("mode", ["nextLevel", "currentLevel"])
def test_hlsjs_switches_rendition_mid_reel(browser: Browser, page_origin: str, live_server: LiveServer,
                                           mode: str,
                                           record_property: Callable[[str, object], None]) -> None:
    """540p -> 360p at 40% of the reel. `nextLevel` is a smooth switch at the next fragment boundary
    (how ABR switches); `currentLevel` flushes the buffer and reloads the playhead's fragment from
    the new level (a viewer picking a quality)."""
    plan = plan_of(live_server, "chloe")
    want = expected_frames(plan)
    state = play(browser, page_origin, f"{live_server.base}sizzle/chloe/master.m3u8", plan,
                 startHeight=540, switchAt=0.4, switchMode=mode)
    shown = report(f"chloe, 540p -> 360p at 40% via hls.{mode}", state, want, record_property)
    # After an immediate switch, MSE resumes at the first IDR at or after the playhead in the new
    # data: the rest of the playhead's segment may be skipped, at most one segment's frames.
    segment_frames = live_server.catalog["segment_frames"]
    check_complete(state, plan, want, shown,
                   decoded_slack=2 if mode == "nextLevel" else segment_frames)

    ids = {r["height"]: r["id"] for r in live_server.catalog["renditions"]}
    levels = {level["index"]: level for level in state["levels"]}
    request = state["switchRequest"]
    assert request is not None, f"the reel never reached 40%: {summarise(state)}"
    old, new = request["from"], request["to"]
    assert (levels[old]["height"], levels[new]["height"]) == (540, 360), state["levels"]
    after = [s["level"] for s in state["switched"] if s["wall"] >= request["wall"]]
    assert after[:1] == [new], f"no LEVEL_SWITCHED to {new} after the request: {state['switched']}"
    # Fragments: the old rendition's up to the switch, then only the new one's, to the last segment.
    order = [f["level"] for f in state["frags"]]
    assert new in order, "no fragment was loaded from the new level"
    first_new = order.index(new)
    assert state["frags"][first_new]["wall"] >= request["wall"]
    assert set(order[:first_new]) == {old} and set(order[first_new:]) == {new}, order
    assert all(f"/{ids[levels[f['level']]['height']]}/" in f["url"] for f in state["frags"])
    assert state["frags"][-1]["sn"] == len(reel_segments(live_server, plan)) - 1
