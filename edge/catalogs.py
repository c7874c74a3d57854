"""The catalogs an edge answers for: the current one, and recently replaced ones kept for a grace
period so reels planned on them play on (their variant URLs name their catalog version)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.state import Loaded

log = logging.getLogger("sizzle.edge")


@dataclass(slots=True)
class Catalogs:
    current: Loaded
    grace: float  # seconds a replaced catalog keeps answering
    clock: Callable[[], float]
    retired: dict[str, tuple[Loaded, float]] = field(default_factory=dict)  # version -> (it, until)

    def find(self, version: str) -> Loaded | None:
        """The loaded catalog of that version, if current or still within its grace period."""
        if version == self.current.catalog.version:
            return self.current
        entry = self.retired.get(version)
        if entry is None:
            return None
        if entry[1] <= self.clock():
            del self.retired[version]
            return None
        return entry[0]

    def swap(self, new: Loaded) -> None:
        """Make `new` current. The old one is retired for the grace period only when its media
        are still on disk in their own folder (a package replaced in place has lost them)."""
        old = self.current
        now = self.clock()
        self.retired = {v: e for v, e in self.retired.items() if e[1] > now and v != new.catalog.version}
        if old.catalog.version != new.catalog.version:
            if old.package_dir != new.package_dir and (old.package_dir / "catalog.json").is_file():
                self.retired[old.catalog.version] = (old, now + self.grace)
                log.info("catalog %s retired; it answers for %.0f s more", old.catalog.version, self.grace)
            else:
                log.warning("catalog %s was replaced in place: its reels now answer 410",
                            old.catalog.version)
        self.current = new
