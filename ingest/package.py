"""Split one rendition's fragmented MP4 into `init.mp4` + `sNNNNN.m4s`; verify it against the plan.

An encoded rendition is video only (one track; the audio is its own rendition, `audio_package.py`);
a stream-copied one (`preencoded.py`) keeps the file's muxed audio track.

`init.mp4` is everything before the first `moof` (ftyp + moov); each segment file is one fragment
(`styp` if present + `moof` + `mdat`; FFmpeg's trailing `mfra` index is dropped). With
`default_base_moof`, trun data offsets are relative to the moof, so fragments stand alone.

Checked against the plan (a mismatch is an internal error, not bad input): one fragment per planned
segment, each fragment's video `tfdt` (version 1) equal to the planned start, its video sample count
equal to the planned frames, and a sync sample first. Real durations come from the video `trun`.

`Splitter` does the work box by box, so the same code splits a finished file (`package_rendition`)
or the muxer's output as it is written (`BoxStream`, a file object for PyAV: the stream-copy path
never writes or re-reads a whole intermediate file).
"""
from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

from ingest import boxes
from ingest.ladder import Rendition
from ingest.plan import Plan

SEGMENT_NAME = "s{index:05d}.m4s"
INIT_NAME = "init.mp4"
_SKIPPED = frozenset({"mfra", "free", "skip"})
_MAX_PIECES = 256  # per writev call (the OS allows at least 1024)


class PackagingError(AssertionError):
    """The encoder's output does not match the plan: a bug, not bad input."""


Track = boxes.Track


@dataclass(frozen=True, slots=True)
class Fragment:
    index: int
    bytes: int
    video_tfdt: int
    video_samples: int
    video_duration: int  # video timescale ticks
    audio_tfdt: int | None
    audio_samples: int
    audio_duration: int  # audio timescale ticks


@dataclass(frozen=True, slots=True)
class PackagedRendition:
    rendition: Rendition
    timescale: int
    audio_timescale: int | None  # None: video only
    video_codec: str  # e.g. avc1.64001f
    audio_codec: str | None  # e.g. mp4a.40.2; None: video only
    fragments: tuple[Fragment, ...]
    digest: bytes  # blake2b of init.mp4 and every segment, in order

    def duration(self, index: int) -> Fraction:
        return Fraction(self.fragments[index].video_duration, self.timescale)


def package_rendition(fmp4: Path, folder: Path, plan: Plan, rendition: Rendition, *,
                      video_only: bool = True) -> PackagedRendition:
    """Write folder/init.mp4 and folder/sNNNNN.m4s from fmp4, verify them, describe them.

    video_only: the file must hold exactly one track (video); else video plus one audio track.
    """
    splitter = Splitter(folder, plan, fmp4.name)
    with fmp4.open("rb") as src:
        for kind, data in _top_level(src):
            splitter.add(kind, data)
    return splitter.finish(rendition, video_only=video_only)


