"""Ingest vs the FFmpeg CLI on the same pre-encoded Mega Asset, same run (issue 3's measurements).

    .venv/bin/python benchmarks/ingest_vs_ffmpeg.py [--minutes 10] [--encode-minutes 2] [--runs 5]
        [--skip-encode] [--breakdown]

1. Generates a pre-encoded Mega Asset with the FFmpeg CLI (640x360 30 fps H.264, IDR every 40
   frames, no B-frames, AAC 48 kHz stereo) and a clip list of 120-frame clips tiling it.
2. Stream copy: `sizzle ingest` (probe + keyframe check + remux + split + catalog) vs
   `ffmpeg -c copy -f hls -hls_segment_type fmp4` on the same file.
3. Ladder encode (540p + 360p, x264 veryfast, same VBV, no B-frames, closed GOP, scenecut 0, same
   thread count) of the first `--encode-minutes`: `sizzle ingest` with a 2-rung ladder vs one
   `ffmpeg` process splitting the decoded picture into both encoders.
Wall time, CPU time (user + system) and peak RSS of each child process (getrusage in a fresh
wrapper per run) at two asset lengths, to show whether memory grows with length. Stream copy is
short and the machine may be shared, so it is run `--runs` times, sizzle and FFmpeg alternating,
and the medians are reported (CPU time is the steadier figure: other load stretches wall time).
`--breakdown` times the stream-copy work in this process (imports, probe, remux, split, write,
hash) to show where the time goes. Installs ffmpeg with apt-get when missing.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZZLE = [sys.executable, "-m", "edge.cli"]
_MEASURE = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE); "
            "w = time.perf_counter() - t; u = resource.getrusage(resource.RUSAGE_CHILDREN); "
            "print(w, u.ru_utime + u.ru_stime, u.ru_maxrss, r.returncode); "
            "sys.stderr.write(r.stderr.decode()[-2000:] if r.returncode else '')")


def ensure_ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "ffmpeg"], check=True)
    return shutil.which("ffmpeg") or "ffmpeg"


def measure(cmd: list[str]) -> tuple[float, int]:
    """(wall seconds, peak RSS in MiB) of one command, run in a fresh wrapper process."""
    wall, _, rss = measure_cpu(cmd)
    return wall, rss


def measure_cpu(cmd: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in MiB) of one command, in a fresh wrapper process."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True,
                         cwd=REPO, check=True)
    wall, cpu, rss, code = out.stdout.split()
    if code != "0":
        raise SystemExit(f"failed ({code}): {' '.join(cmd)}\n{out.stderr}")
    return float(wall), float(cpu), int(rss) // 1024


def medians(runs: list[tuple[float, float, int]]) -> tuple[float, float, int]:
    """(median wall, median CPU, highest peak RSS) of several runs."""
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
            max(r[2] for r in runs))


def stream_copy(ffmpeg: str, work: Path, minutes: float, runs: int) -> None:
    """sizzle ingest vs ffmpeg -c copy -f hls on one pre-encoded asset, `runs` times each."""
    seconds = int(minutes * 60)
    asset = work / f"mega-{seconds}.mp4"
    make_asset(ffmpeg, asset, seconds)
    spec = mega_spec(work / f"copy-{seconds}.json", asset, seconds, [{"height": 360}])
    ours_cmd = [*SIZZLE, "ingest", str(spec), "--out", str(work / f"pkg-{seconds}"), "-q"]
    hls = work / f"hls-{seconds}"
    theirs_cmd = [ffmpeg, "-y", "-v", "error", "-i", str(asset), "-c", "copy", "-f", "hls",
                  "-hls_segment_type", "fmp4", "-hls_time", "1.333333", "-hls_playlist_type",
                  "vod", str(hls / "index.m3u8")]
    ours: list[tuple[float, float, int]] = []
    theirs: list[tuple[float, float, int]] = []
    for _ in range(runs):  # alternate, so both see the same background load
        ours.append(measure_cpu(ours_cmd))
        shutil.rmtree(hls, ignore_errors=True)
        hls.mkdir()
        theirs.append(measure_cpu(theirs_cmd))
    (ow, oc, orss), (tw, tc, trss) = medians(ours), medians(theirs)
    print(f"| stream copy | {minutes:g} min | {ow:.2f} s | {tw:.2f} s | {ow / tw:.2f}x | "
          f"{oc:.2f} s | {tc:.2f} s | {oc / tc:.2f}x | {orss} MiB | {trss} MiB |", flush=True)
    if runs > 1:
        print(f"|  | all runs (wall) | {' '.join(f'{r[0]:.2f}' for r in ours)} | "
              f"{' '.join(f'{r[0]:.2f}' for r in theirs)} |  |  |  |  |  |  |", flush=True)


_BREAKDOWN = """
import dataclasses, shutil, statistics, sys, time
from pathlib import Path
import av
from ingest import package, preencoded
from ingest.build import load_input, make_plan, probe_beds, probe_sources
from ingest.probe import probe
spec = load_input(Path(sys.argv[1]))
plan = make_plan(spec, probe_sources(spec), probe_beds(spec))
plan = dataclasses.replace(plan, renditions=plan.renditions[:1])
path, out = spec.mega_asset, Path(sys.argv[2])
class Null:
    def add(self, kind, data): pass
