"""The one exception ingest raises for bad input: a one-line message naming the culprit."""
from __future__ import annotations


class IngestError(Exception):
    """Bad editorial input or unusable output location. `str(err)` is one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
