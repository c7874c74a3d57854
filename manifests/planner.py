"""The planner: viewer ranking + cadence + catalog -> an ordered reel of clips.

Deterministic: the only source of variety is a keyed hash of (catalog version, viewer, cadence,
salt), so every node plans the same reel for the same request. A clip is never used twice.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

from manifests.cadence import Cadence
from manifests.catalog import Catalog


@dataclass(frozen=True, slots=True)
class Plan:
    catalog_version: str
    clips: tuple[int, ...]  # indices into Catalog.clips, in reel order


def rank_titles(catalog: Catalog, preferred: Sequence[str], depth: int | None = None) -> list[int]:
    """The viewer's ranking as title indices: known preferred titles first (unknown ids and repeats
    dropped), then the rest of the catalog in its own order, cut at `depth` titles when given (the
    planner asks for more only if a catalog too thin for the cadence runs it dry), so a request
    costs the same on a catalog of 100 titles as on one of 5,000."""
    seen: set[int] = set()
    ranking: list[int] = []
    for title_id in preferred:
        index = catalog.title_index.get(title_id)
        if index is not None and index not in seen:
            seen.add(index)
            ranking.append(index)
    limit = len(catalog.titles) if depth is None else min(depth, len(catalog.titles))
    for index in range(len(catalog.titles)):
        if len(ranking) >= limit:
            break
        if index not in seen:
            ranking.append(index)
    return ranking


class _Draw:
    """A stream of deterministic small integers from blake2b (stable across Python versions)."""

    __slots__ = ("_seed", "_block", "_pos", "_counter")

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._block = b""
        self._pos = 0
        self._counter = 0

    def below(self, n: int) -> int:
        if n <= 1:
            return 0
        if self._pos + 4 > len(self._block):
            self._block = hashlib.blake2b(self._counter.to_bytes(8, "big"), key=self._seed,
                                          digest_size=64).digest()
            self._counter += 1
            self._pos = 0
        value = int.from_bytes(self._block[self._pos:self._pos + 4], "big")
        self._pos += 4
        return value % n


def plan_reel(catalog: Catalog, ranking: Sequence[int], viewer: str, cadence: Cadence,
              salt: str = "") -> Plan:
    """Fill each cadence slot with an unused clip of the slot's title, preferring the slot's length,
    else the nearest length (shorter on a tie); a title with nothing left yields its slot to the
    next ranked title that has clips. A catalog too small for the cadence gives a shorter reel."""
    seed = hashlib.blake2b(f"{catalog.version}\0{viewer}\0{cadence.name}\0{salt}".encode(),
                           digest_size=32).digest()
    draw = _Draw(seed)
    used: set[int] = set()
    reel: list[int] = []
    for slot in cadence.slots:
        for position in range(slot.rank - 1, len(ranking)):
            free = [c for c in catalog.clips_by_title[ranking[position]] if c not in used]
            if free:
                break
        else:
            continue
        best = min(abs(catalog.clips[c].frames - slot.frames) for c in free)
        candidates = [c for c in free if abs(catalog.clips[c].frames - slot.frames) == best]
        if len(candidates) > 1 and best:
            shortest = min(catalog.clips[c].frames for c in candidates)
            candidates = [c for c in candidates if catalog.clips[c].frames == shortest]
        choice = candidates[draw.below(len(candidates))]
        used.add(choice)
        reel.append(choice)
    return Plan(catalog.version, tuple(reel))