class Splitter:
    """Push-based splitter: top-level boxes of a fragmented MP4 in, init.mp4 + segment files out.

    `add` takes each top-level box as it completes (from a file, `package_rendition`, or straight
    from the muxer, `BoxStream`); nothing but the current segment is held in memory. `finish`
    checks the tracks, describes and verifies the package against the plan. With `background`,
    the segment files are written and hashed in a worker thread (both release the GIL) while the
    caller goes on producing boxes; call `close` (or `finish`) before the folder is used or dropped.
    """

    def __init__(self, folder: Path, plan: Plan, name: str, *, background: bool = False) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._folder = folder
        self._plan = plan
        self._name = name
        self._digest = hashlib.blake2b(digest_size=32)
        self._fragments: list[Fragment] = []
        self._current: tuple[Fragment, list[bytes]] | None = None  # the segment being assembled
        self._starts: frozenset[int] = frozenset()
        self._init: list[bytes] = []
        self._pending: list[bytes] = []  # styp & co. waiting for their moof
        self._moof: bytes | None = None  # waiting for its mdat
        self.moov: bytes | None = None
        self.tracks: dict[int, Track] = {}
        self._writer: _Writer | None = _Writer(self._store) if background else None

    def close(self) -> None:
        """Stop the background writer (if any) after the files queued so far; idempotent."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()

    def _write(self, name: str, pieces: list[bytes]) -> None:
        if self._writer is None:
            self._store(name, pieces)
        else:
            self._writer.put(name, pieces)

    def _store(self, name: str, pieces: list[bytes]) -> None:
        with open(self._folder / name, "wb", buffering=0) as out:
            for piece in pieces:
                self._digest.update(piece)
            _write_all(out.fileno(), pieces)

    def _flush(self) -> None:
        if self._current is not None:
            fragment, pieces = self._current
            self._write(SEGMENT_NAME.format(index=fragment.index), pieces)
            self._fragments.append(fragment)

    def add(self, kind: str, data: bytes) -> None:
        """The next top-level box (type, whole box bytes)."""
        name = self._name
        if self._moof is not None:
            if kind != "mdat":
                raise PackagingError(f"{name}: moof not followed by mdat")
            self._fragment(self._moof, data)
            self._moof = None
        elif kind == "moof":
            if self.moov is None:
                raise PackagingError(f"{name}: moof before moov")
            if self._current is None and not self._fragments:
                self._write(INIT_NAME, self._init)
                timescale = track_of(self.tracks, "vide").timescale
                # A planned start in timescale ticks; a start that is not a whole tick can
                # never equal an integer tfdt, as before.
                self._starts = frozenset(
                    int(t) for t in (Fraction(s.start_frame * timescale) / self._plan.frame_rate
                                     for s in self._plan.segments) if t.denominator == 1)
            self._moof = data
        elif self._current is None and not self._fragments and kind != "mdat":
            self._init.append(data)
            if kind == "moov":
                self.moov = data
                self.tracks = read_tracks(data)
        elif kind in _SKIPPED:
            return
        elif kind == "mdat":
            raise PackagingError(f"{name}: mdat outside a fragment")
        else:
            self._pending.append(data)

    def _fragment(self, moof: bytes, mdat: bytes) -> None:
        pieces = [*self._pending, moof, mdat]
        self._pending = []
        size = sum(len(piece) for piece in pieces)
        current = self._current
        index = len(self._fragments) + (current is not None)
        fragment = _describe(moof, index, size, self.tracks)
        if current is not None and fragment.video_tfdt not in self._starts:
            # A fragment inside a planned segment (a stream-copied source with more
            # keyframes than segments): the segment file holds several moof+mdat pairs.
            current[1].extend(pieces)
            self._current = (_merge(current[0], fragment), current[1])
            return
        self._flush()
        self._current = (fragment, pieces)

    def finish(self, rendition: Rendition, *, video_only: bool = True,
               check: bool = True) -> PackagedRendition:
        """Write the last segment; describe the package and (check) verify it against the plan."""
        if self._moof is not None:
            raise PackagingError(f"{self._name}: moof not followed by mdat")
        self._flush()
        self._current = None
        self.close()
        moov = self.moov
        if moov is None:
            raise PackagingError(f"{self._name}: no moov")
        tracks = self.tracks
        video = track_of(tracks, "vide")
        want = 1 if video_only else 2
        if len(tracks) != want:
            raise PackagingError(f"{self._name}: {len(tracks)} tracks, want {want}")
        audio = None if video_only else track_of(tracks, "soun")
        result = PackagedRendition(
            rendition=rendition, timescale=video.timescale,
            audio_timescale=audio.timescale if audio else None,
            video_codec=video_codec_of(moov), audio_codec=audio_codec_of(moov) if audio else None,
            fragments=tuple(self._fragments), digest=self._digest.digest())
        if check:
            verify(result, self._plan)
        return result


def _write_all(fd: int, pieces: list[bytes]) -> None:
    """Write the pieces back to back: one writev call, unless the kernel takes less."""
    if len(pieces) > _MAX_PIECES:
        pieces = [b"".join(pieces)]
    written = os.writev(fd, pieces)
    if written < sum(map(len, pieces)):
        rest = memoryview(b"".join(pieces))[written:]
        while rest:
            rest = rest[os.write(fd, rest):]


class _Writer:
    """One worker thread running `store(name, pieces)` for each queued file, in order.

    The queue is short (memory stays at a few segments); the first error is raised again in the
    producer, at every later `put` and at `close` (nothing more is written after it).
    """

    def __init__(self, store: Callable[[str, list[bytes]], None]) -> None:
        self._store = store
        self._queue: queue.Queue[tuple[str, list[bytes]] | None] = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="segment-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._store(*item)
                except BaseException as exc:  # noqa: BLE001 (re-raised in the producer)
                    self._error = exc

    def put(self, name: str, pieces: list[bytes]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((name, pieces))

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error


class BoxStream:
    """A write-only file for a muxer: cuts the byte stream into top-level boxes for a Splitter.

    Holds at most one incomplete box. The muxer must write strictly in order (a fragmented MP4
    with an empty moov does); a seek anywhere but the current position is refused. PyAV reports a
    failure inside `write` as its own callback error; `error` keeps the original.
    """

    def __init__(self, splitter: Splitter) -> None:
        self._splitter = splitter
        self.error: BaseException | None = None  # the first failure; later writes are dropped
        self._buf = bytearray()
        self._need = 8  # bytes that must be buffered before the next box can be cut
        self._pos = 0

    def write(self, data: bytes) -> int:
        if self.error is not None:  # e.g. the trailer the muxer writes while closing after it
            return len(data)
        try:
            return self._write(data)
        except BaseException as exc:
            self.error = exc
            raise

    def _write(self, data: bytes) -> int:
        buf = self._buf
        buf += data
        self._pos += len(data)
        if len(buf) < self._need:
            return len(data)
        pos, end, need = 0, len(buf), 8
        while end - pos >= 8:
            size = int.from_bytes(buf[pos:pos + 4], "big")
            header = 8
            if size == 1:
                if end - pos < 16:
                    need = 16
                    break
                size = int.from_bytes(buf[pos + 8:pos + 16], "big")
                header = 16
            elif size == 0:  # runs to the end of the file: cut in close()
                need = 1 << 62
                break
            if size < header:
                raise PackagingError(f"bad box size {size}")
            if end - pos < size:
                need = size
                break
            with memoryview(buf) as view:  # one copy out of the buffer, not two
                box = bytes(view[pos:pos + size])
            self._splitter.add(box[4:8].decode("latin-1"), box)
            pos += size
        if pos:
            del buf[:pos]
        self._need = need
        return len(data)

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        if (whence, offset) not in ((0, self._pos), (1, 0)):
            raise PackagingError("the muxer tried to seek in a streamed fragmented MP4")
        return self._pos

    def close(self) -> None:
        """The muxer is done: anything left must be one whole box running to the end."""
        buf = self._buf
        if not buf:
            return
        if len(buf) < 8 or int.from_bytes(buf[:4], "big") != 0:
            raise PackagingError("truncated box at the end of the stream")
        self._splitter.add(buf[4:8].decode("latin-1"), bytes(buf))
        buf.clear()


def verify(packaged: PackagedRendition, plan: Plan) -> None:
    """Fragments must be exactly the planned segments."""
    rid = packaged.rendition.id
    if len(packaged.fragments) != len(plan.segments):
        raise PackagingError(f"{rid}: {len(packaged.fragments)} fragments, "
                             f"planned {len(plan.segments)} segments")
    for fragment, segment in zip(packaged.fragments, plan.segments):
        expected = Fraction(segment.start_frame * packaged.timescale) / plan.frame_rate
        if fragment.video_tfdt != expected:
            raise PackagingError(f"{rid} segment {segment.index}: video tfdt {fragment.video_tfdt}, "
                                 f"planned {float(expected)} (frame {segment.start_frame})")
        if fragment.video_samples != segment.frames:
            raise PackagingError(f"{rid} segment {segment.index}: {fragment.video_samples} frames, "
                                 f"planned {segment.frames}")


def _merge(a: Fragment, b: Fragment) -> Fragment:
    return Fragment(a.index, a.bytes + b.bytes, a.video_tfdt, a.video_samples + b.video_samples,
                    a.video_duration + b.video_duration,
                    a.audio_tfdt if a.audio_tfdt is not None else b.audio_tfdt,
                    a.audio_samples + b.audio_samples, a.audio_duration + b.audio_duration)


def _top_level(src: BinaryIO) -> Iterator[tuple[str, bytes]]:
    """(type, whole box bytes) for each top-level box of a file, read one box at a time."""
    while True:
        head = src.read(8)
        if not head:
            return
        if len(head) < 8:
            raise PackagingError("truncated box header")
        size = int.from_bytes(head[:4], "big")
        kind = head[4:].decode("latin-1")
        if size == 1:
            large = src.read(8)
            head += large
            size = int.from_bytes(large, "big")
        elif size == 0:
            rest = src.read()
            yield kind, head + rest
            return
        body = src.read(size - len(head))
        if len(body) != size - len(head):
            raise PackagingError(f"truncated {kind} box")
        yield kind, head + body


def read_tracks(moov: bytes) -> dict[int, Track]:
    box = boxes.find(moov, None, "moov")
    if box is None:
        raise PackagingError("no moov box")
    try:
        return boxes.read_tracks(moov, box)
    except boxes.BoxError as exc:
        raise PackagingError(str(exc)) from None


def track_of(tracks: dict[int, Track], handler: str) -> Track:
    found = [t for t in tracks.values() if t.handler == handler]
    if len(found) != 1:
        raise PackagingError(f"want exactly one {handler!r} track, found {len(found)}")
    return found[0]


def _describe(moof: bytes, index: int, size: int, tracks: dict[int, Track]) -> Fragment:
    per_track: dict[str, tuple[int, int, int]] = {}
    for traf in _all(moof, "moof/traf"):
        tfhd_box = boxes.find(moof, traf, "tfhd")
        tfdt_box = boxes.find(moof, traf, "tfdt")
        if tfhd_box is None or tfdt_box is None:
            raise PackagingError(f"fragment {index}: traf without tfhd/tfdt")
        tfhd = boxes.read_tfhd(moof, tfhd_box)
        track = tracks.get(tfhd.track_id)
        if track is None:
            raise PackagingError(f"fragment {index}: unknown track {tfhd.track_id}")
        version, tfdt = boxes.read_tfdt(moof, tfdt_box)
        if version != 1:
            raise PackagingError(f"fragment {index}: tfdt version {version}, want 1")
        duration = samples = 0
        first_flags: int | None = None
        default_duration = tfhd.default_sample_duration
        if default_duration is None:
            default_duration = track.default_duration
        for trun_box in boxes.find_all(moof, traf, "trun"):
            trun = boxes.read_trun(moof, trun_box, default_duration)
            if samples == 0:
                first_flags = trun.first_sample_flags
            duration += trun.duration
            samples += trun.sample_count
        if track.handler == "vide":
            if first_flags is None:
                first_flags = tfhd.default_sample_flags
            if first_flags is None:
                first_flags = track.default_flags
            if samples == 0 or not boxes.is_sync_sample(first_flags):
                raise PackagingError(f"fragment {index}: does not start with a sync sample")
        per_track[track.handler] = (tfdt, samples, duration)
    if "vide" not in per_track:
        raise PackagingError(f"fragment {index}: no video")
    video = per_track["vide"]
    audio = per_track.get("soun", (None, 0, 0))
    return Fragment(index, size, video[0], video[1], video[2], audio[0], audio[1], audio[2])


def _all(buf: bytes, path: str) -> Iterator[boxes.Box]:
    return boxes.find_all(buf, None, path)


def video_codec_of(moov: bytes) -> str:
    for trak in _all(moov, "moov/trak"):
        avcc = boxes.find(moov, trak, "mdia/minf/stbl/stsd/avc1/avcC")
        if avcc is not None:
            return boxes.read_avcc(moov, avcc).codec
    raise PackagingError("no avc1/avcC in moov")


def audio_codec_of(moov: bytes) -> str:
    for trak in _all(moov, "moov/trak"):
        esds = boxes.find(moov, trak, "mdia/minf/stbl/stsd/mp4a/esds")
        if esds is not None:
            oti = boxes.read_esds_object_type_indication(moov, esds)
            return f"mp4a.{oti:02x}.{boxes.read_esds_audio_object_type(moov, esds)}"
    raise PackagingError("no mp4a/esds in moov")

