"""manifests/ is the pure core: it must not import I/O frameworks or the other packages."""
from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = {"edge", "ingest", "aiohttp", "asyncio", "av", "uvloop", "socket", "os", "pathlib"}


def test_manifests_imports_nothing_impure():
    package = Path(__file__).resolve().parents[2] / "manifests"
    modules = list(package.glob("*.py"))
    assert len(modules) >= 5
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{module.name} imports {name}"
