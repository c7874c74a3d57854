"""Fixtures for ingest tests: real footage (skipped when absent) and synthetic media."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.build import build_package
from ingest.synthetic import make_synthetic_sources

REPO = Path(__file__).resolve().parents[2]
MEDIA = (REPO / ".." / "shared" / "media").resolve()

# A smallish spec over real files: a pillarboxed 4:3 source (friday, 30 fps, 44.1 kHz) first, so the
# default frame rate is 30; 29.97 fps sources with 48 kHz stereo (flower) and 44.1 kHz mono (stream)
# to conform; and a 720x480 source (crystal) with a clip straddling its 5 s keyframe.
REAL_TITLES: list[dict[str, Any]] = [
    {"id": "friday", "name": "Friday Feeling", "talent": ["Sam Okafor"], "source": "friday.mp4",
     "clips": [{"start": 0.3, "frames": 160}, {"start": "00:00:04.000", "frames": 40}]},
    {"id": "flower", "name": "Bloom", "talent": ["Priya Nand"], "source": "flower.mp4",
     "clips": [{"start": "00:00:01:10", "frames": 80}, {"start": 3.0, "frames": 40, "id": "bud"}]},
    {"id": "stream", "name": "Still Water", "talent": ["Kenji Mori"], "source": "stream-of-water.mp4",
     "clips": [{"start": 0.1, "frames": 80, "talent": ["Guest Star"]}]},
    {"id": "crystal", "name": "Crystal Caves", "talent": ["Mara Lindqvist"], "source": "crystal.mp4",
     "clips": [{"start": 4.5, "frames": 60}]},
]


def need_media() -> Path:
    if not (MEDIA / "friday.mp4").is_file():
        pytest.skip(f"real footage not found at {MEDIA}")
    return MEDIA


@pytest.fixture(scope="session")
def media_dir() -> Path:
    return need_media()


@pytest.fixture(scope="session")
def real_spec(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("real-spec")
    titles = [dict(t, source=str(media_dir / t["source"])) for t in REAL_TITLES]
    path = folder / "spec.json"
    path.write_bytes(orjson.dumps({"asset_id": "real-test", "titles": titles}))
    return path


@pytest.fixture(scope="session")
def ingest_real_package(real_spec: Path,
                        tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("real") / "pkg"
    catalog = build_package(real_spec, out)
    return out, catalog


@pytest.fixture(scope="session")
def synthetic_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_synthetic_sources(tmp_path_factory.mktemp("synthetic-src"), titles=4)


@pytest.fixture(scope="session")
def ingest_synthetic_package(synthetic_spec: Path,
                      tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("synthetic") / "pkg"
    catalog = build_package(synthetic_spec, out)
    return out, catalog


@pytest.fixture()
def tiny_spec(synthetic_spec: Path, tmp_path: Path) -> Path:
    """One title, one 40-frame clip: builds in about a second."""
    spec = orjson.loads(synthetic_spec.read_bytes())
    title = dict(spec["titles"][0], source=str(synthetic_spec.parent / spec["titles"][0]["source"]),
                 clips=[{"start": 0, "frames": 40}])
    path = tmp_path / "tiny.json"
    path.write_bytes(orjson.dumps({"asset_id": "tiny", "titles": [title]}))
    return path
