"""The worker's energy source: NVML opened for real (absent here), else the model; the
duty cycle corrected by measured joules.

NVML: the real opening code against the real ``nvidia-ml-py``, which on a machine
without an NVIDIA driver really fails to load ``libnvidia-ml``; on a GPU machine
those tests skip (``bench/device_check.sh`` covers that side).

Correction: no GPU is here, so the meter reads a SYNTHETIC PLANT, a linear model of
a GPU (idle power plus joules per hash, energy counter integrated from it) with
H200-like figures, run on a simulated clock. It is labelled as such in every
reading's name; it tests the controller's arithmetic, not any GPU.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

import kernels
from kernels import PowerUnavailableError
from kernels.power import GpuPower, NvmlPower
from service.worker.core import Worker
from service.worker.duty import DutyCycle
from service.worker.power import MeasuredEnergy, open_nvml
from service.worker.settings import WorkerSettings
from spillway.v1 import miner_pb2


def _nvml_sees_a_gpu() -> bool:
    """Whether the real NVML opens here (a GPU machine: the absence tests skip)."""
    try:
        NvmlPower().close()
    except PowerUnavailableError:
        return False
    return True


NVML_GPU = _nvml_sees_a_gpu()
no_nvml_gpu = pytest.mark.skipif(NVML_GPU, reason="NVML sees a GPU here")
with_nvml_gpu = pytest.mark.skipif(not NVML_GPU, reason="needs NVML and a GPU (a device session)")


class TestOpeningNvml:
    @no_nvml_gpu
    def test_auto_on_cuda_falls_back_to_the_model_with_one_clear_line(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """No driver here: the CUDA path says once, with NVML's reason, that energy is modelled."""
        with caplog.at_level(logging.INFO, logger="service.worker.power"):
            assert open_nvml("auto", "cuda", None) is None
        (line,) = [r for r in caplog.records if r.name == "service.worker.power"]
        assert line.levelno == logging.WARNING
        message = line.getMessage()
        assert message.startswith("no measured power, energy is modelled: ")
        # The reason is NVML's (or the library's absence), in words, not a traceback.
        assert "NVML" in message or "nvidia-ml-py" in message
        assert "Traceback" not in message

    @no_nvml_gpu
    def test_nvml_on_cuda_fails_with_the_reason(self) -> None:
        with pytest.raises(PowerUnavailableError, match=r"NVML|nvidia-ml-py"):
            open_nvml("nvml", "cuda", ("00000000:01:00.0",))

    def test_the_cpu_backend_is_modelled_without_a_word(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.INFO, logger="service.worker.power"):
            assert open_nvml("auto", "cpu", None) is None
            assert open_nvml("model", "cuda", None) is None
        assert not [r for r in caplog.records if r.name == "service.worker.power"]

    def test_nvml_on_the_cpu_backend_is_refused(self) -> None:
        with pytest.raises(PowerUnavailableError, match=r"NVML measures GPUs.*cpu backend"):
            open_nvml("nvml", "cpu", None)

    def test_an_unknown_source_is_refused_by_name(self) -> None:
        with pytest.raises(ValueError, match="power_source: must be one of auto, nvml, model"):
            open_nvml("guess", "cuda", None)

    def test_the_command_refuses_nvml_on_the_cpu(self, tmp_path: Path) -> None:
        """``spillway worker --power-source nvml`` on the CPU stops with the reason, exit 2."""
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "service.cli",
                "worker",
                "--coordinator",
                "127.0.0.1:1",
                "--site",
                "north",
                "--backend",
                "cpu",
                "--threads",
                "1",
                "--metrics-listen",
                "off",
                "--data-dir",
                str(tmp_path),
                "--power-source",
                "nvml",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done
        assert "spillway: error: power_source nvml: NVML measures GPUs" in done.stderr


