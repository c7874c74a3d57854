"""Explicit configuration: one frozen object built from CLI flags and the environment."""
from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from manifests.cadence import BUILTIN, CadenceBook
from manifests.planner import DEFAULT_TALENT_LIFT

log = logging.getLogger("sizzle.settings")

TIMELINES = ("continuous", "discontinuous")
REPO_ROOT = Path(__file__).resolve().parents[1]


def default_player_js() -> Path | None:
    candidate = REPO_ROOT / "node_modules" / "hls.js" / "dist" / "hls.min.js"
    return candidate if candidate.is_file() else None


def parse_keys(text: str) -> dict[int, bytes]:
    """`SIZZLE_SIGNING_KEYS` = "kid:hexkey,kid:hexkey" (first one signs, all verify)."""
    keys: dict[int, bytes] = {}
    for item in text.split(","):
        kid, _, hexkey = item.strip().partition(":")
        try:
            keys[int(kid)] = bytes.fromhex(hexkey)
        except ValueError:
            raise ValueError(f"bad signing key entry {item.strip()[:8]!r}...: want KID:HEX") from None
    return keys


@dataclass(frozen=True, slots=True)
class Settings:
    catalog: Path
    profiles: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    signing_keys: Mapping[int, bytes] = field(default_factory=dict)
    active_key: int = 0
    player_js: Path | None = None  # hls.min.js for the demo page; None = no demo page
    demo: bool = False
    cadences: CadenceBook = BUILTIN
    rotation_seconds: int = 86_400  # a viewer's reel changes once per period; 0 = never
    grace_seconds: float = 3_600.0  # a replaced catalog keeps answering its reels this long
    talent_lift: int = DEFAULT_TALENT_LIFT
    workers: int = 0  # gunicorn worker processes; 0 = one process, no gunicorn (dev, demo)
    graceful_seconds: float = 30.0  # SIGTERM: how long in-flight requests may take to finish
    media_base_url: str | None = None  # init/segment URIs point here (CDN/object store) when set
    watch_seconds: float = 1.0  # poll the catalog and profiles files for changes; 0 = no watch
    redis_url: str | None = None  # profiles from Redis (fleet) instead of the JSON Lines file
    redis_timeout: float = 0.020  # per-request Redis lookup budget; past it, the default ranking
    profile_cache_seconds: float = 5.0  # in-process TTL cache of Redis profiles
    access_log_sample: float = 0.0  # fraction of requests logged (JSON); 0 = access log off
    timeline: str = "continuous"  # default reel timeline; a request may ask with ?timeline=

    @property
    def package_dir(self) -> Path:
        return self.catalog.parent


def signing_keys_from_env(env: Mapping[str, str] = os.environ) -> tuple[dict[int, bytes], int]:
    """Keys from SIZZLE_SIGNING_KEYS; without it a random key for this process (single node only)."""
    text = env.get("SIZZLE_SIGNING_KEYS", "").strip()
    if text:
        keys = parse_keys(text)
        return keys, next(iter(keys))
    log.warning("SIZZLE_SIGNING_KEYS not set: using a random key; variant URLs will not survive "
                "a restart or verify on another node")
    return {0: secrets.token_bytes(32)}, 0


def cpu_count() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 CPU quota (containers)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def check_media_base_url(url: str) -> str:
    """An absolute http(s) URL without query or fragment; returned with exactly one trailing '/'."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"{url!r}: want an absolute http(s) URL without query or fragment, "
                         "e.g. https://cdn.example.com/sizzle/media/")
    return url.rstrip("/") + "/"
