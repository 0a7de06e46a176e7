"""Measured power: NVML through the real nvidia-ml-py, the energy meter and the J/hash correction.

Where NVML is absent (CI, a CPU machine) the absence tests run against the real
library, which really fails to load libnvidia-ml; where a GPU and driver are
present the GPU tests run instead. The meter and the correction are pure
arithmetic, tested on hand-written reading sequences (labelled synthetic: they
are not recordings of a GPU) and on a linear plant model of one.
"""

from __future__ import annotations

import importlib
import itertools
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kernels
from kernels import PowerUnavailableError
from kernels.power import EnergyMeter, EnergyWindow, GpuPower, JoulesPerHashCorrection, NvmlPower

try:
    pynvml: Any = importlib.import_module("pynvml")
except ImportError:
    pynvml = None


def _nvml_state() -> str:
    """``gpu`` where NVML opens and sees a GPU, else the class name of why not."""
    if pynvml is None:
        return "no-nvidia-ml-py"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return type(exc).__name__
    try:
        return "gpu" if pynvml.nvmlDeviceGetCount() > 0 else "no-gpu"
    finally:
        pynvml.nvmlShutdown()


NVML_STATE = _nvml_state()
no_nvml = pytest.mark.skipif(
    NVML_STATE in ("gpu", "no-nvidia-ml-py"),
    reason=f"needs nvidia-ml-py on a machine without an NVML GPU ({NVML_STATE})",
)
with_nvml = pytest.mark.skipif(NVML_STATE != "gpu", reason=f"no NVML GPU here ({NVML_STATE})")


class TestWithoutNvml:
    @no_nvml
    def test_missing_driver_is_a_clear_error(self) -> None:
        """Without the driver, opening says why (from the real NVML error) and names the model."""
        with pytest.raises(PowerUnavailableError) as caught:
            NvmlPower()
        message = str(caught.value)
        assert "power model" in message
        if NVML_STATE == "NVMLError_LibraryNotFound":
            assert "libnvidia-ml.so.1" in message
            assert isinstance(caught.value.__cause__, pynvml.NVMLError_LibraryNotFound)
        elif NVML_STATE == "NVMLError_DriverNotLoaded":
            assert "driver is not loaded" in message
        elif NVML_STATE == "no-gpu":
            assert "sees no GPU" in message

    @no_nvml
    def test_absence_is_a_kernel_error(self) -> None:
        """Callers catch one type, a KernelError, to fall back to the model."""
        with pytest.raises(kernels.KernelError):
            NvmlPower(["0000:3B:00.0"])

    def test_without_nvidia_ml_py_names_the_package(self) -> None:
        """With pynvml not importable, the error names the package to install."""
        code = (
            "import sys; sys.modules['pynvml'] = None\n"
            "from kernels.power import NvmlPower\n"
            "from kernels import PowerUnavailableError\n"
            "try:\n    NvmlPower()\nexcept PowerUnavailableError as exc:\n    print(exc)\n"
        )
        run = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert "nvidia-ml-py is not installed" in run.stdout
        assert "power model" in run.stdout

    def test_kernels_import_without_nvidia_ml_py(self) -> None:
        """The package (and its CPU backend) works where pynvml cannot be imported."""
        code = (
            "import sys; sys.modules['pynvml'] = None\n"
            "import kernels, kernels.power\n"
            "print(kernels.search(bytes(76), 1 << 252, 0, 256, backend='cpu').count)\n"
        )
        run = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert run.stdout.strip() == "256"


@pytest.mark.gpu
@with_nvml
class TestOnGpu:
    def test_readings_are_plausible_and_the_counter_runs(self) -> None:
        """Every GPU reads a positive power under 2 kW; its energy counter never runs back."""
        with NvmlPower() as power:
            first = power.read()
            time.sleep(0.5)
            second = power.read()
        assert len(first) == len(second) >= 1
        for before, after in zip(first, second, strict=True):
            assert 0 < after.power_w < 2000
            assert after.time_s > before.time_s
            if before.energy_j is not None and after.energy_j is not None:
                assert after.energy_j >= before.energy_j

    def test_cuda_devices_map_to_their_nvml_handles(self) -> None:
        """Opened by the CUDA backend's bus ids, NVML reads the same GPUs, in order."""
        if not kernels.cuda_available():
            pytest.skip("CuPy sees no GPU")
        from kernels.cuda import CudaBackend

        with CudaBackend() as gpus, NvmlPower(gpus.pci_bus_ids) as power:
            readings = power.read()
        assert len(readings) == len(gpus.pci_bus_ids)
        for reading, bus_id in zip(readings, gpus.pci_bus_ids, strict=True):
            assert reading.pci_bus_id.lower().endswith(bus_id.lower()[-7:])

    def test_meter_over_a_second_matches_the_power_reading(self) -> None:
        """An idle second metered by the counter is within a factor 2 of the power reading."""
        with NvmlPower() as power:
            meter = EnergyMeter(power.read)
            time.sleep(1.0)
            window = meter.take()
            now_w = sum(r.power_w for r in power.read())
        assert window.seconds == pytest.approx(1.0, abs=0.2)
        assert 0.5 * now_w <= window.mean_power_w <= 2 * now_w


