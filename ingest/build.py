"""Build a Mega Asset package: spec -> probe -> plan -> encode -> package -> catalog, atomically.

The package is demuxed (docs/catalog.md, schema 2): video-only renditions, one audio rendition
(`audio/`, encoded once) and the music beds (`music/{id}/`). A stream-copied pre-encoded asset
keeps its muxed audio and has no audio rendition; its music beds are built all the same.

Everything is validated (spec, sources, clip ranges) before any encoding starts. The package is built
in a hidden sibling folder `.NAME.tmp-XXXX` and renamed into place only when complete; an existing
package is swapped out only then (atomically with renameat2(RENAME_EXCHANGE) where the OS has it).
On any failure the temporary folder is removed and the old package is left untouched.
"""
from __future__ import annotations

import ctypes
import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.catalog import CATALOG_NAME, build_catalog, write_catalog
from ingest.errors import IngestError
from ingest.inputs import load_input
from ingest.package import PackagedRendition, package_rendition
from ingest.plan import Plan, PlannedBed, make_plan
from ingest.preencoded import stream_copy
from ingest.probe import MusicInfo, SourceInfo, probe, probe_music
from ingest.spec import Spec

if TYPE_CHECKING:  # the encode path's modules (numpy & co.) load only when it runs
    from ingest.audio_package import PackagedAudio
    from ingest.encode import Progress
    from ingest.loudness import Levelled
    from ingest.music import PackagedBed

_WORK = ".encode"  # scratch sub-folder of the staging folder for the whole fragmented MP4s


def build_package(spec_path: Path, out_dir: Path, *, progress: Progress | None = None,
                  report: Callable[[str], None] | None = None,
                  media_map: Path | None = None) -> dict[str, Any]:
    """Build the package for the spec at spec_path into out_dir; return the catalog dict.

    spec_path is any input `inputs.load_input` reads (JSON spec, timeline wrapper, EDL, .otio;
    media_map for the latter two). `report` hears one-line notes for the operator (the loudness
    spread before and after).

    Raises IngestError (one line, naming the culprit) for any bad input or unusable output path;
    out_dir is then exactly as it was.
    """
    spec = load_input(Path(spec_path), media_map)
    plan = make_plan(spec, probe_sources(spec), probe_beds(spec))
    out_dir = Path(out_dir).absolute()
    _check_destination(out_dir)
    with _staging(out_dir) as staging:
        audio: PackagedAudio | None = None
        packaged: list[PackagedRendition] = []
        blockers: list[str] = []
        if spec.mega_asset is not None:
            # One pass: remux, keyframe checks and split into the package together; a file that
            # turns out not to be copyable leaves only a partial folder to drop.
            copy_plan = dataclasses.replace(plan, renditions=plan.renditions[:1])
            top = copy_plan.renditions[0]
            copied, blockers = stream_copy(copy_plan, spec.mega_asset, staging / top.id)
            if copied is not None:
                plan = copy_plan
                packaged = [copied]
                if report is not None:
                    report(f"stream copy: {spec.mega_asset.name} packaged as {top.id} without "
                           "re-encoding (audio as delivered)")
            else:
                shutil.rmtree(staging / top.id, ignore_errors=True)
        if not packaged:
            from ingest.audio_package import AUDIO_ID, package_audio
            from ingest.encode import encode_plan
            from ingest.loudness import spread

            if blockers and report is not None:
                report(f"re-encoding {spec.mega_asset.name if spec.mega_asset else ''}: "
                       f"{'; '.join(blockers)}")
            work = staging / _WORK
            work.mkdir()
            levels: list[Levelled] = []
            media = encode_plan(plan, work, progress, on_level=levels.append)
            if report is not None:
                report(spread(levels).line(plan.loudness_lufs))
            packaged = [package_rendition(media.video[r.id], staging / r.id, plan, r)
                        for r in plan.renditions]
            audio = package_audio(media.audio_init, media.audio, staging / AUDIO_ID, plan)
            shutil.rmtree(work)
        beds = [_bed(bed, plan, staging, report) for bed in plan.music]
        catalog = build_catalog(plan, packaged, audio, beds)
        write_catalog(catalog, staging)
        staging.chmod(0o755)  # mkdtemp made it private; the package is for serving
        _publish(staging, out_dir)
    return catalog


def probe_sources(spec: Spec) -> dict[str, SourceInfo]:
    """{title id: SourceInfo}; a file used by several titles is probed once."""
    by_path: dict[Path, SourceInfo] = {}
    out: dict[str, SourceInfo] = {}
    for title in spec.titles:
        if title.source not in by_path:
            by_path[title.source] = probe(title.source, title.where)
        out[title.id] = by_path[title.source]
    return out


def probe_beds(spec: Spec) -> dict[str, MusicInfo]:
    """{bed id: MusicInfo} for every music bed of the spec; IngestError names the first bad one."""
    return {bed.id: probe_music(bed.source, bed.start, bed.where) for bed in spec.music}


def plan_spec(spec_path: Path, media_map: Path | None = None) -> Plan:
    """Validate a spec and its sources without encoding anything."""
    spec = load_input(Path(spec_path), media_map)
    return make_plan(spec, probe_sources(spec), probe_beds(spec))


def _bed(bed: PlannedBed, plan: Plan, staging: Path,
         report: Callable[[str], None] | None) -> PackagedBed:
    from ingest.music import MUSIC_DIR, build_bed

    packaged = build_bed(bed, plan, staging / MUSIC_DIR / bed.id)
    if report is not None:
        figures = packaged.levelled
        before, after = figures.before.integrated, figures.after.integrated
        report(f"music {bed.id}: {len(packaged.segments)} segments, loudness "
               f"{'silent' if before is None else f'{before:.1f}'} -> "
               f"{'silent' if after is None else f'{after:.1f}'} LUFS")
    return packaged


def _check_destination(out_dir: Path) -> None:
    if out_dir.exists() or out_dir.is_symlink():
        if not out_dir.is_dir():
            raise IngestError(f"output {out_dir} exists and is not a folder")
        if any(out_dir.iterdir()) and not (out_dir / CATALOG_NAME).is_file():
            raise IngestError(f"output {out_dir} is a non-empty folder without {CATALOG_NAME}: "
                              "refusing to replace it")
    parent = out_dir.parent
    if parent.exists() and not parent.is_dir():
        raise IngestError(f"output {out_dir}: {parent} is not a folder")


@contextmanager
def _staging(out_dir: Path) -> Iterator[Path]:
    """A fresh hidden sibling folder; removed again unless it was published."""
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    except OSError as exc:
        raise IngestError(f"cannot write output {out_dir}: {exc.strerror or exc}") from None
    try:
        yield staging
    except OSError as exc:
        raise IngestError(f"cannot write output {out_dir}: {exc.strerror or exc}"
                          f"{f' ({exc.filename})' if exc.filename else ''}") from None
    finally:
        if staging.is_symlink():  # after swapping places with a symlinked old package
            staging.unlink()
        elif staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _publish(staging: Path, out_dir: Path) -> None:
    """Move the finished package into place, replacing an old one only now."""
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    if _exchange(staging, out_dir):
        return  # staging now holds the old package; _staging removes it
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    os.rename(out_dir, old / "package")
    try:
        os.rename(staging, out_dir)
    except OSError:
        os.rename(old / "package", out_dir)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with Linux renameat2(RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return bool(result == 0)
