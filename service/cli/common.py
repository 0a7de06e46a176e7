"""Helpers shared by the service's sub-commands: ``SPILLWAY_*`` defaults, TLS, tokens."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from service.domain import TlsFiles
from service.errors import ConfigError

__all__ = ["add_client_flags", "env", "parse_duration_s", "read_token", "tls_files"]


def env(name: str, default: str | None = None) -> str | None:
    """``SPILLWAY_<NAME>`` from the environment, else ``default`` (flags override both)."""
    return os.environ.get(f"SPILLWAY_{name}", default)


def read_token(path: str | None) -> str | None:
    """The bearer token in ``path`` (first line), or ``None`` without a path.

    Raises
    ------
    ConfigError
        If the file cannot be read or is empty.
    """
    if not path:
        return None
    try:
        token = Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigError(f"auth_token_file: cannot read {path}: {exc.strerror}") from exc
    if not token:
        raise ConfigError(f"auth_token_file: {path} is empty")
    return token


def tls_files(cert: str | None, key: str | None, ca: str | None) -> TlsFiles | None:
    """TLS files from flags; ``None`` when none is given."""
    if not (cert or key or ca):
        return None
    return TlsFiles(
        Path(cert) if cert else None, Path(key) if key else None, Path(ca) if ca else None
    )


def add_client_flags(parser: argparse.ArgumentParser) -> None:
    """``--coordinator``, TLS and token flags of every client command."""
    parser.add_argument(
        "--coordinator", default=env("COORDINATOR", "127.0.0.1:50051"), help="HOST:PORT"
    )
    parser.add_argument("--tls-ca", default=env("TLS_CA"), help="CA bundle to verify the server")
    parser.add_argument("--tls-cert", default=env("TLS_CERT"), help="client certificate (mTLS)")
    parser.add_argument("--tls-key", default=env("TLS_KEY"), help="client key (mTLS)")
    parser.add_argument(
        "--auth-token-file", default=env("AUTH_TOKEN_FILE"), help="file holding the bearer token"
    )


# google.protobuf.Duration's range: about 10,000 years.
MAX_DURATION_S = 315_576_000_000.0
_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration_s(field: str, text: str) -> float:
    """``90``, ``90s``, ``15m``, ``2h``, ``1d`` -> seconds.

    Raises
    ------
    ConfigError
        Naming ``field`` for anything else.
    """
    match = _DURATION_RE.match(text.strip())
    if not match:
        raise ConfigError(f"{field}: expected a duration like 90s, 15m, 2h; got {text!r}")
    seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    if seconds > MAX_DURATION_S:  # past what a protobuf Duration holds
        raise ConfigError(
            f"{field}: {text.strip()[:32]!r} is too long; at most {MAX_DURATION_S:.0f} s"
        )
    return seconds
