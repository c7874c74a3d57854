"""Offline ingest: editorial spec -> conformed, keyframe-aligned CMAF ladder + catalog.json.

Who does what (data flows down the list):
  spec.py      load + validate the JSON spec (clip starts kept as written until the source is known)
  probe.py     PyAV facts about each source: size, SAR, rate, exact frame timing, audio
  plan.py      pure decisions: output rate, ladder, clip placement, segment table, audio ranges
  conform.py   one clip -> exactly N canvas frames (sample-and-hold, aspect-true fit) + its audio
  encode.py    one pass over all clips -> one fragmented MP4 per rendition (IDR at segment starts)
  boxes.py     pure ISO-BMFF reader (tfdt/trun/tfhd/avcC/esds), also for patching tfdt later
  package.py   fragmented MP4 -> init.mp4 + sNNNNN.m4s, verified against the plan; bandwidths
  catalog.py   catalog.json (docs/catalog.md, schema 1)
  build.py     orchestration and atomic output;  cli.py  `sizzle ingest SPEC --out DIR`
  synthetic.py / demo_spec.py   test media and the demo spec over ../shared/media
Bad input anywhere raises `ingest.errors.IngestError` with a one-line message naming the culprit.
"""
