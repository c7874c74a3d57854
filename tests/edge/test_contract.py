"""The OpenAPI document at /openapi.json against the running server, with Schemathesis: no 5xx, no
response that breaks the schema, no valid request refused (bounded: 50 examples per operation)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.synthetic_catalog import make_catalog, write_package
from tests.edge.live import start

SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(SCHEMATHESIS is None, reason="schemathesis not installed (pip install -e '.[test]')")
def test_schemathesis_finds_no_server_error_and_no_schema_violation(tmp_path: Path) -> None:
    assert SCHEMATHESIS is not None
    catalog = write_package(tmp_path / "pkg", make_catalog(titles=4, seed=51))
    server = start(tmp_path, "--catalog", str(catalog), "--workers", "1")
    try:
        result = subprocess.run(
            [SCHEMATHESIS, "run", server.base + "openapi.json", "--checks", "all", "--max-examples", "50",
             "--seed", "5", "--generation-database", "none", "--no-color", "--workers", "2"],
            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    finally:
        assert server.stop() == 0
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Tested: 7" in result.stdout, result.stdout[-3000:]
