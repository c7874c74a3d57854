"""The checker against a real edge serving a demuxed package with a music bed: a continuous reel, a
discontinuous reel and a music-bed reel conform with every segment decoded; and playlists copied
from that edge, broken one way each and served by a small origin, fail on exactly the rule broken.

The package: 4 generated titles with clips of 40, 50 and 80 frames (so some segments are 10 frames
long and a bed reel has fewer audio than video segments, or as many by chance) and one 40 s music
bed."""
from __future__ import annotations

import http.server
import re
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from conformance import check_url
from conformance.playlist import parse_master, parse_media
from tests.conftest import LiveServer, start_server, stop, viewer_profiles

pytestmark = pytest.mark.e2e

BED_CLIPS = ({"start": 0.5, "frames": 40}, {"start": 2.0, "frames": 50}, {"start": 4.0, "frames": 80})
CADENCES = {"cadences": {"music": {"rounds": [[80, 50, 40], [50, 40]], "bed": "bed"},
                          # 170 frames: 5 video segments (one of 10 frames) and, by chance, 5 bed ones
                          "chance": {"rounds": [[80, 50, 40]], "bed": "bed"}},
            "allow": ["default", "music", "chance"]}


@pytest.fixture(scope="module")
def bed_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ingest.build import build_package
    from ingest.synthetic import make_synthetic_sources, write_music

    work = tmp_path_factory.mktemp("bed-package")
    spec_path = make_synthetic_sources(work / "src", titles=4)
    spec = orjson.loads(spec_path.read_bytes())
    for title in spec["titles"]:
        title["clips"] = [dict(clip) for clip in BED_CLIPS]
    spec["music"] = [{"id": "bed", "name": "Test Bed", "credit": "a sine",
                      "source": str(write_music(work / "src" / "bed.m4a", 40.0))}]
    spec_path.write_bytes(orjson.dumps(spec))
    build_package(spec_path, work / "pkg")
    catalog = orjson.loads((work / "pkg" / "catalog.json").read_bytes())
    assert catalog.get("audio_renditions") and catalog.get("music"), "ingest built no demuxed audio / bed"
    return work / "pkg" / "catalog.json"