class TestOnAGpu:
    @with_nvml_gpu
    def test_the_cuda_backends_gpus_are_measured_while_hashing(self) -> None:
        """On a GPU machine: the worker's opening code finds the CUDA backend's GPUs in
        NVML, and a second of hashing shows as measured joules and a corrected J/H."""
        backend = kernels.get_backend("cuda")
        try:
            bus_ids = backend.pci_bus_ids  # type: ignore[attr-defined]
            power = open_nvml("auto", "cuda", bus_ids)
            assert power is not None and power.gpu_count == len(bus_ids)
            energy = MeasuredEnergy.from_nvml(power, CPU_MODEL_J_PER_HASH)
            try:
                energy.start(0)
                rate = kernels.measure_hashrate(backend, seconds=2.0)
                window, hashes = energy.take(rate.hashes)
                assert window.seconds >= 2.0 and window.energy_j > 0 and hashes == rate.hashes
                duty = DutyCycle(CPU_MODEL_J_PER_HASH, hashrate_hs=rate.hashes_per_second)
                assert energy.correct(duty, window, hashes) < CPU_MODEL_J_PER_HASH
            finally:
                energy.close()
        finally:
            backend.close()


class SyntheticPlant:
    """NOT A GPU: a linear model of one (``idle_w`` plus ``j_per_hash`` per hash at up to
    ``rate_hs``), on a simulated clock, read through an energy counter like NVML's."""

    def __init__(self, idle_w: float, j_per_hash: float, rate_hs: float) -> None:
        self.idle_w, self.j_per_hash, self.rate_hs = idle_w, j_per_hash, rate_hs
        self.now_s = 0.0
        self.energy_j = 0.0
        self.fail = False

    def idle(self, seconds: float) -> None:
        self.now_s += seconds
        self.energy_j += self.idle_w * seconds

    def hash(self, nonces: int) -> float:
        busy_s = nonces / self.rate_hs
        self.now_s += busy_s
        self.energy_j += self.idle_w * busy_s + self.j_per_hash * nonces
        return busy_s

    def read(self) -> tuple[GpuPower, ...]:
        if self.fail:
            raise PowerUnavailableError("reading GPU 0 (synthetic plant): the GPU was unplugged")
        power_w = self.idle_w  # the counter carries the energy; power is only for display
        return (GpuPower(0, "synthetic plant, not a GPU", "", power_w, self.energy_j, self.now_s),)


def run_duty(
    plant: SyntheticPlant,
    duty: DutyCycle,
    energy: MeasuredEnergy,
    budget_w: float,
    windows: int,
    window_s: float = 5.0,
    on_window: Callable[[float], None] | None = None,
) -> list[float]:
    """The worker's hashing loop (``Worker._hash``'s use of the duty cycle) on the plant's
    clock, taking a window every ``window_s``; returns each window's mean measured power."""
    powers = []
    hashes_total = 0
    energy.start(hashes_total)
    for _ in range(windows):
        end_s = plant.now_s + window_s
        while plant.now_s < end_s:
            duty.set_budget(budget_w, plant.now_s)
            nonces = duty.batch_nonces()
            wait_s = duty.wait_s(nonces, plant.now_s)
            if wait_s > 0:
                # A real sleep lasts at least ~0.1 ms, however short the wait asked.
                plant.idle(max(1e-4, min(wait_s, 0.05, end_s - plant.now_s)))
                continue
            duty.begin(nonces, plant.now_s)
            duty.record(nonces, plant.hash(nonces))
            hashes_total += nonces
        window, hashes = energy.take(hashes_total)
        energy.correct(duty, window, hashes)
        powers.append(window.mean_power_w)
        if on_window is not None:
            on_window(window.mean_power_w)
    return powers


# H200-like figures: ~75 W idle, ~700 W at 7 GH/s.
IDLE_W = 75.0
RATE_HS = 7e9
J_PER_HASH = (700.0 - IDLE_W) / RATE_HS
CPU_MODEL_J_PER_HASH = WorkerSettings.__dataclass_fields__["joules_per_hash"].default


