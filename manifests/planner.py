"""The planner: viewer ranking + cadence + catalog -> an ordered reel of clips.

Deterministic: the only source of variety is a keyed hash of (catalog version, viewer, cadence,
salt — the rotation period), so every node plans the same reel for the same request within a
period. A clip is never used twice in a reel.
"""
from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from manifests.cadence import Cadence
from manifests.catalog import Catalog

_WORDS = struct.Struct(">16I")
DEFAULT_TALENT_LIFT = 2  # ranks a title moves up when it carries a favourite talent


@dataclass(frozen=True, slots=True)
class Plan:
    catalog_version: str
    clips: tuple[int, ...]  # indices into Catalog.clips, in reel order
    continuous: bool = False  # one timeline: segment URLs carry their decode time (tfdt rewrite)
    bed: int | None = None  # index into Catalog.beds: the reel's audio is that music bed


def rank_titles(catalog: Catalog, preferred: Iterable[str], depth: int | None = None,
                talent: frozenset[str] = frozenset(), lift: int = DEFAULT_TALENT_LIFT) -> list[int]:
    """The viewer's ranking as title indices: known preferred titles first (unknown ids and repeats
    dropped), then the rest of the catalog in its own order, cut at `depth` titles when given (a
    cadence never reaches further, see Cadence.depth), so a request costs the same on a catalog of
    100 titles as on one of 5,000. Titles carrying a favourite talent move up `lift` places."""
    titles = catalog.titles
    limit = len(titles) if depth is None else min(depth, len(titles))
    if isinstance(preferred, (tuple, list)) and not preferred and not (talent and lift):  # no profile
        return list(range(limit))
    seen: set[int] = set()
    ranking: list[int] = []
    index_of = catalog.title_index
    for title_id in preferred:
        index = index_of.get(title_id)
        if index is not None and index not in seen:
            seen.add(index)
            ranking.append(index)
    for index in range(len(titles)):
        if len(ranking) >= limit:
            break
        if index not in seen:
            ranking.append(index)
    del ranking[limit:]
    if talent and lift:
        fans = catalog.title_talent
        lifted = {i for i, t in enumerate(ranking) if not fans[t].isdisjoint(talent)}
        if lifted:
            # sort key: position minus the lift; a lifted title goes before an unlifted tie
            order = sorted(range(len(ranking)),
                           key=lambda i: (i - lift if i in lifted else i, i not in lifted, i))
            ranking = [ranking[i] for i in order]
    return ranking


class _Draw:
    """A stream of deterministic 32-bit integers from blake2b (stable across Python versions)."""

    __slots__ = ("_root", "_values", "_pos", "_counter")

    def __init__(self, seed: bytes) -> None:
        self._root = hashlib.blake2b(seed, digest_size=64).digest()
        self._values = _WORDS.unpack(self._root)
        self._pos = 0
        self._counter = 0

    def below(self, n: int) -> int:
        if n <= 1:
            return 0
        if self._pos == 16:
            self._counter += 1
            self._values = _WORDS.unpack(hashlib.blake2b(
                self._counter.to_bytes(8, "big"), key=self._root, digest_size=64).digest())
            self._pos = 0
        value: int = self._values[self._pos]
        self._pos += 1
        return value % n


def fallback_lengths(wanted: int, lengths: Sequence[int]) -> tuple[int, ...]:
    """The order a title's clip lengths are tried in for a slot: the wanted length, then shorter
    ones longest first, then longer ones shortest first (so a gap costs screen time, not rank order)."""
    shorter = sorted((n for n in lengths if n < wanted), reverse=True)
    longer = sorted(n for n in lengths if n > wanted)
    return (wanted, *shorter, *longer) if wanted in lengths else (*shorter, *longer)


def plan_reel(catalog: Catalog, ranking: Sequence[int], viewer: str, cadence: Cadence,
              salt: str = "", talent: frozenset[str] = frozenset(), *, continuous: bool = False,
              bed: int | None = None) -> Plan:
    """Fill each cadence slot with an unused clip of the slot's title, preferring the slot's length
    (see fallback_lengths) and, within it, clips carrying a favourite talent; a title with nothing
    left yields its slot to the next ranked title. A catalog too small gives a shorter reel.
    `continuous` and `bed` only go into the returned Plan (they do not change the clips)."""
    # the draws of _Draw.below, inlined (a method call per slot showed in profiles): same sequence
    draw = _Draw(f"{catalog.version}\0{viewer}\0{cadence.name}\0{salt}".encode())
    values, pos, counter, root = draw._values, 0, 0, draw._root
    by_length = catalog.by_length
    clip_talent = catalog.clip_talent
    lengths = catalog.lengths
    orders: dict[int, tuple[int, ...]] = {}
    used: set[int] = set()
    reel: list[int] = []
    count = len(ranking)
    for slot in cadence.slots:
        frames = slot.frames
        position = slot.rank - 1
        free: Sequence[int] = ()
        if position < count:  # fast path: the slot's own title has an unused clip of its length
            group = by_length[ranking[position]].get(frames)
            if group is not None:
                free = group if used.isdisjoint(group) else [c for c in group if c not in used]
        if not free:
            order = orders.get(frames)
            if order is None:
                order = orders[frames] = fallback_lengths(frames, lengths)
            while position < count and not free:
                groups = by_length[ranking[position]]
                for length in order:
                    group = groups.get(length)
                    if group is not None:
                        free = [c for c in group if c not in used]
                        if free:
                            break
                position += 1
            if not free:
                continue
        if talent and len(free) > 1:
            starred = [c for c in free if not clip_talent[c].isdisjoint(talent)]
            if starred:
                free = starred
        n = len(free)
        if n > 1:
            if pos == 16:
                counter += 1
                values = _WORDS.unpack(hashlib.blake2b(counter.to_bytes(8, "big"), key=root,
                                                       digest_size=64).digest())
                pos = 0
            choice = free[values[pos] % n]
            pos += 1
        else:
            choice = free[0]
        used.add(choice)
        reel.append(choice)
    return Plan(catalog.version, tuple(reel), continuous, bed)
