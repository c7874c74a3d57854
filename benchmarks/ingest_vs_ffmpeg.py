"""Ingest vs the FFmpeg CLI on the same pre-encoded Mega Asset, same run (issue 3's measurements).

    .venv/bin/python benchmarks/ingest_vs_ffmpeg.py [--minutes 10] [--encode-minutes 2]

1. Generates a pre-encoded Mega Asset with the FFmpeg CLI (640x360 30 fps H.264, IDR every 40
   frames, no B-frames, AAC 48 kHz stereo) and a clip list of 120-frame clips tiling it.
2. Stream copy: `sizzle ingest` (probe + keyframe check + remux + split + catalog) vs
   `ffmpeg -c copy -f hls -hls_segment_type fmp4` on the same file.
3. Ladder encode (540p + 360p, x264 veryfast, same VBV, no B-frames, closed GOP, scenecut 0, same
   thread count) of the first `--encode-minutes`: `sizzle ingest` with a 2-rung ladder vs one
   `ffmpeg` process splitting the decoded picture into both encoders.
Wall time and peak RSS of each child process (getrusage in a fresh wrapper per run) at two asset
lengths, to show whether memory grows with length. Installs ffmpeg with apt-get when missing.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZZLE = [sys.executable, "-m", "edge.cli"]
_MEASURE = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE); "
            "w = time.perf_counter() - t; "
            "print(w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode); "
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
    out = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True,
                         cwd=REPO, check=True)
    wall, rss, code = out.stdout.split()
    if code != "0":
        raise SystemExit(f"failed ({code}): {' '.join(cmd)}\n{out.stderr}")
    return float(wall), int(rss) // 1024


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
    args = parser.parse_args()
    ffmpeg = ensure_ffmpeg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print("| what | length | sizzle | ffmpeg | ratio | sizzle peak RSS | ffmpeg peak RSS |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for minutes in (args.minutes / 4, args.minutes):
            seconds = int(minutes * 60)
            asset = work / f"mega-{seconds}.mp4"
            make_asset(ffmpeg, asset, seconds)
            spec = mega_spec(work / f"copy-{seconds}.json", asset, seconds, [{"height": 360}])
            ours = measure([*SIZZLE, "ingest", str(spec), "--out", str(work / f"pkg-{seconds}"),
                            "-q"])
            hls = work / f"hls-{seconds}"
            hls.mkdir()
            theirs = measure([ffmpeg, "-y", "-v", "error", "-i", str(asset), "-c", "copy", "-f", "hls",
                              "-hls_segment_type", "fmp4", "-hls_time", "1.333333",
                              "-hls_playlist_type", "vod", str(hls / "index.m3u8")])
            print(f"| stream copy | {minutes:g} min | {ours[0]:.2f} s | {theirs[0]:.2f} s | "
                  f"{ours[0] / theirs[0]:.2f}x | {ours[1]} MiB | {theirs[1]} MiB |", flush=True)
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
