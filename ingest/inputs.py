"""Whatever the editor hands over, as a Spec: a JSON spec, a JSON wrapper around a timeline, an
EDL / .otio timeline itself (with an optional media map file, `--media-map`), or a pre-encoded
Mega Asset with its clip list (`preencoded.py`)."""
from __future__ import annotations

from pathlib import Path

from ingest.errors import IngestError
from ingest.preencoded import parse_mega_spec
from ingest.spec import Spec, parse_spec, read_json
from ingest.timeline import is_timeline, load_media_map, load_timeline, load_wrapper


def load_input(path: Path, media_map: Path | None = None) -> Spec:
    """Read and validate any supported editorial input."""
    media = load_media_map(Path(media_map)) if media_map is not None else None
    if is_timeline(path):
        return load_timeline(path, media)
    raw = read_json(path, "spec")
    if isinstance(raw, dict) and "timeline" in raw:
        return load_wrapper(raw, path.resolve(), media)
    if isinstance(raw, dict) and "mega_asset" in raw:
        if str(raw["mega_asset"]).lower().endswith((".m3u8", ".m3u")):
            raise IngestError(f"{path.name}: 'mega_asset' is an HLS package, which is indexed, not "
                              "encoded: `sizzle ingest` checks and indexes it (ingest/hls_index.py)")
        return parse_mega_spec(raw, path.resolve())
    return parse_spec(raw, path.resolve())
