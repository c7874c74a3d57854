"""Offline ingest: editorial spec -> conformed, keyframe-aligned CMAF ladder + catalog.json.

Entry points: `ingest.build.build_package` and the `sizzle ingest` CLI in `ingest.cli`.
"""
