"""Offline ingest: editorial spec -> conformed, keyframe-aligned, demuxed CMAF ladder + catalog.json.

Who does what (data flows down the list):
  inputs.py    any editorial input -> Spec (JSON spec, timeline wrapper, EDL, .otio via timeline.py)
  spec.py      load + validate the JSON spec (clip starts kept as written until the source is known;
               music beds, audio language)
  spec_check.py  every clip checked by timecode against its source (also for `sizzle validate`)
  probe.py     PyAV facts about each source: size, SAR, rate, exact frame timing, audio; music files
  plan.py      pure decisions: output rate, ladder (ladder.py), clip placement, segments, audio, beds
  grid.py      the AAC frame grid: which 1024-sample frames each audio / bed segment holds
  loudness.py  per-clip EBU R128 levelling and edge fades
  conform.py   one clip -> exactly N canvas frames (sample-and-hold, aspect-true fit) + its audio
  encode.py    one pass over all clips -> one video-only fragmented MP4 per rendition (IDR at segment
               starts) + the audio encoded once; feeder.py runs decode/conform in a background thread
  aac.py       the one AAC-LC encoder setting: samples -> grid-indexed packets + CMAF header (FFmpeg)
  preencoded.py  a pre-encoded Mega Asset + clip list: stream copy (audio stays muxed) when keyframes allow
  boxes.py     pure ISO-BMFF reader (tfdt/trun/tfhd/avcC/esds), also for patching tfdt later
  fragment.py  pure ISO-BMFF writer: one track's samples -> moof + mdat (tfdt v1, base-is-moof)
  package.py   video fragmented MP4 -> init.mp4 + sNNNNN.m4s, verified against the plan
  audio_package.py  AAC packets -> audio/ init.mp4 + sNNNNN.m4s on the grid, each read back, verified
  music.py     music beds: conform, level, encode; music/{id}/ s{k} + fade-out f{k} (grid.py)
  catalog.py   catalog.json (docs/catalog.md, schema 2); bandwidths from real sizes
  hls_index.py  an existing HLS package (FFmpeg, Shaka Packager; fMP4 or TS) -> catalog.json only,
               its media untouched (mpegts.py: a small read-only MPEG-TS PES/SPS/ADTS reader)
  build.py     orchestration and atomic output;  cli.py  `sizzle ingest SPEC --out DIR`
  audit.py / validate.py   `sizzle validate SPEC|DIR`: a spec before encoding, a package after
  synthetic.py / demo_spec.py   test media and the demo spec over ../shared/media
Bad input anywhere raises `ingest.errors.IngestError` with a one-line message naming the culprit.
"""
