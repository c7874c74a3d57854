"""Offline ingest: editorial spec -> conformed, keyframe-aligned CMAF ladder + catalog.json.

Who does what (data flows down the list):
  inputs.py    any editorial input -> Spec (JSON spec, timeline wrapper, EDL, .otio via timeline.py)
  spec.py      load + validate the JSON spec (clip starts kept as written until the source is known)
  spec_check.py  every clip checked by timecode against its source (also for `sizzle validate`)
  probe.py     PyAV facts about each source: size, SAR, rate, exact frame timing, audio
  plan.py      pure decisions: output rate, ladder (ladder.py), clip placement, segments, audio
  loudness.py  per-clip EBU R128 levelling and edge fades
  conform.py   one clip -> exactly N canvas frames (sample-and-hold, aspect-true fit) + its audio
  encode.py    one pass over all clips -> one fragmented MP4 per rendition (IDR at segment starts);
               feeder.py runs the decode/conform side in a background thread
  preencoded.py  a pre-encoded Mega Asset + clip list: stream copy when keyframes allow
  boxes.py     pure ISO-BMFF reader (tfdt/trun/tfhd/avcC/esds), also for patching tfdt later
  package.py   fragmented MP4 -> init.mp4 + sNNNNN.m4s, verified against the plan; bandwidths
  catalog.py   catalog.json (docs/catalog.md, schema 1)
  build.py     orchestration and atomic output;  cli.py  `sizzle ingest SPEC --out DIR`
  audit.py / validate.py   `sizzle validate SPEC|DIR`: a spec before encoding, a package after
  synthetic.py / demo_spec.py   test media and the demo spec over ../shared/media
Bad input anywhere raises `ingest.errors.IngestError` with a one-line message naming the culprit.
"""
