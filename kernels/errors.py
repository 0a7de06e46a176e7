"""Errors raised by the proof-of-work kernels.

::

    KernelError
    ├── KernelInputError        bad header, target, nonce range or thread count
    ├── KernelBuildError        the compiled CPU build or the CUDA module is missing or fails
    ├── DeviceUnavailableError  no usable GPU (CuPy absent, no device, driver error)
    └── PowerUnavailableError   no measured power (nvidia-ml-py, NVML, driver or GPU
                                support missing): callers use the power model

Foreign errors (CuPy, CUDA, the C extension's ``ValueError``) are translated
once, where they arise, into one of these.
"""

from __future__ import annotations

__all__ = [
    "DeviceUnavailableError",
    "KernelBuildError",
    "KernelError",
    "KernelInputError",
    "PowerUnavailableError",
]


class KernelError(Exception):
    """Base of every error the kernels package raises."""


class KernelInputError(KernelError, ValueError):
    """An argument is out of its domain; ``field`` names it.

    Parameters
    ----------
    field:
        The argument at fault, as the caller spells it (``header``, ``target``...).
    problem:
        What is wrong with it, in words a user can act on.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class KernelBuildError(KernelError):
    """A kernel build is missing or failed to compile or load."""


class DeviceUnavailableError(KernelError):
    """The requested device cannot be used."""


class PowerUnavailableError(KernelError):
    """Measured power cannot be read here; the message says why (callers use the model)."""
