"""AAC-LC encoding for every audio-only CMAF rendition: the Mega Asset's audio and the music beds.

One encoder setting everywhere (native `aac`, 48 kHz stereo, AUDIO_BITRATE). Samples go in as a
continuous float32 stereo stream (`AudioChunker` cuts it into 1024-sample frames with running
pts); packets come out as `AacPacket`s whose `frame` is their index on the stream's AAC grid
(`grid.py`). The encoder's priming packet (pts < 0) is dropped, so the stream starts at 0 without
an edit list (players ignore them) and packet j decodes to samples [1024 j, 1024 j + 1024).

`init_segment()` is the CMAF header (`ftyp` + `moov`, one `soun` track, no edit list) written by
FFmpeg's mov muxer (`empty_moov`) from the opened encoder's real AudioSpecificConfig; fragments are
written by `fragment.py`.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from ingest.grid import AAC_FRAME, AUDIO_RATE

AUDIO_BITRATE = 128_000
AUDIO_CHANNELS = 2
CODECS = "mp4a.40.2"
_INIT_MOVFLAGS = "cmaf+empty_moov+default_base_moof+frag_custom"


@dataclass(frozen=True, slots=True)
class AacPacket:
    frame: int  # index on the stream's AAC grid: starts at sample 1024 * frame
    duration: int  # samples (1024, less for a stream's last frame)
    data: bytes


class AudioChunker:
    """Cuts a continuous float32 stereo sample stream into AAC-sized frames with running pts."""

    def __init__(self) -> None:
        self._pending = np.zeros((AUDIO_CHANNELS, 0), np.float32)
        self._pts = 0

    def push(self, samples: np.ndarray) -> list[av.AudioFrame]:
        self._pending = np.concatenate([self._pending, samples], axis=1)
        whole = self._pending.shape[1] // AAC_FRAME * AAC_FRAME
        frames = [self._frame(self._pending[:, i:i + AAC_FRAME]) for i in range(0, whole, AAC_FRAME)]
        self._pending = self._pending[:, whole:]
        return frames

    def flush(self) -> list[av.AudioFrame]:
        if not self._pending.shape[1]:
            return []
        frame = self._frame(self._pending)
        self._pending = self._pending[:, :0]
        return [frame]

    def _frame(self, samples: np.ndarray) -> av.AudioFrame:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp",
                                           layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._pts
        frame.time_base = Fraction(1, AUDIO_RATE)
        self._pts += samples.shape[1]
        return frame


class AacEncoder:
    """One AAC-LC stream: push samples, take packets; the header is `init_segment()`."""

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._container = av.open(self._buffer, "w", format="mp4",
                                  options={"movflags": _INIT_MOVFLAGS})
        stream = self._container.add_stream("aac", rate=AUDIO_RATE)
        stream.codec_context.layout = "stereo"
        stream.codec_context.bit_rate = AUDIO_BITRATE
        self._stream = stream
        self._container.start_encoding()  # opens the encoder and writes ftyp + moov
        self._init = self._buffer.getvalue()
        self._chunker = AudioChunker()

    def init_segment(self) -> bytes:
        return self._init

    def push(self, samples: np.ndarray) -> list[AacPacket]:
        """Encode float32 (2, n) samples that continue the stream; return the finished packets."""
        out: list[AacPacket] = []
        for frame in self._chunker.push(samples):
            out += self._encode(frame)
        return out

    def finish(self) -> list[AacPacket]:
        """Encode what is left (the last frame may be short) and flush the encoder."""
        out: list[AacPacket] = []
        for frame in self._chunker.flush():
            out += self._encode(frame)
        out += self._encode(None)
        self.close()
        return out

    def close(self) -> None:
        try:
            self._container.close()
        except av.error.FFmpegError:
            pass

    def _encode(self, frame: av.AudioFrame | None) -> list[AacPacket]:
        out = []
        for packet in self._stream.encode(frame):
            if packet.pts is None or packet.pts < 0:
                continue  # encoder priming: dropped so the stream starts at 0 with no edit list
            if packet.pts % AAC_FRAME:
                raise AssertionError(f"AAC packet off the frame grid: pts {packet.pts}")
            out.append(AacPacket(packet.pts // AAC_FRAME, int(packet.duration or AAC_FRAME),
                                 bytes(packet)))
        return out


def encode_all(samples: np.ndarray) -> tuple[bytes, list[AacPacket]]:
    """(init segment, every packet) of one whole stream of float32 (2, n) samples."""
    encoder = AacEncoder()
    try:
        packets = encoder.push(samples)
        packets += encoder.finish()
    finally:
        encoder.close()
    return encoder.init_segment(), packets
