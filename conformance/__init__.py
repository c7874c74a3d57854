"""HLS conformance checker: pure rule checks over playlists, headers and fMP4 bytes, and a thin
fetching layer that feeds them (`check_url`, `sizzle check URL`): the master, its variants and its
separate audio renditions (demuxed audio, music beds), on a continuous or a discontinuous timeline.
Rules: ../shared/HLS_RULES.md."""
from __future__ import annotations

from conformance.check import check_url
from conformance.report import Report, Violation

__all__ = ["Report", "Violation", "check_url"]
