"""Cadences: the shape of a reel as an ordered list of slots (which ranked title, which clip length)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Slot:
    rank: int  # 1 = the viewer's favourite title
    frames: int  # wanted clip length in output frames


@dataclass(frozen=True, slots=True)
class Cadence:
    name: str
    slots: tuple[Slot, ...]

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


def _rounds(*rounds: tuple[int, ...]) -> tuple[Slot, ...]:
    return tuple(Slot(rank, frames) for lengths in rounds for rank, frames in enumerate(lengths, 1))


# Modelled on the reference system's sample: three rounds over the viewer's top five titles, clip
# lengths varied between rounds, the favourite getting the most and longest screen time
# (frames per rank: 400, 200, 160, 120, 120; 15 clips, 1000 frames = 33.3 s at 30 fps).
DEFAULT_CADENCE = Cadence("default", _rounds(
    (160, 80, 80, 40, 40),
    (80, 80, 40, 40, 40),
    (160, 40, 40, 40, 40),
))