def demux():
    with av.open(str(path)) as c:
        for _ in c.demux(c.streams.video[0], c.streams.audio[0]): pass
def remux():
    with av.open(str(path)) as c:
        preencoded._remux(plan, c, package.BoxStream(Null()))
def copy(store, background):
    def run():
        sp = package.Splitter(out, plan, "bench", background=background)
        if store is not None:
            sp._store = store.__get__(sp)
            if sp._writer is not None:
                sp._writer._store = sp._store
        with av.open(str(path)) as c:
            sink = package.BoxStream(sp)
            preencoded._remux(plan, c, sink)
            sink.close()
        sp.finish(plan.renditions[0], video_only=False)
    return run
def nothing(self, name, pieces): pass
def hash_only(self, name, pieces):
    for p in pieces: self._digest.update(p)
def write_only(self, name, pieces):
    with open(self._folder / name, "wb", buffering=0) as f: package._write_all(f.fileno(), pieces)
steps = [("probe (video demux + first-frame decode)", lambda: probe(path, "bench")),
         ("demux video + audio, nothing else", demux),
         ("remux (demux + mux), output discarded", remux),
         ("remux + split + verify (no write, no hash)", copy(nothing, False)),
         ("remux + split + verify + blake2b (no write)", copy(hash_only, False)),
         ("remux + split + verify + write (no hash)", copy(write_only, False)),
         ("stream_copy, all in one thread", copy(None, False)),
         ("stream_copy as shipped (write + hash in a worker)", copy(None, True))]
for name, step in steps:
    walls, cpus = [], []
    for _ in range(int(sys.argv[3])):
        shutil.rmtree(out, ignore_errors=True)
        w, c = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    print(f"| {name} | {statistics.median(walls):.3f} s | {statistics.median(cpus):.3f} s |",
          flush=True)
"""


def breakdown(ffmpeg: str, work: Path, minutes: float, runs: int) -> None:
    """Where a stream copy's time goes: start-up and imports (fresh processes), then the work."""
    seconds = int(minutes * 60)
    asset = work / f"mega-{seconds}.mp4"
    if not asset.exists():
        make_asset(ffmpeg, asset, seconds)
    spec = mega_spec(work / f"copy-{seconds}.json", asset, seconds, [{"height": 360}])
    print(f"\nBreakdown, {minutes:g} min asset (median of {runs}; warm page cache):\n")
    print("| step | wall | CPU |")
    print("| --- | --- | --- |")
    for name, code in (("interpreter start-up", "pass"),
                       ("+ import edge.cli (the `sizzle` entry point)", "import edge.cli"),
                       ("+ import ingest.cli (all `sizzle ingest` imports)",
                        "import edge.cli, ingest.cli"),
                       ("  of which PyAV alone", "import av")):
        wall, cpu, _ = medians([measure_cpu([sys.executable, "-c", code]) for _ in range(runs)])
        print(f"| {name} | {wall:.3f} s | {cpu:.3f} s |", flush=True)
    subprocess.run([sys.executable, "-c", _BREAKDOWN, str(spec), str(work / "breakdown"),
                    str(runs)], cwd=REPO, check=True)


