"""The lock files pin, by hash, a release inside pyproject.toml's range for every
dependency: a range changed without `make lock` fails here, not on a fresh machine."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCKS = ROOT / "requirements"
# One pinned requirement: `name==version ; marker \` then its `--hash=sha256:` lines.
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


def _pins(lock: str, python: str = "3.11") -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes) for one Python version's markers."""
    environment = default_environment() | {
        "python_version": python,
        "python_full_version": f"{python}.0",
    }
    pins: dict[str, tuple[Version, int]] = {}
    current: str | None = None
    for line in (LOCKS / lock).read_text().splitlines():
        if m := _PIN.match(line):
            name, version, marker = m.groups()
            applies = marker is None or Requirement(f"x; {marker}").marker.evaluate(environment)
            current = canonicalize_name(name) if applies else None
            if current:
                pins[current] = (Version(version), 0)
        elif current and "--hash=sha256:" in line:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def _requirements(*extras: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    found = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        found += [Requirement(r) for r in project["optional-dependencies"][extra]]
    # a self-reference (`spillway[cuda12]`) adds that extra's own requirements
    selves = [r for r in found if canonicalize_name(r.name) == "spillway"]
    for ref in selves:
        found.remove(ref)
        found += _requirements(*ref.extras)
    return found


@pytest.mark.parametrize(
    ("lock", "extras"),
    [
        ("runtime.txt", ()),
        ("dev.txt", ("dev",)),
        ("cuda12.txt", ("cuda12",)),
        ("cuda13.txt", ("cuda13",)),
    ],
)
@pytest.mark.parametrize("python", ["3.11", "3.12", "3.13"])
def test_every_dependency_pinned_in_range(lock: str, extras: tuple[str, ...], python: str):
    """Each dependency of pyproject.toml (and the extras) is pinned, hashed, in range."""
    pins = _pins(lock, python)
    for req in _requirements(*extras):
        name = canonicalize_name(req.name)
        assert name in pins, f"{lock}: {req.name} is not pinned; run `make lock`"
        version, hashes = pins[name]
        assert req.specifier.contains(version, prereleases=True), (
            f"{lock}: {req.name}=={version} is outside pyproject.toml's {req.specifier}; "
            "run `make lock`"
        )
        assert hashes >= 1, f"{lock}: {req.name} has no hash"


def test_build_backend_pinned_in_range():
    """The build backend (setuptools, wheel) is pinned too: installs build offline of
    whatever setuptools is newest."""
    pins = _pins("build.txt")
    for spec in PYPROJECT["build-system"]["requires"]:
        req = Requirement(spec)
        version, hashes = pins[canonicalize_name(req.name)]
        assert req.specifier.contains(version) and hashes >= 1


def test_runtime_and_cuda_agree_with_dev():
    """The images (runtime, CUDA) get the very releases `make test` tested."""
    dev = _pins("dev.txt")
    for lock in ("runtime.txt", "cuda12.txt", "cuda13.txt"):
        for name, (version, _) in _pins(lock).items():
            if name in dev:
                assert dev[name][0] == version, f"{lock}: {name} {version} vs dev.txt"