class TestDutyCorrection:
    def test_measured_joules_bring_the_power_to_the_budget(self) -> None:
        """From the CPU's default model (~17x the plant's J/H) a 50% budget is held within
        5% by the meter after a settling time, where the model alone is far below it."""
        plant = SyntheticPlant(IDLE_W, J_PER_HASH, RATE_HS)
        duty = DutyCycle(CPU_MODEL_J_PER_HASH, hashrate_hs=RATE_HS)
        energy = MeasuredEnergy(plant.read, CPU_MODEL_J_PER_HASH)
        budget_w = 350.0
        powers = run_duty(plant, duty, energy, budget_w, windows=40)
        assert powers[0] < 0.5 * budget_w  # the model over-charges each hash
        for power_w in powers[-8:]:
            assert abs(power_w - budget_w) <= 0.05 * budget_w, powers
        # Settled where the analysis in JoulesPerHashCorrection says: a / (1 - P0 / B).
        settled = J_PER_HASH / (1 - IDLE_W / budget_w)
        assert duty.joules_per_hash == pytest.approx(settled, rel=0.05)

    def test_without_measurement_the_model_error_stays(self) -> None:
        """The same loop with the correction never applied stays where the model puts it:
        what makes the test above fail if the worker stopped correcting."""
        plant = SyntheticPlant(IDLE_W, J_PER_HASH, RATE_HS)
        duty = DutyCycle(CPU_MODEL_J_PER_HASH, hashrate_hs=RATE_HS)
        energy = MeasuredEnergy(plant.read, CPU_MODEL_J_PER_HASH)
        energy.correct = lambda duty, window, hashes: duty.joules_per_hash  # type: ignore[method-assign]
        powers = run_duty(plant, duty, energy, 350.0, windows=10)
        assert max(powers) < 0.5 * 350.0

    def test_a_budget_below_idle_runs_as_little_as_it_can(self) -> None:
        plant = SyntheticPlant(IDLE_W, J_PER_HASH, RATE_HS)
        duty = DutyCycle(J_PER_HASH, hashrate_hs=RATE_HS)
        energy = MeasuredEnergy(plant.read, J_PER_HASH)
        run_duty(plant, duty, energy, 50.0, windows=30)
        assert duty.joules_per_hash == pytest.approx(energy.correction.bounds_j_per_hash[1])


class TestWorkerWindows:
    async def test_measured_window_then_lost_meter(self, tmp_path: Path) -> None:
        """A window's measured joules are reported marked measured and correct the duty
        cycle; when the meter fails the worker models the rest, marked modelled."""
        backend = kernels.CpuBackend(threads=1)
        worker = Worker(
            WorkerSettings(
                coordinator="127.0.0.1:1",
                site="north",
                worker_name="n1",
                data_dir=tmp_path,
                joules_per_hash=CPU_MODEL_J_PER_HASH,
            ),
            backend,
            CollectorRegistry(),
        )
        try:
            plant = SyntheticPlant(IDLE_W, J_PER_HASH, RATE_HS)
            worker.energy = MeasuredEnergy(plant.read, CPU_MODEL_J_PER_HASH)
            worker.energy.start(0)
            worker.state.worker_id = "w-1"
            nonces = int(RATE_HS)  # one second flat out on the plant
            plant.hash(nonces)
            worker.state.hashes += nonces
            worker.state.unreported_hashes += nonces
            await worker._measure()
            assert worker.state.unreported_energy_j == pytest.approx(700.0)
            assert worker.duty.joules_per_hash < CPU_MODEL_J_PER_HASH
            signed = worker._sign(0, 1000)
            assert signed.energy_joules == 700
            assert signed.energy_measurement == miner_pb2.ENERGY_MEASUREMENT_MEASURED
            worker.state.unreported_energy_j -= signed.energy_joules
            worker.state.unreported_hashes -= signed.hashes
            worker.state.unreported_modelled = worker.energy is None

            plant.fail = True
            worker.state.hashes += 1000
            worker.state.unreported_hashes += 1000
            j_per_hash = worker.duty.joules_per_hash
            await worker._measure()
            assert worker.energy is None
            assert worker.state.unreported_energy_j == pytest.approx(1000 * j_per_hash)
            signed = worker._sign(1000, 2000)
            assert signed.energy_measurement == miner_pb2.ENERGY_MEASUREMENT_MODELLED
        finally:
            worker.queue.close()
            backend.close()
