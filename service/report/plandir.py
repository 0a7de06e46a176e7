"""Read a plan directory (``spillway plan --out DIR``) into plain frames for charting.

Every table the report draws from is listed in :data:`REQUIRED`; a missing one
is reported by name with the directory, before anything is drawn. The traced
sources (:data:`SOURCES`) are optional: plan directories written before they
existed still render, the report then saying the breakdown is absent.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from service.report.errors import PlanDirError

__all__ = ["REQUIRED", "SOURCES", "PlanTables", "read_plan_dir"]

#: Files the report needs, all written by ``PlanResult.write``.
REQUIRED = (
    "summary.json",
    "details.json",
    "snapshots.csv",
    "generators.csv",
    "mining_sites.csv",
    "mining_sites-value.csv",
    "mining_sites-p.csv",
    "generators-curtailment.csv",
    "generators-curtailment_base.csv",
    "storage_units-spill.csv",
    "storage_units-spill_base.csv",
    "lines-loading.csv",
    "buses-marginal_price.csv",
)
#: The network-traced sources of each site's mining, in long form (optional).
SOURCES = "mining_sites-sources.csv"
#: Its columns, as ``PlanResult.write`` writes them.
SOURCES_COLUMNS = ("snapshot", "site", "source", "carrier", "p_mw")


@dataclass(frozen=True)
class PlanTables:
    """A plan as the report reads it (time series are snapshots * components).

    Attributes
    ----------
    path:
        The plan directory.
    summary, details:
        ``summary.json`` and ``details.json`` as written.
    snapshots:
        Snapshot names, in order.
    weight_h:
        Hours each snapshot stands for (energy weighting).
    generators, mining_sites:
        Static tables (``bus``, ``carrier``, ``p_nom``, ``renewable``; ``bus``, ``p_nom``).
    curtailment_before_mw, curtailment_after_mw:
        Renewable curtailment per generator without and with mining (MW).
    spill_before_mw, spill_after_mw:
        Storage spill per storage unit without and with mining (MW).
    mining_mw, mining_value_per_mwh:
        Mining load per site (MW) and its value (currency/MWh).
    lines_loading:
        ``|p0| / s_nom`` per line.
    marginal_price:
        Marginal price per bus (currency/MWh).
    mining_sources_mw:
        :data:`SOURCES` as read (columns :data:`SOURCES_COLUMNS`, ``p_mw`` in MW);
        ``None`` for a plan directory written without it.
    """

    path: Path
    summary: dict[str, Any]
    details: dict[str, Any]
    snapshots: tuple[str, ...]
    weight_h: np.ndarray
    generators: pd.DataFrame
    mining_sites: pd.DataFrame
    curtailment_before_mw: pd.DataFrame
    curtailment_after_mw: pd.DataFrame
    spill_before_mw: pd.DataFrame
    spill_after_mw: pd.DataFrame
    mining_mw: pd.DataFrame
    mining_value_per_mwh: pd.DataFrame
    lines_loading: pd.DataFrame
    marginal_price: pd.DataFrame
    mining_sources_mw: pd.DataFrame | None = None

    def energy_mwh(self, frame: pd.DataFrame) -> pd.Series:
        """Energy per column of a MW time series (MWh)."""
        return frame.mul(self.weight_h, axis=0).sum(axis=0)

    def curtailment_by_carrier_mw(self, *, after: bool) -> pd.DataFrame:
        """Curtailed power per renewable carrier, plus ``spill`` of storage (MW)."""
        cur = self.curtailment_after_mw if after else self.curtailment_before_mw
        spill = self.spill_after_mw if after else self.spill_before_mw
        carrier = self.generators["carrier"].reindex(cur.columns)
        renewable = self.generators["renewable"].reindex(cur.columns).fillna(False)
        by = cur.loc[:, renewable.to_numpy(dtype=bool)]
        out = by.T.groupby(carrier[renewable.to_numpy(dtype=bool)].to_numpy()).sum().T
        out = out.reindex(index=cur.index)
        out["spill"] = spill.sum(axis=1) if spill.shape[1] else 0.0
        return out

    @functools.cached_property
    def mining_mwh_by_site_and_source(self) -> pd.DataFrame | None:
        """Traced mining energy per site and source (``None`` without :data:`SOURCES`).

        Computed once per ``PlanTables`` (the report reads it several times); do not
        modify the frame it returns.

        Columns ``site, source, carrier, mwh``, in the file's order; ``mwh`` is
        ``Σ_t w_t p_mw`` with the snapshots' energy weighting (h).
        """
        if self.mining_sources_mw is None:
            return None
        src = self.mining_sources_mw
        weight_h = dict(zip(self.snapshots, self.weight_h, strict=True))
        energy = src.assign(mwh=src["p_mw"] * src["snapshot"].map(weight_h))
        return energy.groupby(["site", "source", "carrier"], sort=False, as_index=False)[
            "mwh"
        ].sum()

    @property
    def revenue(self) -> float:
        """Value of the mined energy, ``Σ_t w_t Σ_s P_st v_st`` (currency)."""
        value = self.mining_value_per_mwh.reindex(columns=self.mining_mw.columns)
        return float(self.energy_mwh(self.mining_mw * value).sum())

    @property
    def revenue_by_site(self) -> dict[str, float]:
        """Value of the mined energy per site (currency)."""
        value = self.mining_value_per_mwh.reindex(columns=self.mining_mw.columns)
        return {str(k): float(v) for k, v in self.energy_mwh(self.mining_mw * value).items()}


def _csv(path: Path, index: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, index_col=index, keep_default_na=True)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PlanDirError(path, f"cannot read the table: {exc}") from exc
    frame.index = frame.index.astype(str)
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _json(path: Path) -> dict[str, Any]:
    try:
        obj = json.loads(path.read_text())
    except (ValueError, OSError) as exc:
        raise PlanDirError(path, f"cannot read the JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise PlanDirError(path, "expected a JSON object")
    return obj


def _sources(path: Path, snapshots: pd.Index) -> pd.DataFrame:
    """Read :data:`SOURCES` (long form), checking its columns and snapshots."""
    try:
        # names stay text: a plant called "NA" or "1" is a name, not a missing value
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PlanDirError(path, f"cannot read the table: {exc}") from exc
    lacking = [c for c in SOURCES_COLUMNS if c not in frame.columns]
    if lacking:
        raise PlanDirError(path, f"no column {', '.join(lacking)}")
    unknown = sorted(set(frame["snapshot"]) - set(snapshots))
    if unknown:
        raise PlanDirError(path, f"snapshots not in snapshots.csv: {', '.join(unknown[:5])}")
    try:
        p_mw = pd.to_numeric(frame["p_mw"])
    except ValueError as exc:
        raise PlanDirError(path, f"p_mw is not numeric: {exc}") from exc
    return frame[list(SOURCES_COLUMNS)].assign(p_mw=p_mw.astype(float))


def read_plan_dir(path: str | Path) -> PlanTables:
    """Read what the report needs from a plan directory.

    Parameters
    ----------
    path:
        Directory written by ``spillway plan SCENARIO --out DIR``.

    Returns
    -------
    PlanTables
        The tables, time series indexed by snapshot name; ``mining_sources_mw`` is
        ``None`` when the directory has no :data:`SOURCES` (written before it existed).

    Raises
    ------
    PlanDirError
        The directory does not exist, lacks a table (all missing ones named), or a
        table cannot be read.
    """
    d = Path(path)
    if not d.is_dir():
        raise PlanDirError(d, "no such plan directory (write one with `spillway plan --out`)")
    missing = [name for name in REQUIRED if not (d / name).is_file()]
    if missing:
        raise PlanDirError(
            d,
            "not a plan directory, missing "
            + ", ".join(missing)
            + " (write one with `spillway plan SCENARIO --out DIR`)",
        )
    snapshots = _csv(d / "snapshots.csv", "snapshot")
    if "generators" not in snapshots.columns:
        raise PlanDirError(d / "snapshots.csv", "no 'generators' weighting column")

    def series(name: str) -> pd.DataFrame:
        frame = _csv(d / name, "snapshot")
        if list(frame.index) != list(snapshots.index):
            raise PlanDirError(d / name, "its snapshots differ from snapshots.csv")
        return frame.astype(float)

    generators = _csv(d / "generators.csv", "name")
    sites = _csv(d / "mining_sites.csv", "name")
    for name, frame, cols in (
        ("generators.csv", generators, ("bus", "carrier", "renewable")),
        ("mining_sites.csv", sites, ("bus", "p_nom")),
    ):
        lacking = [c for c in cols if c not in frame.columns]
        if lacking:
            raise PlanDirError(d / name, f"no column {', '.join(lacking)}")
    sources = _sources(d / SOURCES, snapshots.index) if (d / SOURCES).is_file() else None
    generators["renewable"] = generators["renewable"].astype(str).str.lower() == "true"
    generators["carrier"] = generators["carrier"].astype(str)
    sites["bus"] = sites["bus"].astype(str)
    return PlanTables(
        path=d,
        summary=_json(d / "summary.json"),
        details=_json(d / "details.json"),
        snapshots=tuple(snapshots.index),
        weight_h=snapshots["generators"].to_numpy(dtype=float),
        generators=generators,
        mining_sites=sites,
        curtailment_before_mw=series("generators-curtailment_base.csv"),
        curtailment_after_mw=series("generators-curtailment.csv"),
        spill_before_mw=series("storage_units-spill_base.csv"),
        spill_after_mw=series("storage_units-spill.csv"),
        mining_mw=series("mining_sites-p.csv"),
        mining_value_per_mwh=series("mining_sites-value.csv"),
        lines_loading=series("lines-loading.csv"),
        marginal_price=series("buses-marginal_price.csv"),
        mining_sources_mw=sources,
    )
