"""One version: pyproject.toml's, read by the CLI and the workers, repeated nowhere else
without a test that it agrees."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import service

ROOT = Path(__file__).resolve().parents[1]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
DOCKERFILES = sorted((ROOT / "deploy" / "docker").glob("*.Dockerfile"))
MANIFESTS = sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))


def _version_labels(node: object) -> list[str]:
    """Every `app.kubernetes.io/version` label anywhere in a parsed manifest."""
    if isinstance(node, dict):
        found = [str(v) for k, v in node.items() if k == "app.kubernetes.io/version"]
        for value in node.values():
            found += _version_labels(value)
        return found
    if isinstance(node, list):
        return [label for item in node for label in _version_labels(item)]
    return []


def test_installed_version_is_pyprojects():
    """The installed package reports pyproject.toml's version."""
    assert service.__version__ == VERSION


def test_cli_version():
    """`spillway --version` prints it."""
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert proc.stdout.strip() == f"spillway {VERSION}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_labels_and_pins_the_version(dockerfile: Path):
    """Each image is labelled with the version; a pinned install names the same one."""
    text = dockerfile.read_text()
    assert f'org.opencontainers.image.version="{VERSION}"' in text
    assert set(re.findall(r"spillway==([\w.+-]+)", text)) <= {VERSION}


def test_kubernetes_labels_name_the_version():
    """Every `app.kubernetes.io/version` label in deploy/k8s is the package's version."""
    labels = [
        label
        for path in MANIFESTS
        for doc in yaml.safe_load_all(path.read_text())
        for label in _version_labels(doc)
    ]
    assert labels, "no version label found: the manifests lost their standard labels"
    assert set(labels) == {VERSION}
