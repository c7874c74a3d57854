"""The container and Kubernetes example say what the server does: probes on real routes, non-root,
workers left to the CPU count, signing keys from a Secret. (Docker itself is not run here.)"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge.settings import cpu_count
from tests.conftest import REPO


def test_dockerfile_is_multi_stage_non_root_with_healthcheck() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2 and " AS build" in text
    assert "USER 10001" in text and "HEALTHCHECK" in text and "/readyz" in text
    assert "--workers" not in text.split("ENTRYPOINT", 1)[1]  # workers = CPUs by default
    assert 'ENTRYPOINT ["sizzle"]' in text


def test_kubernetes_example_probes_real_routes_and_reads_keys_from_a_secret() -> None:
    yaml = pytest.importorskip("yaml")
    docs = [d for d in yaml.safe_load_all((REPO / "deploy" / "kubernetes.yaml").read_text()) if d]
    kinds = {d["kind"]: d for d in docs}
    assert {"Deployment", "HorizontalPodAutoscaler", "Secret", "Service"} <= set(kinds)
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"secretRef": {"name": "sizzle-signing-keys"}} in container["envFrom"]
    assert any(m["mountPath"] == "/data" and m["readOnly"] for m in container["volumeMounts"])
    hpa = kinds["HorizontalPodAutoscaler"]["spec"]["metrics"][0]["resource"]
    assert hpa["name"] == "cpu"
    grace = kinds["Deployment"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > 30  # above gunicorn's graceful timeout


def test_cpu_count_follows_the_affinity_mask() -> None:
    quota = Path("/sys/fs/cgroup/cpu.max")
    limited = quota.is_file() and not quota.read_text().startswith("max")
    if not limited:
        assert cpu_count() == len(os.sched_getaffinity(0))
    assert 1 <= cpu_count() <= len(os.sched_getaffinity(0))
