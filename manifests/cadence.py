"""Cadences as data: the shape of a reel as an ordered list of slots (which ranked title, which
clip length), optionally aimed at a total duration.

A cadence file (JSON) names several cadences, the default, and the ones a request may ask for:

    {"default": "default",
     "allow": ["default", "short", "long"],
     "cadences": {
        "short": {"rounds": [[80, 40, 40, 40, 40], [80, 40, 40]]},
        "long":  {"rounds": [[160, 160, 80, 80, 80], [160, 80, 80, 40, 40]], "target_seconds": 60},
        "custom": {"slots": [[1, 160], [2, 80], [1, 40]]}}}

`rounds` is shorthand: round k lists clip lengths for ranks 1, 2, ... in order. With
`target_seconds`, the slots repeat until the reel reaches the target and the last one is cut to fit
(`resolve`). Every cadence must give non-increasing screen time by rank, so a higher-ranked title
never gets less than a lower one when the catalog has the clips.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import orjson

MAX_SLOTS = 120


class CadenceError(ValueError):
    """A cadence file or a cadence breaks the rules above; the message names the cadence."""


@dataclass(frozen=True, slots=True)
class Slot:
    rank: int  # 1 = the viewer's favourite title
    frames: int  # wanted clip length in output frames


@dataclass(frozen=True, slots=True)
class Cadence:
    name: str
    slots: tuple[Slot, ...]
    target_seconds: float | None = None
    bed: str | None = None  # a music bed id: the reel's audio is that bed, not the clips' own

    @property
    def frames(self) -> int:
        return sum(slot.frames for slot in self.slots)

    @property
    def depth(self) -> int:
        """How many ranked titles a plan can reach: each slot exhausts at most one title, so a
        slot at rank r never looks past position r - 1 + len(slots)."""
        return max((slot.rank for slot in self.slots), default=0) + len(self.slots)

    def screen_time(self, rank: int) -> int:
        return sum(slot.frames for slot in self.slots if slot.rank == rank)

    def resolve(self, frame_rate: Fraction, lengths: Sequence[int]) -> Cadence:
        """The concrete slots for a catalog: with a target, repeat the slots until the target is
        met and cut the last one to the longest catalog length that still fits (if any fits)."""
        if self.target_seconds is None:
            return self
        target = round(self.target_seconds * frame_rate)
        ordered = sorted(set(lengths))
        slots: list[Slot] = []
        total = 0
        while total < target and len(slots) < MAX_SLOTS:
            for slot in self.slots:
                left = target - total
                if left <= 0 or len(slots) >= MAX_SLOTS:
                    break
                frames = slot.frames if slot.frames <= left else max(
                    (n for n in ordered if n <= left), default=0)
                if frames == 0:  # not even the shortest clip fits what is left: done
                    total = target
                    break
                slots.append(Slot(slot.rank, frames))
                total += frames
        resolved = Cadence(self.name, tuple(slots), None, self.bed)
        check_monotone(resolved)
        return resolved


def _rounds(*rounds: Sequence[int]) -> tuple[Slot, ...]:
    return tuple(Slot(rank, frames) for lengths in rounds for rank, frames in enumerate(lengths, 1))


# Modelled on the reference system's sample: three rounds over the viewer's top five titles, clip
# lengths varied between rounds, the favourite getting the most and longest screen time
# (frames per rank: 400, 200, 160, 120, 120; 15 clips, 1000 frames = 33.3 s at 30 fps).
DEFAULT_CADENCE = Cadence("default", _rounds(
    (160, 80, 80, 40, 40),
    (80, 80, 40, 40, 40),
    (160, 40, 40, 40, 40),
))
SHORT_CADENCE = Cadence("short", _rounds((80, 40, 40, 40, 40), (80, 40, 40)), 15.0)
LONG_CADENCE = Cadence("long", _rounds(
    (160, 160, 80, 80, 80),
    (160, 80, 80, 80, 40),
    (160, 80, 80, 40, 40),
    (80, 40, 40, 40, 40),
), 60.0)


def check_monotone(cadence: Cadence) -> None:
    ranks = sorted({slot.rank for slot in cadence.slots})
    if not ranks:
        raise CadenceError(f"cadence {cadence.name!r}: no slots")
    if ranks != list(range(1, ranks[-1] + 1)):
        raise CadenceError(f"cadence {cadence.name!r}: ranks must run 1..N without gaps")
    times = [cadence.screen_time(rank) for rank in ranks]
    for rank, (higher, lower) in enumerate(zip(times, times[1:]), 1):
        if lower > higher:
            raise CadenceError(f"cadence {cadence.name!r}: rank {rank + 1} gets more screen time "
                               f"({lower} frames) than rank {rank} ({higher})")


@dataclass(frozen=True, slots=True)
class CadenceBook:
    default: str
    cadences: Mapping[str, Cadence]
    allowed: frozenset[str]  # names a request may choose with ?cadence=

    def choose(self, requested: str | None) -> Cadence | None:
        """The cadence for a request; None when the request names one it may not use."""
        if requested is None or requested == "":
            return self.cadences[self.default]
        if requested not in self.allowed:
            return None
        return self.cadences[requested]


BUILTIN = CadenceBook("default", {c.name: c for c in (DEFAULT_CADENCE, SHORT_CADENCE, LONG_CADENCE)},
                      frozenset({"default", "short", "long"}))


def _positive_int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise CadenceError(f"{where}: want a positive integer, got {value!r}")
    return value


def _parse_one(name: str, raw: Any) -> Cadence:
    where = f"cadence {name!r}"
    if not isinstance(raw, dict):
        raise CadenceError(f"{where}: want an object")
    unknown = set(raw) - {"rounds", "slots", "target_seconds", "bed"}
    if unknown:
        raise CadenceError(f"{where}: unknown keys {sorted(unknown)}")
    if ("rounds" in raw) == ("slots" in raw):
        raise CadenceError(f"{where}: give exactly one of 'rounds' or 'slots'")
    slots: list[Slot] = []
    if "rounds" in raw:
        if not isinstance(raw["rounds"], list):
            raise CadenceError(f"{where}.rounds: want a list of lists of clip lengths")
        for i, lengths in enumerate(raw["rounds"]):
            if not isinstance(lengths, list) or not lengths:
                raise CadenceError(f"{where}.rounds[{i}]: want a non-empty list of clip lengths")
            slots.extend(Slot(rank, _positive_int(n, f"{where}.rounds[{i}][{rank - 1}]"))
                         for rank, n in enumerate(lengths, 1))
    else:
        if not isinstance(raw["slots"], list):
            raise CadenceError(f"{where}.slots: want a list of [rank, frames]")
        for i, pair in enumerate(raw["slots"]):
            if not isinstance(pair, list) or len(pair) != 2:
                raise CadenceError(f"{where}.slots[{i}]: want [rank, frames]")
            slots.append(Slot(_positive_int(pair[0], f"{where}.slots[{i}] rank"),
                              _positive_int(pair[1], f"{where}.slots[{i}] frames")))
    if len(slots) > MAX_SLOTS:
        raise CadenceError(f"{where}: more than {MAX_SLOTS} slots")
    target = raw.get("target_seconds")
    if target is not None and (not isinstance(target, (int, float)) or isinstance(target, bool)
                               or not 0 < target <= 600):
        raise CadenceError(f"{where}.target_seconds: want a number of seconds in (0, 600]")
    bed = raw.get("bed")
    if bed is not None and (not isinstance(bed, str) or not bed):
        raise CadenceError(f"{where}.bed: want the id of a music bed in the catalog")
    cadence = Cadence(name, tuple(slots), float(target) if target is not None else None, bed)
    check_monotone(cadence)
    return cadence


def parse_cadences(data: bytes, source: str = "cadences") -> CadenceBook:
    """Parse a cadence file; built-in cadences stay available unless the file redefines them."""
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise CadenceError(f"{source}: not JSON ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cadences", {}), dict):
        raise CadenceError(f"{source}: want an object with a 'cadences' object")
    cadences = dict(BUILTIN.cadences)
    for name, body in raw.get("cadences", {}).items():
        cadences[name] = _parse_one(name, body)
    default = raw.get("default", BUILTIN.default)
    if default not in cadences:
        raise CadenceError(f"{source}: default cadence {default!r} is not defined")
    allowed = raw.get("allow", sorted(BUILTIN.allowed))
    if not isinstance(allowed, list) or not all(isinstance(n, str) for n in allowed):
        raise CadenceError(f"{source}: 'allow' must be a list of cadence names")
    missing = [n for n in allowed if n not in cadences]
    if missing:
        raise CadenceError(f"{source}: 'allow' names undefined cadences {missing}")
    return CadenceBook(default, cadences, frozenset(allowed) | {default})
