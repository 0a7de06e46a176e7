"""Measured GPU power and energy from NVML, and the duty controller's correction from them.

Three parts, each usable alone:

- ``NvmlPower`` opens NVML through ``nvidia-ml-py`` (``import pynvml``) and reads each
  GPU's power (``nvmlDeviceGetPowerUsage``, mW) and cumulative energy
  (``nvmlDeviceGetTotalEnergyConsumption``, mJ since the driver loaded) as ``GpuPower``
  in W and J. Where NVML cannot be used (no ``nvidia-ml-py``, no driver, no GPU, a GPU
  that does not report power) it raises ``PowerUnavailableError`` with the reason, and
  callers keep the power model.
- ``EnergyMeter`` turns successive readings (from any callable returning ``GpuPower``
  tuples, ``NvmlPower.read`` in production) into ``EnergyWindow``: joules used since the
  last window, from the energy counter where the GPU has one, else from power samples.
- ``JoulesPerHashCorrection`` is pure arithmetic: from a window's measured joules and
  the hashes done in it, the corrected joules-per-hash (smoothed, bounded) that the
  duty-cycle controller uses in place of the model's figure.

Nothing here changes a GPU's state: no clocks, power limits, persistence or compute mode.
``pynvml`` is imported only when ``NvmlPower`` is opened, so the package imports without it.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kernels.errors import PowerUnavailableError

__all__ = [
    "EnergyMeter",
    "EnergyWindow",
    "GpuPower",
    "JoulesPerHashCorrection",
    "NvmlPower",
]

MJ_PER_J = 1000.0  # NVML energy is in millijoules
MW_PER_W = 1000.0  # NVML power is in milliwatts
FALLBACK = "callers use the power model instead"


@dataclass(frozen=True, slots=True)
class GpuPower:
    """One GPU's power reading at one instant.

    ``energy_j`` is NVML's cumulative counter (J since the driver loaded), ``None``
    where the GPU has none; ``time_s`` is ``time.monotonic()`` when it was read.
    """

    index: int
    name: str
    pci_bus_id: str
    power_w: float
    energy_j: float | None
    time_s: float


def _pynvml() -> Any:
    try:
        return importlib.import_module("pynvml")
    except ImportError as exc:
        raise PowerUnavailableError(
            "nvidia-ml-py is not installed (it comes with the GPU extra, "
            f"pip install 'spillway[cuda13]'): no measured power; {FALLBACK}"
        ) from exc


def _nvml_reason(pynvml: Any, exc: BaseException, doing: str) -> str:
    """Words for an NVML error, naming what was being done."""
    reasons = {
        "NVMLError_LibraryNotFound": "NVML (libnvidia-ml.so.1) is not on this machine:"
        " no NVIDIA driver is installed",
        "NVMLError_DriverNotLoaded": "the NVIDIA driver is not loaded",
        "NVMLError_NotSupported": "this GPU does not support the call",
        "NVMLError_NoPermission": "NVML refused the call (no permission)",
        "NVMLError_GpuIsLost": "the GPU has fallen off the bus",
        "NVMLError_FunctionNotFound": "the installed driver is too old for the call",
        "NVMLError_NotFound": "NVML has no such GPU",
    }
    for class_name, reason in reasons.items():
        error_class = getattr(pynvml, class_name, None)
        if error_class is not None and isinstance(exc, error_class):
            return f"{doing}: {reason}; {FALLBACK}"
    return f"{doing}: NVML error {exc}; {FALLBACK}"


class NvmlPower:
    """Power and energy readings of the GPUs of this node, through NVML.

    Parameters
    ----------
    pci_bus_ids:
        The GPUs to read, by PCI bus id (``CudaBackend.pci_bus_ids``): NVML numbers
        GPUs its own way and ignores ``CUDA_VISIBLE_DEVICES``, so the bus id is what
        ties a CUDA device to its NVML handle. Default: every GPU NVML sees.
    clock:
        The time source of each reading (monotonic seconds).

    Raises
    ------
    PowerUnavailableError
        Without ``nvidia-ml-py``, NVML or a driver; where NVML sees no GPU or not one
        of ``pci_bus_ids``; or where a GPU does not report its power.
    """

    def __init__(
        self,
        pci_bus_ids: Sequence[str] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        pynvml = _pynvml()
        self._nvml = pynvml
        self._clock = clock
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            raise PowerUnavailableError(_nvml_reason(pynvml, exc, "opening NVML")) from exc
        self._open = True
        try:
            self._devices = self._find_devices(pci_bus_ids)
        except BaseException:
            self.close()
            raise

    def _call(self, doing: str, function: str, *args: Any) -> Any:
        """``pynvml.<function>(*args)``, its NVML error re-raised in words naming ``doing``."""
        pynvml = self._nvml
        try:
            return getattr(pynvml, function)(*args)
        except pynvml.NVMLError as exc:
            raise PowerUnavailableError(_nvml_reason(pynvml, exc, doing)) from exc

    def _find_devices(self, pci_bus_ids: Sequence[str] | None) -> list[tuple[Any, int, str, str]]:
        count = int(self._call("counting GPUs", "nvmlDeviceGetCount"))
        if count == 0:
            raise PowerUnavailableError(f"NVML sees no GPU; {FALLBACK}")
        if pci_bus_ids is None:
            handles = [
                self._call(f"opening GPU {i}", "nvmlDeviceGetHandleByIndex", i)
                for i in range(count)
            ]
        else:
            handles = [
                self._call(
                    f"opening the GPU at PCI bus id {bus_id!r}",
                    "nvmlDeviceGetHandleByPciBusId",
                    bus_id,
                )
                for bus_id in pci_bus_ids
            ]
        devices = []
        for handle in handles:
            index = int(self._call("identifying a GPU", "nvmlDeviceGetIndex", handle))
            name = str(self._call(f"naming GPU {index}", "nvmlDeviceGetName", handle))
            bus_id = self._call(f"locating GPU {index}", "nvmlDeviceGetPciInfo", handle).busId
            bus_id = bus_id.decode() if isinstance(bus_id, bytes) else str(bus_id)
            self._call(
                f"reading the power of GPU {index} ({name})", "nvmlDeviceGetPowerUsage", handle
            )
            devices.append((handle, index, name, bus_id))
        # Which GPUs have the energy counter (Volta and later do); the rest are
        # metered from power samples.
        self._has_counter = {}
        for handle, index, _, _ in devices:
            try:
                self._nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
                self._has_counter[index] = True
            except self._nvml.NVMLError:
                self._has_counter[index] = False
        return devices

    @property
    def gpu_count(self) -> int:
        """GPUs read."""
        return len(self._devices)

    def read(self) -> tuple[GpuPower, ...]:
        """One reading of every GPU, in the order they were opened.

        Raises
        ------
        PowerUnavailableError
            If a reading fails (the GPU was lost, the driver unloaded).
        """
        readings = []
        for handle, index, name, bus_id in self._devices:
            doing = f"reading GPU {index} ({name})"
            power_w = self._call(doing, "nvmlDeviceGetPowerUsage", handle) / MW_PER_W
            energy_j = (
                self._call(doing, "nvmlDeviceGetTotalEnergyConsumption", handle) / MJ_PER_J
                if self._has_counter[index]
                else None
            )
            readings.append(GpuPower(index, name, bus_id, power_w, energy_j, self._clock()))
        return tuple(readings)

    def close(self) -> None:
        """Shut NVML down (once)."""
        if getattr(self, "_open", False):
            self._open = False
            # Already gone with the driver: nothing left to release.
            with contextlib.suppress(self._nvml.NVMLError):
                self._nvml.nvmlShutdown()

    def __enter__(self) -> NvmlPower:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class EnergyWindow:
    """Energy the GPUs used over ``seconds``, as NVML measured it.

    ``source`` is ``energy_counter`` when every GPU's figure came from its cumulative
    counter, ``power_samples`` when any came from power readings integrated over time.
    """

    seconds: float
    energy_j: float
    source: str

    @property
    def mean_power_w(self) -> float:
        """Mean power over the window (0 for an empty window)."""
        return self.energy_j / self.seconds if self.seconds > 0 else 0.0


@dataclass
class EnergyMeter:
    """Joules used between calls of ``take``, from readings of ``read``.

    Parameters
    ----------
    read:
        Returns one reading per GPU, the same GPUs in the same order each time
        (``NvmlPower.read``).

    The counter's difference is exact to NVML's millijoule. A GPU without a counter,
    or whose counter went backwards (the driver was reloaded), is metered by the
    trapezoid rule over its power readings: call ``sample`` between takes (say every
    0.1 s) to make that finer.
    """

    read: Callable[[], Sequence[GpuPower]]
    _last: tuple[GpuPower, ...] = field(init=False)
    _window_start_s: float = field(init=False)
    _counter_start_j: dict[int, float] = field(init=False)
    _integrated_j: dict[int, float] = field(init=False)

    def __post_init__(self) -> None:
        self._last = tuple(self.read())
        self._start_window()

    def _start_window(self) -> None:
        self._window_start_s = min((r.time_s for r in self._last), default=0.0)
        self._counter_start_j = {r.index: r.energy_j for r in self._last if r.energy_j is not None}
        self._integrated_j = {r.index: 0.0 for r in self._last}

    def sample(self) -> tuple[GpuPower, ...]:
        """Read now; power samples accumulate for GPUs metered by them."""
        readings = tuple(self.read())
        indices = [r.index for r in readings]
        if indices != [r.index for r in self._last]:
            raise PowerUnavailableError(
                f"the GPUs read changed from {[r.index for r in self._last]} to {indices}"
            )
        for before, now in zip(self._last, readings, strict=True):
            dt_s = now.time_s - before.time_s
            if dt_s > 0:
                self._integrated_j[now.index] += 0.5 * (before.power_w + now.power_w) * dt_s
        self._last = readings
        return readings

    def take(self) -> EnergyWindow:
        """The energy since the last ``take`` (or since the meter was made); starts the next."""
        readings = self.sample()
        energy_j = 0.0
        source = "energy_counter"
        for reading in readings:
            start_j = self._counter_start_j.get(reading.index)
            if reading.energy_j is not None and start_j is not None and reading.energy_j >= start_j:
                energy_j += reading.energy_j - start_j
            else:
                energy_j += self._integrated_j[reading.index]
                source = "power_samples"
        end_s = max((r.time_s for r in readings), default=self._window_start_s)
        window = EnergyWindow(max(0.0, end_s - self._window_start_s), energy_j, source)
        self._start_window()
        return window


@dataclass(frozen=True, slots=True)
class JoulesPerHashCorrection:
    """The duty controller's joules-per-hash, corrected by measured energy.

    The controller schedules ``budget_w * T / j_per_hash`` hashes per window ``T``.
    With the window's measured joules ``E`` and hashes ``n``, ``update`` moves the
    estimate a step ``smoothing`` of the way to ``E / n`` and keeps it within
    ``[min_ratio, max_ratio]`` times the model's figure.

    ``E`` includes the GPU's idle draw during the pauses, charged to the hashes. That
    is what makes the measured power hold the budget: with idle power ``P0`` and
    ``a`` joules per hash above idle, the estimate settles at ``a / (1 - P0 / B)`` for
    a budget ``B > P0``, where scheduled hashes times the estimate equal ``B * T`` and
    so does ``E``; each window shrinks the error by the factor
    ``1 - smoothing * (1 - P0 / B)``. A budget below idle power cannot be held: the
    estimate rises to the upper bound and the controller runs as little as it can.

    Parameters
    ----------
    model_j_per_hash:
        The power model's figure (J per hash): the starting point and the bounds' anchor.
    smoothing:
        Weight of the newest window, in ``(0, 1]``.
    min_ratio, max_ratio:
        Bounds of the estimate relative to the model, so one bad window (a counter
        glitch, another process on the GPU) cannot stall or unleash the controller.
    min_window_s:
        Shorter windows are ignored: NVML refreshes its readings about every 0.1 s
        (power is a 1 s average on recent GPUs), so a shorter window is mostly noise.
    """

    model_j_per_hash: float
    smoothing: float = 0.3
    min_ratio: float = 0.25
    max_ratio: float = 4.0
    min_window_s: float = 0.5

    def __post_init__(self) -> None:
        if not (math.isfinite(self.model_j_per_hash) and self.model_j_per_hash > 0):
            raise ValueError(
                f"model_j_per_hash: must be a positive number, got {self.model_j_per_hash}"
            )
        if not 0 < self.smoothing <= 1:
            raise ValueError(f"smoothing: must be in (0, 1], got {self.smoothing}")
        if not 0 < self.min_ratio <= 1 <= self.max_ratio:
            raise ValueError(
                "min_ratio, max_ratio: need 0 < min_ratio <= 1 <= max_ratio,"
                f" got {self.min_ratio}, {self.max_ratio}"
            )

    @property
    def bounds_j_per_hash(self) -> tuple[float, float]:
        """The lowest and highest estimate ``update`` returns."""
        return (
            self.model_j_per_hash * self.min_ratio,
            self.model_j_per_hash * self.max_ratio,
        )

    def update(self, estimate_j_per_hash: float, window: EnergyWindow, hashes: int) -> float:
        """The next estimate after a window of ``hashes`` that used ``window.energy_j``.

        A window that says nothing about energy per hash (too short, no hashes, no
        energy, a non-finite figure) leaves the estimate as it is (within the bounds).
        """
        low, high = self.bounds_j_per_hash
        estimate = min(high, max(low, estimate_j_per_hash))
        if (
            window.seconds < self.min_window_s
            or hashes <= 0
            or not math.isfinite(window.energy_j)
            or window.energy_j <= 0
        ):
            return estimate
        measured = window.energy_j / hashes
        return min(high, max(low, estimate + self.smoothing * (measured - estimate)))
