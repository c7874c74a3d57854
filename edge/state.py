"""What the edge holds in memory for one loaded catalog, and how it gets there (blocking: run it
off the event loop)."""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from edge.media import MediaIndex
from manifests.cadence import BUILTIN, Cadence, CadenceBook, CadenceError
from manifests.catalog import Catalog, CatalogError, parse_catalog
from manifests.render import PlaylistIndex, build_index
from manifests.token import Signer

REEL_MEMO = 50_000  # remembered reels per catalog per worker (about 500 bytes each: ~25 MB)

Signature = tuple[str, int, int, int]  # real path, inode, mtime_ns, size


def file_signature(path: Path) -> Signature | None:
    """What identifies the file behind `path` now (symlinks resolved, so a swapped `current` link
    counts as a change); None when it cannot be read."""
    try:
        real = path.resolve(strict=True)
        st = real.stat()
    except OSError:
        return None
    return str(real), st.st_ino, st.st_mtime_ns, st.st_size


@dataclass(frozen=True, slots=True)
class Loaded:
    catalog: Catalog
    index: PlaylistIndex
    package_dir: Path  # the real folder (symlinks resolved), so a swapped `current` link is seen
    cadences: CadenceBook  # resolved against this catalog's frame rate and clip lengths
    signer: Signer
    media: MediaIndex  # media URL -> file, and the track timescales a tfdt rewrite needs
    loaded_at: float  # time.time() when loaded
    source: Signature | None = None  # the catalog file it came from, as file_signature() saw it
    # Reels already planned on this catalog, keyed by everything a plan depends on (viewer, cadence,
    # rotation period, the profile's titles and talent): a viewer returning within a period costs
    # a dict lookup. Dies with this Loaded on reload; oldest entries go first past REEL_MEMO.
    # (An OrderedDict: evicting the oldest entry of a plain dict is O(n) once many are deleted.
    # Keys and values are tuples of str/int only, which the cyclic GC stops tracking: a memo of
    # Plan objects made every full collection walk it and put tens of ms on p99.)
    reels: OrderedDict[tuple[object, ...], tuple[tuple[int, ...], str]] = field(
        default_factory=OrderedDict, compare=False, repr=False)

    def cadence(self, requested: str | None) -> Cadence | None:
        return self.cadences.choose(requested)

    def bed_index(self, cadence: Cadence) -> int | None:
        bed = self.catalog.bed(cadence.bed) if cadence.bed else None
        return None if bed is None else bed.index


def media_prefix(version: str, base_url: str | None = None) -> str:
    """Media URIs as written into variant playlists: relative to /sizzle/v/{token}/{rendition}.m3u8
    (served here), or absolute under `base_url` (a CDN or object store holding the same layout:
    BASE/{version}/{package-relative path})."""
    if base_url:
        return f"{base_url}{version}/"
    return f"../../media/{version}/"


def resolve_cadences(book: CadenceBook, catalog: Catalog) -> CadenceBook:
    try:
        resolved = {name: c.resolve(catalog.frame_rate, catalog.lengths) for name, c in book.cadences.items()}
    except CadenceError as exc:
        raise CatalogError(f"cadences do not fit this catalog: {exc}") from None
    for cadence in resolved.values():
        if cadence.bed is None:
            continue
        bed = catalog.bed(cadence.bed)
        if bed is None:
            beds = ", ".join(b.id for b in catalog.beds) or "none"
            raise CatalogError(f"cadence {cadence.name!r} asks for music bed {cadence.bed!r}, which this "
                               f"catalog does not have (beds: {beds})")
        if not catalog.audio:
            raise CatalogError(f"cadence {cadence.name!r} asks for music bed {bed.id!r}, but this "
                               "catalog's audio is muxed into its video: a bed needs demuxed audio")
        # no reel outlasts the cadence, nor the whole Mega Asset (a clip is never used twice)
        reel = min(cadence.frames, sum(clip.frames for clip in catalog.clips))
        longest = len(bed.durations) * catalog.segment_frames
        if reel > longest:
            raise CatalogError(f"cadence {cadence.name!r} runs up to {reel} frames but music bed "
                               f"{bed.id!r} covers only {longest}")
    return CadenceBook(book.default, resolved, book.allowed)


def load(catalog_path: Path, signer: Signer, cadences: CadenceBook = BUILTIN,
         media_base_url: str | None = None) -> Loaded:
    source = file_signature(catalog_path)
    try:
        real = catalog_path.resolve(strict=True)
        data = real.read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read {catalog_path}: {exc.strerror}") from None
    catalog = parse_catalog(data)
    package_dir = real.parent
    media = MediaIndex.build(catalog, package_dir)
    return Loaded(catalog, build_index(catalog, media_prefix(catalog.version, media_base_url)), package_dir,
                  resolve_cadences(cadences, catalog), signer, media, time.time(), source)