def replay(readings: Sequence[Sequence[GpuPower]]) -> Callable[[], Sequence[GpuPower]]:
    """A reading callable that returns a fixed, hand-written sequence, one step per call."""
    steps: Iterator[Sequence[GpuPower]] = iter(readings)
    return lambda: next(steps)


def gpu(index: int, t_s: float, power_w: float, energy_mj: int | None) -> GpuPower:
    energy_j = None if energy_mj is None else energy_mj / 1000
    return GpuPower(index, "synthetic", f"0000:0{index}:00.0", power_w, energy_j, t_s)


class TestEnergyMeter:
    """Synthetic reading sequences (not recordings): the meter's arithmetic."""

    def test_counter_difference_in_joules(self) -> None:
        """Two counter readings 1 s apart: their difference in J, exact to the millijoule."""
        meter = EnergyMeter(
            replay([[gpu(0, 10.0, 90.0, 5_000_000)], [gpu(0, 11.0, 700.0, 5_654_321)]])
        )
        window = meter.take()
        assert window == EnergyWindow(1.0, pytest.approx(654.321, abs=1e-9), "energy_counter")
        assert window.mean_power_w == pytest.approx(654.321)

    def test_gpu_without_counter_integrates_power_samples(self) -> None:
        """No counter: 300 W sampled every 0.1 s for 1 s is 300 J, marked as from samples."""
        seq = [[gpu(0, 0.1 * i, 300.0, None)] for i in range(11)]
        meter = EnergyMeter(replay(seq))
        for _ in range(9):
            meter.sample()
        window = meter.take()
        assert window.source == "power_samples"
        assert window.energy_j == pytest.approx(300.0)
        assert window.seconds == pytest.approx(1.0)

    def test_counter_that_runs_back_falls_back_to_samples(self) -> None:
        """A counter reset (driver reload) is never a negative energy: the samples are used."""
        meter = EnergyMeter(replay([[gpu(0, 0.0, 100.0, 9_000)], [gpu(0, 2.0, 300.0, 1_000)]]))
        window = meter.take()
        assert window.source == "power_samples"
        assert window.energy_j == pytest.approx(400.0)

    def test_gpus_are_summed(self) -> None:
        """Two GPUs: the window holds both GPUs' energy."""
        meter = EnergyMeter(
            replay(
                [
                    [gpu(0, 0.0, 100.0, 0), gpu(1, 0.0, 100.0, 1_000_000)],
                    [gpu(0, 1.0, 100.0, 250_000), gpu(1, 1.0, 100.0, 1_500_000)],
                ]
            )
        )
        assert meter.take().energy_j == pytest.approx(750.0)

    def test_a_changed_set_of_gpus_is_refused(self) -> None:
        """Readings that suddenly cover other GPUs are an error, not a wrong sum."""
        meter = EnergyMeter(replay([[gpu(0, 0.0, 1.0, 0)], [gpu(1, 1.0, 1.0, 0)]]))
        with pytest.raises(PowerUnavailableError, match="GPUs read changed"):
            meter.take()

    @given(
        steps=st.lists(st.integers(0, 10_000_000), min_size=2, max_size=30),
        cuts=st.sets(st.integers(1, 28)),
    )
    def test_windows_add_up_to_the_whole(self, steps: list[int], cuts: set[int]) -> None:
        """However a run is cut into windows, their energies add up to the counter's total."""
        counter = list(itertools.accumulate(steps))
        seq = [[gpu(0, float(i), 500.0, mj)] for i, mj in enumerate(counter)]
        meter = EnergyMeter(replay(seq))
        total_j = 0.0
        for i in range(1, len(seq)):
            if i in cuts or i == len(seq) - 1:
                total_j += meter.take().energy_j
            else:
                meter.sample()
        assert total_j == pytest.approx((counter[-1] - counter[0]) / 1000, abs=1e-6)