@pytest.fixture(scope="module")
def bed_server(bed_package: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    work = tmp_path_factory.mktemp("bed-server")
    cadences = work / "cadences.json"
    cadences.write_bytes(orjson.dumps(CADENCES))
    titles = [t["id"] for t in orjson.loads(bed_package.read_bytes())["titles"]]
    process, server = start_server(bed_package, viewer_profiles(titles), work, "--cadences", str(cadences))
    try:
        yield server
    finally:
        stop(process)


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
    return body.decode()


def playlists(master_url: str) -> tuple[str, list[str], str]:
    """(master text, variant texts, audio playlist text) as the edge serves them."""
    master_text = fetch(master_url)
    master = parse_master(master_text)
    variants = [fetch(urllib.parse.urljoin(master_url, v.uri)) for v in master.variants]
    return master_text, variants, fetch(urllib.parse.urljoin(master_url, master.media[0]["URI"]))


@pytest.mark.parametrize(("query", "user"), [("", "ana"), ("?timeline=discontinuous", "ben"),
                                             ("?cadence=music", "chloe"), ("?cadence=music", "ana"),
                                             ("?cadence=chance", "ben")])
def test_reels_conform_with_every_segment_decoded(bed_server: LiveServer, query: str, user: str) -> None:
    url = f"{bed_server.base}sizzle/{user}/master.m3u8{query}"
    _, variants, audio = playlists(url)
    video, bed = parse_media(variants[0]), parse_media(audio)
    cuts = sum(s.discontinuity for s in video.segments)
    if query == "":  # one continuous timeline: timed segment URIs, no discontinuity
        assert cuts == 0 and all(".t" in s.uri for s in video.segments + bed.segments)
    elif "timeline" in query:  # the reel's cuts are marked in video and audio alike
        assert cuts > 0 and sum(s.discontinuity for s in bed.segments) == cuts
    elif "music" in query:  # the bed on its own grid: fewer segments (the video has 10-frame ones)
        assert len(bed.segments) < len(video.segments) and "/music/bed/f" in bed.segments[-1].uri
    else:  # as many bed segments as video ones, but whole ones: not on the video's grid
        assert len(bed.segments) == len(video.segments) and "/music/bed/f" in bed.segments[-1].uri
        assert min(s.duration for s in video.segments) < 0.5 < min(s.duration for s in bed.segments)
    report = check_url(url)
    print(f"\n{user}{query}: {report.variants} variants, {report.renditions} audio renditions, "
          f"{report.segments} segments, {report.segments_decoded} decoded, {report.requests} requests, "
          f"{len(video.segments)} video / {len(bed.segments)} audio segments per playlist, {cuts} cuts")
    assert report.variants == 2 and report.renditions == 1
    assert report.segments == 2 * len(video.segments) + len(bed.segments)
    assert report.segments_decoded == report.segments > 0
    assert report.ok, "\n".join(v.line() for v in report.violations)


# --- broken copies served by an origin ---------------------------------------------------------

_URI_ATTRIBUTE = re.compile(r'URI="([^"]+)"')


def absolute(text: str, base: str) -> str:
    """A playlist with every URI (lines and URI= attributes) made absolute against `base`."""
    lines = []
    for line in text.split("\n"):
        if line and not line.startswith("#"):
            line = urllib.parse.urljoin(base, line)
        else:
            line = _URI_ATTRIBUTE.sub(lambda m: f'URI="{urllib.parse.urljoin(base, m.group(1))}"', line)
        lines.append(line)
    return "\n".join(lines)


class Origin:
    """A static origin with good HLS headers (so only the broken playlist text can fail a rule)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        files = self.files

        class Handler(http.server.BaseHTTPRequestHandler):
            def _cors(self) -> None:
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Expose-Headers", "Content-Length, Content-Range")

            def do_GET(self) -> None:  # noqa: N802
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.apple.mpegurl")
                self.send_header("Cache-Control", "private, no-store" if self.path == "/master.m3u8"
                                 else "public, max-age=31536000, immutable")
                self._cors()
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_OPTIONS(self) -> None:  # noqa: N802
                self.send_response(204)
                self._cors()
                self.send_header("Access-Control-Allow-Headers", "Range")
                self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def serve(self, master_url: str, master_text: str, audio_text: str | None = None) -> str:
        """Serve a copy of a master (URIs pointing back at the edge), optionally with its audio
        playlist replaced by `audio_text` served here; returns the copy's URL."""
        master_text = absolute(master_text, master_url)
        if audio_text is not None:
            audio_url = parse_master(master_text).media[0]["URI"]
            self.files["/audio.m3u8"] = absolute(audio_text, audio_url).encode()
            master_text = master_text.replace(f'URI="{audio_url}"', f'URI="{self.base}audio.m3u8"')
        self.files["/master.m3u8"] = master_text.encode()
        return f"{self.base}master.m3u8"


@pytest.fixture
def origin() -> Iterator[Origin]:
    served = Origin()
    try:
        yield served
    finally:
        served.close()


def broken(origin: Origin, master_url: str, master_text: str, audio_text: str | None = None) -> set[str]:
    report = check_url(origin.serve(master_url, master_text, audio_text), segments=0)
    return report.rules()


def test_a_faithful_copy_is_clean(bed_server: LiveServer, origin: Origin) -> None:
    url = f"{bed_server.base}sizzle/ana/master.m3u8"
    master_text, _, audio = playlists(url)
    assert broken(origin, url, master_text, audio) == set()


def test_broken_master_audio_attributes(bed_server: LiveServer, origin: Origin) -> None:
    url = f"{bed_server.base}sizzle/ana/master.m3u8"
    master_text, _, _ = playlists(url)
    assert broken(origin, url, master_text.replace("DEFAULT=YES", "DEFAULT=NO")) == {"MEDIA"}
    assert broken(origin, url, master_text.replace('LANGUAGE="en",', "")) == {"MEDIA"}
    assert broken(origin, url, master_text.replace('CHANNELS="2"', 'CHANNELS="6"')) == {"CHANNELS"}
    assert broken(origin, url, master_text.replace('AUDIO="audio"', 'AUDIO="dub"', 1)) == {"AUDIO-GROUP"}
    assert broken(origin, url, master_text.replace(",mp4a.40.2", "", 1)) == {"CODECS"}


def test_broken_audio_timing_on_a_continuous_reel(bed_server: LiveServer, origin: Origin) -> None:
    url = f"{bed_server.base}sizzle/ana/master.m3u8"
    master_text, _, audio = playlists(url)
    lines = audio.split("\n")
    uris = [n for n, line in enumerate(lines) if line and not line.startswith("#")]
    # Segment 3's audio asked for at 40 frames (1.33 s) later: a jump in, a jump back, out of sync.
    k = uris[3]
    timed = re.search(r"\.t(\d+)\.m4s$", lines[k])
    assert timed is not None
    frame = int(timed.group(1))
    late = lines[:k] + [re.sub(r"\.t\d+\.m4s$", f".t{frame + 40}.m4s", lines[k])] + lines[k + 1:]
    assert broken(origin, url, master_text, "\n".join(late)) == {"DISCONTINUITY", "AV-SYNC"}
    # The same, marked: the discontinuities no longer match the video's, it is still out of sync,
    # and the EXTINFs of the run it starts no longer add up to the time its samples span.
    tagged = late[:k - 1] + ["#EXT-X-DISCONTINUITY"] + late[k - 1:]
    assert broken(origin, url, master_text, "\n".join(tagged)) == {"DISCONTINUITY", "AV-SYNC", "EXTINF"}
    # A discontinuity where the audio follows on.
    extra = lines[:uris[5] - 1] + ["#EXT-X-DISCONTINUITY"] + lines[uris[5] - 1:]
    assert broken(origin, url, master_text, "\n".join(extra)) == {"DISCONTINUITY"}
    # Another target duration.
    assert broken(origin, url, master_text, audio.replace("TARGETDURATION:2", "TARGETDURATION:3")) == {
        "TARGETDURATION"}
    # EXTINF that is not the audio's real duration.
    first = next(n for n, line in enumerate(lines) if line.startswith("#EXTINF:"))
    wrong = lines[:first] + ["#EXTINF:1.4,"] + lines[first + 1:]
    assert broken(origin, url, master_text, "\n".join(wrong)) == {"EXTINF"}


def test_broken_music_bed(bed_server: LiveServer, origin: Origin) -> None:
    url = f"{bed_server.base}sizzle/ana/master.m3u8?cadence=music"
    master_text, _, bed = playlists(url)
    lines = bed.split("\n")
    uris = [n for n, line in enumerate(lines) if line and not line.startswith("#")]
    # Without its last (fade-out) segment the bed ends before the video does.
    short = lines[:uris[-1] - 1] + lines[uris[-1] + 1:]
    assert "AV-SYNC" in broken(origin, url, master_text, "\n".join(short))
    # Two more whole segments: the bed runs on past the video by more than a segment.
    last = lines[uris[-1]]
    more = ["#EXTINF:1.344,", re.sub(r"/f(\d{5})\.m4s$", "/s00020.m4s", last),
            "#EXTINF:1.322667,", re.sub(r"/f(\d{5})\.m4s$", "/s00021.m4s", last)]
    longer = lines[:uris[-1] + 1] + more + lines[uris[-1] + 1:]
    assert "AV-SYNC" in broken(origin, url, master_text, "\n".join(longer))