def make_asset(ffmpeg: str, path: Path, seconds: int) -> None:
    subprocess.run([ffmpeg, "-y", "-v", "error", "-f", "lavfi", "-i",
                    f"testsrc2=size=640x360:rate=30:duration={seconds}", "-f", "lavfi", "-i",
                    f"sine=frequency=440:sample_rate=48000:duration={seconds}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-g", "40",
                    "-keyint_min", "40", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-ac", "2", "-ar", "48000", "-b:a", "128k", str(path)],
                   check=True)


def mega_spec(path: Path, asset: Path, seconds: int, renditions: list[dict[str, object]]) -> Path:
    frames = seconds * 30
    clips = [{"title": f"t{i % 10}", "start": f"{n // 30 // 3600:02d}:{n // 30 // 60 % 60:02d}:"
                                              f"{n // 30 % 60:02d}:{n % 30:02d}", "frames": 120}
             for i, n in enumerate(range(0, frames - 119, 120))]
    spec = {"asset_id": "bench", "mega_asset": str(asset), "segment_frames": 40,
            "renditions": renditions, "loudness_lufs": None,
            "titles": [{"id": f"t{i}", "name": f"Title {i}"} for i in range(10)], "clips": clips}
    path.write_text(json.dumps(spec))
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--encode-minutes", type=float, default=2)
    parser.add_argument("--runs", type=int, default=5, help="stream-copy runs of each (medians)")
    parser.add_argument("--skip-encode", action="store_true", help="stream copy only")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time the stream-copy steps of the longer asset in-process")
    args = parser.parse_args()
    ffmpeg = ensure_ffmpeg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"Stream copy, median of {args.runs} runs each (CPU = user + system):\n")
        print("| what | length | sizzle wall | ffmpeg wall | ratio | sizzle CPU | ffmpeg CPU | ratio "
              "| sizzle peak RSS | ffmpeg peak RSS |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for minutes in (args.minutes / 4, args.minutes / 2, args.minutes):
            stream_copy(ffmpeg, work, minutes, args.runs)
        if args.breakdown:
            breakdown(ffmpeg, work, args.minutes, args.runs)
        if args.skip_encode:
            return
        print("\n| what | length | sizzle | ffmpeg | ratio | sizzle peak RSS | ffmpeg peak RSS |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for minutes in (args.encode_minutes / 2, args.encode_minutes):
            seconds = int(minutes * 60)
            asset = work / f"enc-{seconds}.mp4"
            make_asset(ffmpeg, asset, seconds)
            spec = mega_spec(work / f"enc-{seconds}.json", asset, seconds,
                             [{"height": 540}, {"height": 360}])
            ours = measure([*SIZZLE, "ingest", str(spec), "--out", str(work / f"enc-pkg-{seconds}"),
                            "-q"])
            x264 = "bframes=0:scenecut=0:open-gop=0:keyint=40:min-keyint=40"
            rungs = [("540", "960:540", "2500k", "5000k", "high", "3.1"),
                     ("360", "640:360", "1000k", "2000k", "main", "3.0")]
            cmd = [ffmpeg, "-y", "-v", "error", "-i", str(asset), "-filter_complex",
                   "[0:v]split=2[a][b];[a]scale=960:540:flags=bicubic[a1];"
                   "[b]scale=640:360:flags=bicubic[b1]"]
            for (name, _, maxrate, bufsize, profile, level), label in zip(rungs, ("[a1]", "[b1]")):
                cmd += ["-map", label, "-map", "0:a", "-c:v", "libx264", "-preset", "veryfast",
                        "-crf", "23", "-maxrate", maxrate, "-bufsize", bufsize, "-profile:v",
                        profile, "-level", level, "-x264-params", x264, "-c:a", "aac", "-b:a",
                        "128k", "-ar", "48000", "-ac", "2", "-movflags",
                        "cmaf+frag_keyframe+empty_moov+default_base_moof",
                        str(work / f"ff-{seconds}-{name}.mp4")]
            theirs = measure(cmd)
            print(f"| ladder encode 540p+360p | {minutes:g} min | {ours[0]:.2f} s | {theirs[0]:.2f} s | "
                  f"{ours[0] / theirs[0]:.2f}x | {ours[1]} MiB | {theirs[1]} MiB |", flush=True)


if __name__ == "__main__":
    main()
