"""Where a worker's energy comes from: NVML's measurement of its GPUs, or the power model.

``open_nvml`` decides, from ``--power-source`` and the backend: ``model`` never
touches NVML; ``auto`` opens NVML for the CUDA backend and, where it cannot
(no ``nvidia-ml-py``, no driver, no GPU), logs one line saying why and keeps the
model; ``nvml`` insists and fails with that reason. The CPU backend's energy is
always modelled: NVML measures GPUs, not CPUs.

``MeasuredEnergy`` is what the worker holds while measuring: each telemetry
window it takes the meter's joules (the report's energy, marked ``measured``)
and the worker corrects the duty-cycle controller's joules-per-hash from them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from kernels import PowerUnavailableError
from kernels.power import EnergyMeter, JoulesPerHashCorrection, NvmlPower

if TYPE_CHECKING:
    from kernels.power import EnergyWindow, GpuPower
    from service.worker.duty import DutyCycle

__all__ = [
    "MEASURED",
    "MODELLED",
    "POWER_SOURCES",
    "MeasuredEnergy",
    "open_nvml",
]

logger = logging.getLogger(__name__)

POWER_SOURCES = ("auto", "nvml", "model")
# The ledger's words for how a report's energy was found.
MEASURED = "measured"
MODELLED = "modelled"
# The correction may take the joules-per-hash this far below the configured model:
# the default model is a CPU's figure (1.5 uJ/H), some 15x a current GPU's (an H200
# near 0.1 uJ/H), and the worker should reach the GPU's figure without being told it.
# Above, the kernels' default (4x) holds: a GPU costing more than that is a fault.
MIN_MODEL_RATIO = 1 / 64


def open_nvml(
    power_source: str, backend_name: str, pci_bus_ids: Sequence[str] | None
) -> NvmlPower | None:
    """NVML for the backend's GPUs, or ``None`` where the energy is to be modelled.

    Parameters
    ----------
    power_source:
        ``auto``, ``nvml`` or ``model`` (``POWER_SOURCES``).
    backend_name:
        The hashing backend's name (``cuda``, ``cpu``).
    pci_bus_ids:
        The backend's GPUs (``CudaBackend.pci_bus_ids``), ``None`` for every GPU NVML sees.

    Raises
    ------
    PowerUnavailableError
        With ``power_source="nvml"``: on a backend that is not a GPU, or where NVML
        cannot be opened (the reason from NVML).
    ValueError
        For a ``power_source`` not in ``POWER_SOURCES``.
    """
    if power_source not in POWER_SOURCES:
        raise ValueError(
            f"power_source: must be one of {', '.join(POWER_SOURCES)}, got {power_source!r}"
        )
    if power_source == "model":
        return None
    if backend_name != "cuda":
        if power_source == "nvml":
            raise PowerUnavailableError(
                f"power_source nvml: NVML measures GPUs, and the {backend_name} backend"
                " hashes on the CPU (its energy is modelled: use --power-source auto or model)"
            )
        return None
    try:
        power = NvmlPower(pci_bus_ids)
    except PowerUnavailableError as exc:
        if power_source == "nvml":
            raise
        logger.warning("no measured power, energy is modelled: %s", exc)
        return None
    logger.info("energy measured by NVML on %d GPU(s)", power.gpu_count)
    return power


class MeasuredEnergy:
    """The worker's measured energy per telemetry window, and the duty correction from it.

    Parameters
    ----------
    read:
        One reading of every GPU (``NvmlPower.read``).
    model_j_per_hash:
        The power model's figure: where the correction starts and what bounds it.
    close:
        Called by ``close`` (``NvmlPower.close``).
    """

    def __init__(
        self,
        read: Callable[[], Sequence[GpuPower]],
        model_j_per_hash: float,
        close: Callable[[], None] | None = None,
    ) -> None:
        self.meter = EnergyMeter(read)
        self.correction = JoulesPerHashCorrection(model_j_per_hash, min_ratio=MIN_MODEL_RATIO)
        self._close = close
        # The worker's running count of hashes at the start of the window.
        self.hashes_at = 0

    @classmethod
    def from_nvml(cls, power: NvmlPower, model_j_per_hash: float) -> MeasuredEnergy:
        """Measuring ``power``'s GPUs (closed with this)."""
        return cls(power.read, model_j_per_hash, power.close)

    def start(self, hashes_total: int) -> None:
        """Begin a window now, at the worker's running count of hashes."""
        self.meter.take()
        self.hashes_at = hashes_total

    def take(self, hashes_total: int) -> tuple[EnergyWindow, int]:
        """The energy since the last take and the hashes done in it.

        ``hashes_total`` is the worker's running count, read just before: the
        window's hashes are its rise since the last take. (A batch still running
        has its energy in this window and its hashes in the next: at most one
        batch, <= 50 ms, of a window of seconds, and the correction smooths it.)
        Only NVML is touched, so this may run on a thread.

        Raises
        ------
        PowerUnavailableError
            If NVML fails (the GPU was lost): the caller falls back to the model.
        """
        window = self.meter.take()
        hashes = hashes_total - self.hashes_at
        self.hashes_at = hashes_total
        return window, hashes

    def correct(self, duty: DutyCycle, window: EnergyWindow, hashes: int) -> float:
        """Correct ``duty``'s joules-per-hash from a window; returns the figure now used."""
        duty.correct(self.correction.update(duty.joules_per_hash, window, hashes))
        return duty.joules_per_hash

    def close(self) -> None:
        """Release NVML."""
        if self._close is not None:
            self._close()
