"""`sizzle demo`: build the demo Mega Asset once, write a few viewers of clearly different tastes."""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import orjson

from edge.settings import REPO_ROOT
from edge.startup import StartupError
from manifests.cadence import DEFAULT_CADENCE
from manifests.catalog import CatalogError, parse_catalog

log = logging.getLogger("sizzle.demo")

DEMO_SOURCES = ("crystal.mp4", "elf.mp4", "flower.mp4", "friday.mp4", "frog.mp4",
                "stream-of-water.mp4")


def default_media_dir() -> Path:
    return REPO_ROOT.parent / "shared" / "media"


def _mixed(ids: list[str]) -> list[str]:
    return ids[2::2] + ids[1::2] + ids[:1]


def demo_profiles(title_ids: list[str], talent: list[str] | None = None) -> list[dict[str, object]]:
    """Four viewers: catalog order, its reverse, a mix, and one sharing ana's favourite title but
    not the rest of her taste (so two reels open on the same title and then differ)."""
    ids = list(title_ids)
    mixed = _mixed(ids)
    same_top = ids[:1] + list(reversed(ids[1:]))
    return [
        {"user": "ana", "titles": ids},
        {"user": "ben", "titles": list(reversed(ids))},
        {"user": "chloe", "titles": mixed, "talent": list(talent or [])[:1]},
        {"user": "dev", "titles": same_top},
    ]


def _catalog_ok(path: Path) -> bool:
    try:
        parse_catalog(path.read_bytes())
    except (OSError, CatalogError):
        return False
    return True


def prepare_demo(out: Path, media: Path | None) -> tuple[Path, Path]:
    """Return (catalog.json, profiles.jsonl), ingesting first when the package is missing."""
    from ingest.build import build_package
    from ingest.errors import IngestError

    catalog_path = out / "catalog.json"
    if not _catalog_ok(catalog_path):
        media = media or default_media_dir()
        try:
            with tempfile.TemporaryDirectory(prefix="sizzle-demo-") as scratch:
                if all((media / name).is_file() for name in DEMO_SOURCES):
                    from ingest.demo_spec import write_demo_spec

                    print(f"building the demo Mega Asset from {media} ...", flush=True)
                    spec = write_demo_spec(media, Path(scratch) / "demo-spec.json")
                else:
                    from ingest.synthetic import make_synthetic_sources

                    print(f"{media} not found: building a synthetic demo Mega Asset ...", flush=True)
                    spec = make_synthetic_sources(Path(scratch), titles=4)
                build_package(spec, out)
        except IngestError as exc:
            raise StartupError(f"demo ingest: {exc}") from None
    catalog = parse_catalog(catalog_path.read_bytes())
    profiles_path = out.parent / f"{out.name}-profiles.jsonl"
    # chloe loves the talent of the title she ranks last, so talent visibly lifts it in her reel
    ids = [t.id for t in catalog.titles]
    last = catalog.titles[catalog.title_index[_mixed(ids)[-1]]]
    lines = [orjson.dumps(p) for p in demo_profiles(ids, list(last.talent))]
    profiles_path.write_bytes(b"\n".join(lines) + b"\n")
    return catalog_path, profiles_path


def demo_cadences(catalog_path: Path) -> Path | None:
    """When the package has a music bed, a cadence file adding "music": the default cadence's
    clips with the first bed running under the cuts (written beside the package)."""
    catalog = parse_catalog(catalog_path.read_bytes())
    if not catalog.beds:
        return None
    rounds: list[list[int]] = []
    for slot in DEFAULT_CADENCE.slots:
        if slot.rank == 1:
            rounds.append([])
        rounds[-1].append(slot.frames)
    body = {"cadences": {"music": {"rounds": rounds, "bed": catalog.beds[0].id}},
            "allow": ["default", "short", "long", "music"]}
    path = catalog_path.parent.parent / f"{catalog_path.parent.name}-cadences.json"
    path.write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2) + b"\n")
    return path
