"""Music beds: whole segments on the bed's own AAC grid, fade-out variants that splice cleanly,
levelled to the plan's loudness target, checked by `sizzle validate`."""
from __future__ import annotations

import io
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import orjson
import pytest

from ingest.audio_package import read_fragment
from ingest.build import build_package
from ingest.grid import bed_spans
from ingest.loudness import measure
from ingest.synthetic import write_music
from ingest.validate import validate

Package = tuple[Path, dict[str, Any]]
TEN_MS = 480


@pytest.fixture(scope="module")
def bed_package(synthetic_spec: Path, tmp_path_factory: pytest.TempPathFactory) -> Package:
    """6.67 s of clips and three beds: a 7 s stereo 44.1 kHz tone, a 4.8 s mono 48 kHz one from
    1 s, and a 12 s one (longer than any reel can be)."""
    folder = tmp_path_factory.mktemp("beds")
    write_music(folder / "tone.m4a", 7.0, channels=2, rate=44100, amplitude=0.3)
    write_music(folder / "mono.m4a", 4.8, channels=1, rate=48000, tone_hz=500, amplitude=0.05)
    write_music(folder / "long.m4a", 12.0)
    spec = orjson.loads(synthetic_spec.read_bytes())
    title = dict(spec["titles"][0], source=str(synthetic_spec.parent / spec["titles"][0]["source"]),
                 clips=[{"start": 0, "frames": 160}, {"start": 5.5, "frames": 40}])
    path = folder / "spec.json"
    path.write_bytes(orjson.dumps({"asset_id": "beds", "titles": [title], "music": [
        {"id": "tone", "name": "Tone", "source": "tone.m4a", "credit": "Test Tones Ltd"},
        {"id": "mono", "name": "Mono", "source": "mono.m4a", "start": 1},
        {"id": "long", "name": "Long", "source": "long.m4a"}]}))
    out = folder / "pkg"
    return out, build_package(path, out)


def decode(pkg: Path, bed: dict[str, Any], names: list[str]) -> np.ndarray:
    data = (pkg / bed["init"]).read_bytes() + b"".join((pkg / n).read_bytes() for n in names)
    with av.open(io.BytesIO(data), format="mp4") as container:
        assert [s.type for s in container.streams] == ["audio"]
        return np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)


def names(bed: dict[str, Any], count: int, fade_last: bool = False) -> list[str]:
    out = [bed["segment_template"].format(index=k) for k in range(count)]
    if fade_last:
        out[-1] = bed["fade_template"].format(index=count - 1)
    return out


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


def test_catalog_entries(bed_package: Package) -> None:
    pkg, catalog = bed_package
    tone, mono, long = catalog["music"]
    assert {k: v for k, v in tone.items() if k != "segments"} == {
        "id": "tone", "name": "Tone", "credit": "Test Tones Ltd", "codecs": "mp4a.40.2",
        "channels": 2, "sample_rate": 48000, "init": "music/tone/init.mp4",
        "segment_template": "music/tone/s{index:05d}.m4s",
        "fade_template": "music/tone/f{index:05d}.m4s"}
    assert mono["credit"] == ""
    seconds = Fraction(40, 30)
    # 7 s and 3.8 s of audio: only whole segments (every AAC frame complete) are kept
    assert len(tone["segments"]) == len(bed_spans(7 * 48000, seconds)) == 5
    assert len(mono["segments"]) == len(bed_spans(round(3.8 * 48000), seconds)) == 2
    # capped at the asset's length plus one segment (8 s): no reel is longer
    assert len(long["segments"]) == len(bed_spans(8 * 48000, seconds)) == 6
    for bed in (tone, mono, long):
        for k, entry in enumerate(bed["segments"]):
            assert set(entry) == {"duration", "bytes", "fade_bytes"}
            assert (pkg / bed["segment_template"].format(index=k)).stat().st_size == entry["bytes"]
            assert (pkg / bed["fade_template"].format(index=k)).stat().st_size == entry["fade_bytes"]
        folder = pkg / "music" / bed["id"]
        assert len(list(folder.glob("s*.m4s"))) == len(list(folder.glob("f*.m4s"))) \
            == len(bed["segments"])
    assert validate(pkg) == []


def test_bed_segments_and_fades_follow_the_grid(bed_package: Package) -> None:
    pkg, catalog = bed_package
    for bed in catalog["music"]:
        spans = bed_spans(10**9, Fraction(40, 30))
        for k, entry in enumerate(bed["segments"]):
            first, stop = spans[k]
            for template in ("segment_template", "fade_template"):
                data = (pkg / bed[template].format(index=k)).read_bytes()
                assert read_fragment(data) == (first * 1024, stop - first, (stop - first) * 1024)
            assert entry["duration"] == round((stop - first) * 1024 / 48000, 6)


def test_beds_are_levelled_and_mono_is_upmixed(bed_package: Package) -> None:
    pkg, catalog = bed_package
    tone, mono, _ = catalog["music"]
    for bed in (tone, mono):
        sound = decode(pkg, bed, names(bed, len(bed["segments"])))
        loudness = measure(sound[:, 4096:])
        assert loudness.integrated is not None and abs(loudness.integrated + 16) < 1, bed["id"]
    sound = decode(pkg, mono, names(mono, 2))
    assert rms(sound[0] - sound[1]) < 0.01 * rms(sound)


def test_fade_variant_splices_and_ends_in_silence(bed_package: Package) -> None:
    pkg, catalog = bed_package
    tone = catalog["music"][0]
    for k in range(len(tone["segments"])):
        plain = decode(pkg, tone, names(tone, k + 1))
        faded = decode(pkg, tone, names(tone, k + 1, fade_last=True))
        start = 1024 * bed_spans(10**9, Fraction(40, 30))[k][0]
        assert plain.shape == faded.shape
        assert np.array_equal(plain[:, :start], faded[:, :start])  # s0..s{k-1} untouched
        level = rms(plain[:, start:start + TEN_MS])
        assert level > 0.05 or k == 0  # s0 starts with the bed's 5 ms fade-in
        assert abs(rms(faded[:, start:start + TEN_MS]) - level) < 0.03 * level, k  # no jump
        assert rms(faded[:, -TEN_MS:]) < 1e-3 * level, k  # silence at the end
        middle = start + (faded.shape[1] - start) // 2
        full = rms(plain[:, middle - TEN_MS:middle + TEN_MS])
        assert 0.2 * full < rms(faded[:, middle - TEN_MS:middle + TEN_MS]) < 0.8 * full


def test_validate_checks_every_bed_file(bed_package: Package, tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    shutil.copytree(bed_package[0], pkg)
    fade = pkg / "music" / "tone" / "f00001.m4s"
    fade.write_bytes(fade.read_bytes()[:-10])
    (pkg / "music" / "mono" / "s00001.m4s").unlink()
    shutil.copy(pkg / "music" / "tone" / "s00002.m4s", pkg / "music" / "tone" / "s00003.m4s")
    problems = validate(pkg)
    assert any(p.startswith("music/tone/f00001.m4s: ") for p in problems), problems
    assert any(p.startswith("music/mono/s00001.m4s: ") for p in problems)
    assert any(p.startswith("music/tone/s00003.m4s: audio tfdt ") for p in problems), problems
