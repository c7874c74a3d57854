"""Virtual players: each fetches a viewer's master, picks a variant by bandwidth, then the variant,
the init segment and the media segments, at real-time pace (or as fast as possible in burst mode).
Viewers are drawn from a Zipf distribution over the profile set, so repeat visits happen."""
from __future__ import annotations

import asyncio
import bisect
import ipaddress
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import aiohttp

if TYPE_CHECKING:
    from loadtest.stats import Recorder

BUFFER_AHEAD_S = 10.0  # a player keeps about this much media buffered ahead of the playhead


class LoadError(ValueError):
    """The load test cannot run as configured; the message says why."""


@dataclass(frozen=True, slots=True)
class LoadConfig:
    base_url: str  # the edge, e.g. http://127.0.0.1:8080/
    players: int
    duration_s: float
    viewers: tuple[str, ...]
    burst: bool = False
    zipf_s: float = 1.1
    max_requests: int = 2_000_000
    timeout_s: float = 10.0
    seed: int = 1
    cadence: str | None = None
    segments_per_visit: int | None = None  # None: the whole reel
    ramp_s: float = 0.0  # players join evenly over this many seconds (0: all at once)


def check_target(url: str, allow_remote: bool) -> None:
    """Loopback only unless explicitly allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LoadError(f"not an http(s) URL: {url!r}")
    host = parts.hostname
    if allow_remote or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise LoadError(f"{host} is not a loopback address; pass --allow-remote to load it anyway")


class Zipf:
    """Rank k (0-based) drawn with weight 1 / (k + 1)^s."""

    def __init__(self, n: int, s: float, rng: random.Random) -> None:
        total = 0.0
        self._cumulative = []
        for k in range(n):
            total += 1.0 / (k + 1) ** s
            self._cumulative.append(total)
        self._total = total
        self._rng = rng

    def draw(self) -> int:
        return bisect.bisect_left(self._cumulative, self._rng.random() * self._total)


@dataclass(frozen=True, slots=True)
class Variant:
    bandwidth: int
    uri: str


def parse_master(text: str) -> list[Variant]:
    variants = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:") and i + 1 < len(lines):
            attributes = line.split(":", 1)[1]
            bandwidth = 0
            for item in attributes.split(","):
                if item.startswith("BANDWIDTH="):
                    bandwidth = int(item.split("=", 1)[1])
            variants.append(Variant(bandwidth, lines[i + 1].strip()))
    return variants


def parse_audio(text: str) -> str | None:
    """The URI of the master's default audio rendition (demuxed packages), if any."""
    for line in text.splitlines():
        if line.startswith("#EXT-X-MEDIA:") and "TYPE=AUDIO" in line and "DEFAULT=YES" in line \
                and 'URI="' in line:
            return line.split('URI="', 1)[1].split('"', 1)[0]
    return None


def parse_media(text: str) -> tuple[str | None, list[tuple[float, str]]]:
    """(init URI, [(duration, segment URI)])."""
    init = None
    segments: list[tuple[float, str]] = []
    duration = 0.0
    for line in text.splitlines():
        if line.startswith("#EXT-X-MAP:"):
            init = line.split('URI="', 1)[1].split('"', 1)[0]
        elif line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",", 1)[0])
        elif line and not line.startswith("#"):
            segments.append((duration, line.strip()))
    return init, segments


def pick_variant(variants: Sequence[Variant], capacity_bps: int) -> Variant:
    """The richest variant the player's link can carry, else the leanest."""
    fitting = [v for v in variants if v.bandwidth <= capacity_bps]
    return max(fitting, key=lambda v: v.bandwidth) if fitting else min(variants, key=lambda v: v.bandwidth)


