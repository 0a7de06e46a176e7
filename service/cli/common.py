"""Helpers shared by the service's sub-commands: ``SPILLWAY_*`` defaults, TLS, tokens."""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

import grpc

from service.domain import TlsFiles
from service.errors import ConfigError

__all__ = [
    "CLIENT_ENV_EPILOG",
    "DEFAULT_PLAN_MODE",
    "ENV_EPILOG",
    "PLAN_MODES",
    "PLAN_MODE_HELP",
    "DeprecatedAlias",
    "Given",
    "GivenAlias",
    "add_client_flags",
    "client_channel",
    "env",
    "parse_duration_s",
    "positive_float",
    "positive_int",
    "read_token",
    "tls_files",
]

# One default for every command that plans (`plan --mode`, `serve --mode`): the mode
# that keeps Spillway's promise, mining only energy that would otherwise be lost.
PLAN_MODES = ("curtailment-only", "co-optimised")
DEFAULT_PLAN_MODE = "curtailment-only"
PLAN_MODE_HELP = (
    "curtailment-only: mining uses only energy the base dispatch curtails or spills"
    " (every other generator and store runs as without mining); co-optimised: mining is"
    " dispatched like any flexible load and may buy other generation where its value"
    " beats the price (default: %(default)s)"
)


class DeprecatedAlias(argparse.Action):
    """An old flag name that still works but says its new name on stderr."""

    def __init__(self, *args: object, new_name: str, **kwargs: object) -> None:
        self.new_name = new_name
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        print(
            f"spillway: warning: {option_string} is deprecated; use {self.new_name}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def _note_given(namespace: argparse.Namespace, option_string: str | None) -> None:
    namespace.given = (*getattr(namespace, "given", ()), option_string)


class Given(argparse._StoreAction):
    """Store the value and note the flag as given on the command line (``args.given``):
    a default, even one equal to the value, is not the user's word."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        super().__call__(parser, namespace, values, option_string)
        _note_given(namespace, option_string)


class GivenAlias(DeprecatedAlias):
    """A deprecated alias (``DeprecatedAlias``) noted as given too (``Given``)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        super().__call__(parser, namespace, values, option_string)
        _note_given(namespace, option_string)


def positive_float(field: str, flag: str, text: object, *, minimum: float = 0.0) -> float:
    """``text`` (a flag's string) as a finite number above zero (and ``>= minimum``).

    Raises
    ------
    ConfigError
        Naming ``field`` and ``flag``, for anything else.
    """
    try:
        value = float(str(text))
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0 and value >= minimum):
        bound = f"of at least {minimum:g}" if minimum > 0 else "above zero"
        raise ConfigError(f"{field}: {flag} must be a number {bound}, got {text!r}")
    return value


def positive_int(field: str, flag: str, text: object) -> int:
    """``text`` (a flag's string) as a whole number of at least one.

    Raises
    ------
    ConfigError
        Naming ``field`` and ``flag``, for anything else.
    """
    try:
        value = int(str(text).strip())
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{field}: {flag} must be a whole number of at least 1, got {text!r}")
    return value


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


# What `serve --help` and `worker --help` say of the environment (a test holds them to it).
ENV_EPILOG = (
    "Environment: each flag's default comes from SPILLWAY_<FLAG>, the flag's name in"
    " capitals with '-' as '_' (SPILLWAY_DATA_DIR for --data-dir); a flag given wins."
    " A flag whose variable is named otherwise, or that has none, says so."
)
CLIENT_ENV_EPILOG = (
    "Environment: SPILLWAY_COORDINATOR, SPILLWAY_TLS_CA, SPILLWAY_TLS_CERT, SPILLWAY_TLS_KEY"
    " and SPILLWAY_AUTH_TOKEN_FILE set the connection flags' defaults; a flag given wins."
)


def add_client_flags(parser: argparse.ArgumentParser) -> None:
    """``--coordinator``, TLS and token flags of every client command."""
    parser.epilog = CLIENT_ENV_EPILOG
    parser.add_argument(
        "--coordinator",
        default=env("COORDINATOR", "127.0.0.1:50051"),
        help="HOST:PORT of the coordinator's gRPC API",
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


def client_channel(address: str, tls: TlsFiles | None) -> Any:
    """A ``grpc.aio`` channel to ``address``: plaintext, or TLS (mTLS with a client key)."""
    if tls is None:
        return grpc.aio.insecure_channel(address)
    creds = grpc.ssl_channel_credentials(
        root_certificates=tls.ca.read_bytes() if tls.ca else None,
        private_key=tls.key.read_bytes() if tls.key else None,
        certificate_chain=tls.cert.read_bytes() if tls.cert else None,
    )
    return grpc.aio.secure_channel(address, creds)