def plant_energy_j(idle_w: float, active_j_per_hash: float, hashes: int, seconds: float) -> float:
    """A linear plant model of a GPU (idle draw plus energy per hash): not a GPU."""
    return idle_w * seconds + active_j_per_hash * hashes


class TestJoulesPerHashCorrection:
    MODEL = 1e-7  # J/hash: 700 W at 7 GH/s

    @given(
        estimate=st.floats(1e-12, 1e-3),
        energy_j=st.floats(0, 1e6),
        seconds=st.floats(0, 100),
        hashes=st.integers(-5, 1 << 40),
    )
    def test_estimate_stays_within_its_bounds(
        self, estimate: float, energy_j: float, seconds: float, hashes: int
    ) -> None:
        """Whatever a window says, the estimate stays within the bounds around the model."""
        fix = JoulesPerHashCorrection(self.MODEL)
        low, high = fix.bounds_j_per_hash
        got = fix.update(estimate, EnergyWindow(seconds, energy_j, "energy_counter"), hashes)
        assert low <= got <= high

    @pytest.mark.parametrize(
        ("seconds", "energy_j", "hashes"),
        [(0.2, 100.0, 10**9), (5.0, 100.0, 0), (5.0, 0.0, 10**9), (5.0, float("nan"), 10**9)],
    )
    def test_uninformative_windows_leave_it(
        self, seconds: float, energy_j: float, hashes: int
    ) -> None:
        """Too short, no hashes, no energy or not a number: the estimate stays."""
        fix = JoulesPerHashCorrection(self.MODEL)
        window = EnergyWindow(seconds, energy_j, "energy_counter")
        assert fix.update(1.3e-7, window, hashes) == 1.3e-7

    def test_moves_a_smoothing_step_towards_the_measurement(self) -> None:
        """One window measuring 2x the estimate moves it 30% of the way."""
        fix = JoulesPerHashCorrection(self.MODEL, smoothing=0.3)
        window = EnergyWindow(1.0, 200.0, "energy_counter")
        assert fix.update(1e-7, window, 10**9) == pytest.approx(1.3e-7)

    @pytest.mark.parametrize(("idle_w", "budget_w"), [(80.0, 350.0), (120.0, 200.0), (0.0, 700.0)])
    def test_closed_loop_holds_measured_power_at_the_budget(
        self, idle_w: float, budget_w: float
    ) -> None:
        """Scheduling budget / estimate hashes per window drives measured power to the budget."""
        fix = JoulesPerHashCorrection(self.MODEL)
        active = 0.9e-7  # J/hash above idle in the plant model
        estimate, window_s = fix.model_j_per_hash, 1.0
        power_w = 0.0
        for _ in range(40):
            hashes = int(budget_w * window_s / estimate)
            energy_j = plant_energy_j(idle_w, active, hashes, window_s)
            power_w = energy_j / window_s
            estimate = fix.update(
                estimate, EnergyWindow(window_s, energy_j, "energy_counter"), hashes
            )
        assert power_w == pytest.approx(budget_w, rel=0.01)
        assert estimate == pytest.approx(active / (1 - idle_w / budget_w), rel=0.01)

    def test_budget_below_idle_power_runs_at_the_bound(self) -> None:
        """A budget under idle draw cannot be held: the estimate rises to its upper bound."""
        fix = JoulesPerHashCorrection(self.MODEL)
        estimate = fix.model_j_per_hash
        for _ in range(60):
            hashes = int(50.0 / estimate)
            energy_j = plant_energy_j(80.0, 0.9e-7, hashes, 1.0)
            estimate = fix.update(estimate, EnergyWindow(1.0, energy_j, "energy_counter"), hashes)
        assert estimate == fix.bounds_j_per_hash[1]

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"model_j_per_hash": 0.0}, "model_j_per_hash"),
            ({"model_j_per_hash": 1e-7, "smoothing": 0.0}, "smoothing"),
            ({"model_j_per_hash": 1e-7, "min_ratio": 2.0}, "min_ratio"),
        ],
    )
    def test_bad_settings_name_the_field(self, kwargs: dict[str, float], field: str) -> None:
        """Settings out of range are refused, naming the setting."""
        with pytest.raises(ValueError, match=field):
            JoulesPerHashCorrection(**kwargs)