class Run:
    def __init__(self, config: LoadConfig, recorder: Recorder, clock: Callable[[], float]) -> None:
        self.config = config
        self.recorder = recorder
        self.clock = clock
        self.deadline = recorder.start + config.duration_s
        self.rng = random.Random(config.seed)
        self.zipf = Zipf(len(config.viewers), config.zipf_s, self.rng)

    def over(self) -> bool:
        return self.clock() >= self.deadline or self.recorder.requests + self.recorder.errors >= \
            self.config.max_requests

    async def fetch(self, session: aiohttp.ClientSession, kind: str, url: str) -> bytes | None:
        started = self.clock()
        try:
            async with session.get(url) as response:
                body = await response.read()
                done = self.clock()
                if response.status not in (200, 206):
                    self.recorder.error(kind, done)
                    return None
        except (TimeoutError, aiohttp.ClientError):
            self.recorder.error(kind, self.clock())
            return None
        self.recorder.ok(kind, done - started, len(body), done)
        return body

    async def player(self, session: aiohttp.ClientSession, number: int) -> None:
        rng = random.Random(self.config.seed * 1_000_003 + number)
        capacity = rng.choice((800_000, 1_500_000, 3_000_000, 6_000_000, 20_000_000))
        query = f"?cadence={self.config.cadence}" if self.config.cadence else ""
        if self.config.ramp_s > 0:
            await asyncio.sleep(self.config.ramp_s * number / self.config.players)
        while not self.over():
            viewer = self.config.viewers[self.zipf.draw()]
            master_url = urljoin(self.config.base_url, f"sizzle/{viewer}/master.m3u8{query}")
            body = await self.fetch(session, "master", master_url)
            if body is None or self.over():
                continue
            master = body.decode()
            variants = parse_master(master)
            if not variants:
                continue
            variant_url = urljoin(master_url, pick_variant(variants, capacity).uri)
            body = await self.fetch(session, "variant", variant_url)
            if body is None:
                continue
            init, segments = parse_media(body.decode())
            if init is not None and await self.fetch(session, "init", urljoin(variant_url, init)) is None:
                continue
            # a demuxed package: the audio rendition too (its playlist, init and segments), as players do
            audio_uri = parse_audio(master)
            audio_url = variant_url
            audio: list[tuple[float, str]] = []
            if audio_uri is not None:
                audio_url = urljoin(master_url, audio_uri)
                body = await self.fetch(session, "variant", audio_url)
                if body is None:
                    continue
                audio_init, audio = parse_media(body.decode())
                if audio_init is not None and await self.fetch(
                        session, "init", urljoin(audio_url, audio_init)) is None:
                    continue
            if self.config.segments_per_visit is not None:
                segments = segments[:self.config.segments_per_visit]
            playhead_start = self.clock()
            buffered = audio_buffered = 0.0
            next_audio = 0
            for duration, uri in segments:
                if self.over():
                    return
                if not self.config.burst:  # real-time pace: stay BUFFER_AHEAD_S ahead of the playhead
                    wait = playhead_start + buffered - BUFFER_AHEAD_S - self.clock()
                    if wait > 0:
                        await asyncio.sleep(min(wait, max(0.0, self.deadline - self.clock())))
                        if self.over():
                            return
                if await self.fetch(session, "segment", urljoin(variant_url, uri)) is None:
                    break
                buffered += duration
                while next_audio < len(audio) and audio_buffered < buffered and not self.over():
                    seconds, audio_segment = audio[next_audio]
                    if await self.fetch(session, "segment", urljoin(audio_url, audio_segment)) is None:
                        break
                    audio_buffered += seconds
                    next_audio += 1


async def run_load(config: LoadConfig, on_tick: Callable[[Recorder, float], None] | None = None) -> Recorder:
    if config.players < 1 or config.duration_s <= 0 or not config.viewers:
        raise LoadError("need at least one player, a positive duration and at least one viewer")
    from loadtest.stats import Recorder

    clock = time.monotonic
    recorder = Recorder(clock())
    run = Run(config, recorder, clock)
    connector = aiohttp.TCPConnector(limit=config.players, force_close=False)
    timeout = aiohttp.ClientTimeout(total=config.timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        players = [asyncio.create_task(run.player(session, n)) for n in range(config.players)]

        async def ticker() -> None:
            while not run.over():
                await asyncio.sleep(min(1.0, max(0.05, run.deadline - clock())))
                if on_tick is not None:
                    on_tick(recorder, clock() - recorder.start)

        tick = asyncio.create_task(ticker())
        await asyncio.wait(players, timeout=config.duration_s + config.timeout_s + 5)
        for task in players:
            task.cancel()
        tick.cancel()
        await asyncio.gather(*players, tick, return_exceptions=True)
    recorder.end = clock()
    return recorder
