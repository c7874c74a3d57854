"""`sizzle serve` refuses bad configuration with one line naming the culprit, never a traceback."""
from __future__ import annotations

import socket
import subprocess
import sys

import orjson
import pytest

from loadtest.synthetic_catalog import make_catalog, write_package


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert lines[-1].startswith("sizzle serve: error:"), result.stderr
    for fragment in fragments:
        assert fragment in lines[-1]


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    return write_package(tmp_path_factory.mktemp("pkg"), make_catalog(titles=3))


def test_missing_catalog(tmp_path):
    assert_one_line_error(run("serve", "--catalog", str(tmp_path / "nope.json")), "nope.json")


@pytest.mark.parametrize("body, culprit", [
    (b"{not json", "not JSON"),
    (b'{"schema": 99}', "schema"),
    (None, "clips[1].title"),
])
def test_broken_catalog(tmp_path, body, culprit):
    if body is None:
        broken = make_catalog(titles=2)
        broken["clips"][1]["title"] = "ghost"
        body = orjson.dumps(broken)
        write_package(tmp_path, make_catalog(titles=2))
    (tmp_path / "catalog.json").write_bytes(body)
    assert_one_line_error(run("serve", "--catalog", str(tmp_path / "catalog.json")), culprit)


def test_broken_profiles(tmp_path, package):
    profiles = tmp_path / "p.jsonl"
    profiles.write_text('{"user": "a", "titles": []}\n{"user": 5}\n')
    assert_one_line_error(run("serve", "--catalog", str(package), "--profiles", str(profiles)),
                          "p.jsonl:2")


def test_bad_signing_keys(package):
    import os

    env = {**os.environ, "SIZZLE_SIGNING_KEYS": "1:zz"}
    assert_one_line_error(run("serve", "--catalog", str(package), env=env), "SIZZLE_SIGNING_KEYS")
    env["SIZZLE_SIGNING_KEYS"] = "1:abcd"
    assert_one_line_error(run("serve", "--catalog", str(package), env=env), "16 bytes")


def test_port_in_use(package):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert_one_line_error(run("serve", "--catalog", str(package), "--port", str(port)),
                              "already in use")
