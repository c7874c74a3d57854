"""The demo page (`sizzle serve --demo-page`, what `sizzle demo` serves) in headless Chromium over
the real demo package: it offers the music-bed cadence, plays that reel with hls.js, names the
clip on screen and credits the music as its licence asks."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import orjson
import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import LiveServer, music_cadences, start_server, stop, viewer_profiles
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_hlsjs import HLS_JS

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_server(real_package: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    work = tmp_path_factory.mktemp("demo-page")
    titles = [t["id"] for t in orjson.loads(real_package.read_bytes())["titles"]]
    process, server = start_server(real_package, viewer_profiles(titles), work, "--demo-page",
                                   *music_cadences(real_package, work))
    try:
        yield server
    finally:
        stop(process)


def test_demo_page_plays_the_music_bed_reel_and_credits_it(demo_server: LiveServer) -> None:
    if not CHROMIUM.exists() or not HLS_JS.exists():
        pytest.skip("needs /usr/bin/chromium and node_modules/hls.js")
    if not demo_server.catalog.get("music"):
        pytest.skip("the demo package has no music bed (../shared/media/outfoxing.mp3 missing)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(demo_server.base)
            page.wait_for_selector('#cadences button[data-value="music"]', timeout=15_000)
            page.click('#cadences button[data-value="music"]')
            page.wait_for_function(
                "document.getElementById('music').textContent.includes('Kevin MacLeod')", timeout=15_000)
            credit = page.inner_text("#music")
            # plays on: the clock passes 4 s (past the first cut), "Now showing" names a title
            page.wait_for_function("document.getElementById('video').currentTime > 4", timeout=30_000)
            now = page.inner_text("#now")
            info = page.inner_text("#info")
        finally:
            browser.close()
    assert not errors, errors
    assert '"Outfoxing the Fox" by Kevin MacLeod (incompetech.com)' in credit and "CC BY" in credit
    assert now.startswith("Now showing: ") and "Player error" not in now, now
    assert "continuous timeline" in info and "cadence music" in info, info
