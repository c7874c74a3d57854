"""What a check found: violations (rule, playlist, segment, detail) and a few counts."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str  # e.g. "TARGETDURATION", "DISCONTINUITY", "CORS"
    playlist: str  # "master" or the variant's / audio rendition's URI as the master names it
    segment: str | None  # the segment's URI (or index) when the rule is about one segment
    detail: str

    def line(self) -> str:
        where = self.playlist if self.segment is None else f"{self.playlist} segment {self.segment}"
        return f"{self.rule}: {where}: {self.detail}"

    def as_dict(self) -> dict[str, str | None]:
        return {"rule": self.rule, "playlist": self.playlist, "segment": self.segment,
                "detail": self.detail}


@dataclass(slots=True)
class Report:
    url: str
    violations: list[Violation] = field(default_factory=list)
    variants: int = 0
    renditions: int = 0  # separate audio playlists (EXT-X-MEDIA TYPE=AUDIO with a URI)
    segments: int = 0  # segments listed over all variants and audio renditions
    segments_decoded: int = 0  # segments fetched whole and decoded
    requests: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations

    def rules(self) -> set[str]:
        return {v.rule for v in self.violations}

    def as_dict(self) -> dict[str, object]:
        return {"url": self.url, "ok": self.ok, "variants": self.variants,
                "renditions": self.renditions, "segments": self.segments,
                "segments_decoded": self.segments_decoded, "requests": self.requests,
                "violations": [v.as_dict() for v in self.violations]}
