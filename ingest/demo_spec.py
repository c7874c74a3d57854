"""The demo spec: six made-up titles over the real CC0 footage in ../shared/media (never copied).

About 100 s of Mega Asset at 30 fps: clips of 40, 80 and 160 frames where the source is long enough
(flower and stream-of-water are too short for 160), at least three 40-frame and two 80-frame
clips per title so the default cadence finds the lengths it asks for; all three start notations
in use. When ../shared/media has `outfoxing.mp3`, the spec adds it as a music bed (credited as its
licence asks).
"""
from __future__ import annotations

from pathlib import Path

import orjson

# (file, id, name, talent, [(start, frames), ...]); starts stay well inside each source.
_TITLES: tuple[tuple[str, str, str, tuple[str, ...], tuple[tuple[float | str, int], ...]], ...] = (
    ("crystal.mp4", "crystal", "Crystal Caves", ("Mara Lindqvist", "Tomás Reyes"),
     ((0.5, 160), ("00:00:06.200", 160), (2.0, 80), ("00:00:08:00", 80), (10.0, 40), (3.5, 40),
      (5.0, 40))),
    ("elf.mp4", "elf", "The Elf's Errand", ("Juniper Hale", "Tomás Reyes"),
     ((0.3, 160), (2.6, 160), ("00:00:04.600", 80), (1.0, 80), ("00:00:06:15", 40), (3.2, 40),
      (5.5, 40))),
    ("flower.mp4", "flower", "Bloom", ("Priya Nand",),
     ((0.2, 80), ("00:00:02.200", 80), (3.6, 40), (1.0, 40), (2.8, 40))),
    ("friday.mp4", "friday", "Friday Feeling", ("Sam Okafor", "Priya Nand"),
     ((0.0, 160), ("00:00:01:00", 80), (3.0, 80), (4.5, 40), (2.0, 40), (0.6, 40))),
    ("frog.mp4", "frog", "Frog Kingdom", ("Olive Brandt", "Juniper Hale"),
     ((0.5, 160), ("00:00:02.800", 160), (5.0, 80), (3.5, 80), (1.0, 40), (4.2, 40), (6.5, 40))),
    ("stream-of-water.mp4", "stream", "Still Water", ("Kenji Mori",),
     ((0.0, 80), (0.25, 80), ("00:00:01.500", 40), (0.8, 40), (0.1, 40))),
)


# (file, id, name, credit) of the music beds, used when the file is present.
_MUSIC = (("outfoxing.mp3", "outfoxing", "Outfoxing the Fox", "Kevin MacLeod (incompetech.com)"),)


def write_demo_spec(media_dir: Path, dest: Path) -> Path:
    """Write the demo spec to dest (sources as absolute paths into media_dir); return dest."""
    media = Path(media_dir).absolute()
    titles = [
        {"id": tid, "name": name, "talent": list(talent), "source": str(media / file),
         "clips": [{"start": start, "frames": frames} for start, frames in clips]}
        for file, tid, name, talent, clips in _TITLES
    ]
    spec: dict[str, object] = {"asset_id": "demo", "segment_frames": 40, "titles": titles}
    music = [{"id": bid, "name": name, "source": str(media / file), "credit": credit}
             for file, bid, name, credit in _MUSIC if (media / file).is_file()]
    if music:
        spec["music"] = music
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(orjson.dumps(spec, option=orjson.OPT_INDENT_2) + b"\n")
    return dest
