"""Read a plan directory (``spillway plan --out DIR``) into plain frames for charting.

Every table the report draws from is listed in :data:`REQUIRED`; a missing one
is reported by name with the directory, before anything is drawn. The totals
(curtailment by carrier, revenue, energy by traced source) are the plan's own,
read from ``summary.json`` and ``details.json``, never recomputed here. Tables
that later plans added (:data:`OPTIONAL`) may be absent: plan directories written
before them still render, the report then saying what it cannot show.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from service.report.errors import PlanDirError

__all__ = ["OPTIONAL", "REQUIRED", "PlanTables", "branch_key", "read_plan_dir"]

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
#: Files later plans write, read where present: the network (buses with their
#: coordinates, branches with their ends and ratings), transformer loading, each
#: branch's loading without mining, and the storage units (carriers of sources).
OPTIONAL = (
    "network-buses.csv",
    "network-branches.csv",
    "transformers-loading.csv",
    "lines-loading_base.csv",
    "transformers-loading_base.csv",
    "storage_units.csv",
)
#: details.json's per-site, per-source MWh of the network-traced sources.
SOURCES_KEY = "mining_mwh_by_site_and_source"


def branch_key(kind: str, name: str) -> str:
    """A branch's unique key, ``line:NAME`` or ``transformer:NAME`` (a line and a
    transformer may share a name)."""
    return f"{kind}:{name}"


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
        Static tables (``bus``, ``carrier``, ``p_nom``, ``renewable``, where written
        ``co2_t_per_mwh`` and ``marginal_cost``; ``bus``, ``p_nom``).
    storage_units:
        ``bus``, ``carrier``, ``p_nom`` per storage unit (empty where not written).
    curtailment_before_mw, curtailment_after_mw:
        Renewable curtailment per generator without and with mining (MW).
    spill_before_mw, spill_after_mw:
        Storage spill per storage unit without and with mining (MW).
    mining_mw, mining_value_per_mwh:
        Mining load per site (MW) and its value (currency/MWh).
    loading, loading_base:
        ``|p0| / s_max`` per branch (columns :func:`branch_key`: lines, then
        transformers) with mining and without it; ``loading_base`` is ``None`` for
        a plan directory written without the base plan's loading.
    marginal_price:
        Marginal price per bus (currency/MWh).
    buses:
        ``v_nom``, ``x``, ``y`` per bus (``nan`` where the scenario has no
        coordinates); ``None`` without ``network-buses.csv``.
    branches:
        Per branch key: ``kind``, ``name``, ``bus0``, ``bus1``, ``s_max_mw``
        (``nan``: unrated); ``None`` without ``network-branches.csv``.
    """

    path: Path
    summary: dict[str, Any]
    details: dict[str, Any]
    snapshots: tuple[str, ...]
    weight_h: np.ndarray
    generators: pd.DataFrame
    storage_units: pd.DataFrame
    mining_sites: pd.DataFrame
    curtailment_before_mw: pd.DataFrame
    curtailment_after_mw: pd.DataFrame
    spill_before_mw: pd.DataFrame
    spill_after_mw: pd.DataFrame
    mining_mw: pd.DataFrame
    mining_value_per_mwh: pd.DataFrame
    loading: pd.DataFrame
    loading_base: pd.DataFrame | None
    marginal_price: pd.DataFrame
    buses: pd.DataFrame | None = None
    branches: pd.DataFrame | None = None

    def energy_mwh(self, frame: pd.DataFrame) -> pd.Series:
        """Energy per column of a MW time series (MWh)."""
        return frame.mul(self.weight_h, axis=0).sum(axis=0)

    def curtailment_by_carrier_mw(self, *, after: bool) -> pd.DataFrame:
        """Curtailed power per renewable carrier, plus ``spill`` of storage (MW), over
        time (the plan's totals by carrier are :attr:`details`' own)."""
        cur = self.curtailment_after_mw if after else self.curtailment_before_mw
        spill = self.spill_after_mw if after else self.spill_before_mw
        carrier = self.generators["carrier"].reindex(cur.columns)
        renewable = self.generators["renewable"].reindex(cur.columns).fillna(False)
        by = cur.loc[:, renewable.to_numpy(dtype=bool)]
        out = by.T.groupby(carrier[renewable.to_numpy(dtype=bool)].to_numpy()).sum().T
        out = out.reindex(index=cur.index)
        out["spill"] = spill.sum(axis=1) if spill.shape[1] else 0.0
        return out

    def source_carrier(self, source: str) -> str:
        """The carrier of a traced source: the generator's, else the storage unit's,
        ``grid`` for ``grid`` and ``""`` if unknown (as the plan labels it)."""
        from optimiser.attribution import GRID_SOURCE

        if source == GRID_SOURCE:
            return GRID_SOURCE
        for table in (self.generators, self.storage_units):
            if source in table.index and "carrier" in table.columns:
                return str(table.at[source, "carrier"])
        return ""

    @property
    def mining_mwh_by_site_and_source(self) -> pd.DataFrame | None:
        """The plan's traced mining energy per site and source (``None`` where
        ``details.json`` has none): columns ``site, source, carrier, mwh``, in the
        order details.json lists them."""
        by_site = self.details.get(SOURCES_KEY)
        if by_site is None:
            return None
        rows = [
            (site, source, self.source_carrier(source), mwh)
            for site, by_source in by_site.items()
            for source, mwh in by_source.items()
        ]
        return pd.DataFrame(rows, columns=["site", "source", "carrier", "mwh"]).astype(
            {"site": object, "source": object, "carrier": object, "mwh": float}
        )

    @property
    def revenue(self) -> float:
        """Value of the mined energy (currency; ``nan`` where the plan records none)."""
        return float(self.details.get("mining_revenue", math.nan))

    @property
    def revenue_by_site(self) -> dict[str, float]:
        """Value of the mined energy per site (currency; empty where not recorded)."""
        return {str(k): float(v) for k, v in self.details.get("mining_revenue_by_site", {}).items()}

    def branch_label(self, key: str) -> str:
        """``line 12 (A-B)``: a branch named with its end buses where they are known."""
        kind, _, name = key.partition(":")
        if self.branches is not None and key in self.branches.index:
            row = self.branches.loc[key]
            return f"{kind} {name} ({row['bus0']}\u2013{row['bus1']})"
        return f"{kind} {name}"


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


def _check_details(path: Path, details: dict[str, Any]) -> None:
    """The details.json entries the report reads are mappings of numbers."""

    def numbers(key: str, obj: Any) -> None:
        if not isinstance(obj, dict):
            raise PlanDirError(path, f"{key}: expected an object, got {type(obj).__name__}")
        for name, value in obj.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise PlanDirError(path, f"{key}.{name}: expected a number, got {value!r}")

    by_site = details.get(SOURCES_KEY)
    if by_site is not None:
        if not isinstance(by_site, dict):
            raise PlanDirError(path, f"{SOURCES_KEY}: expected an object of sites")
        for site, by_source in by_site.items():
            numbers(f"{SOURCES_KEY}.{site}", by_source)
    for key in ("mining_mwh_by_source", "mining_revenue_by_site"):
        if key in details:
            numbers(key, details[key])


def _branches(d: Path) -> pd.DataFrame | None:
    """``network-branches.csv`` indexed by :func:`branch_key` (``None`` if absent)."""
    path = d / "network-branches.csv"
    if not path.is_file():
        return None
    try:
        # names stay text: a bus called "NA" or "1" is a name, not a missing value
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PlanDirError(path, f"cannot read the table: {exc}") from exc
    lacking = [c for c in ("name", "kind", "bus0", "bus1", "s_max_mw") if c not in frame.columns]
    if lacking:
        raise PlanDirError(path, f"no column {', '.join(lacking)}")
    s_max = pd.to_numeric(frame["s_max_mw"].replace("", "nan"), errors="coerce")
    frame = frame.assign(s_max_mw=s_max.astype(float))
    frame.index = pd.Index(
        [branch_key(k, n) for k, n in zip(frame["kind"], frame["name"], strict=True)]
    )
    return frame


def _text_index(path: Path) -> pd.DataFrame:
    """A static table indexed by name, names kept as text."""
    try:
        frame = pd.read_csv(
            path,
            dtype={"name": str, "bus": str},
            keep_default_na=False,
            na_values={"x": [""], "y": [""]},
        )
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PlanDirError(path, f"cannot read the table: {exc}") from exc
    if "name" not in frame.columns:
        raise PlanDirError(path, "no column name")
    return frame.set_index("name")


def read_plan_dir(path: str | Path) -> PlanTables:
    """Read what the report needs from a plan directory.

    Parameters
    ----------
    path:
        Directory written by ``spillway plan SCENARIO --out DIR``.

    Returns
    -------
    PlanTables
        The tables, time series indexed by snapshot name; what an older plan
        directory lacks (:data:`OPTIONAL`) is ``None`` or empty.

    Raises
    ------
    PlanDirError
        The directory does not exist, lacks a table (all missing ones named), or a
        table (or a details.json entry the report reads) cannot be read.
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

    def loading(suffix: str) -> pd.DataFrame:
        """Lines' then transformers' loading, columns :func:`branch_key`."""
        frames = []
        for kind, plural in (("line", "lines"), ("transformer", "transformers")):
            if (d / f"{plural}-loading{suffix}.csv").is_file():
                frame = series(f"{plural}-loading{suffix}.csv")
                frame.columns = [branch_key(kind, c) for c in frame.columns]
                frames.append(frame)
        return pd.concat(frames, axis=1) if frames else pd.DataFrame(index=snapshots.index)

    generators = _csv(d / "generators.csv", "name")
    sites = _csv(d / "mining_sites.csv", "name")
    for name, frame, cols in (
        ("generators.csv", generators, ("bus", "carrier", "renewable")),
        ("mining_sites.csv", sites, ("bus", "p_nom")),
    ):
        lacking = [c for c in cols if c not in frame.columns]
        if lacking:
            raise PlanDirError(d / name, f"no column {', '.join(lacking)}")
    generators["renewable"] = generators["renewable"].astype(str).str.lower() == "true"
    generators["carrier"] = generators["carrier"].astype(str)
    generators["bus"] = generators["bus"].astype(str)
    sites["bus"] = sites["bus"].astype(str)
    storage = d / "storage_units.csv"
    details = _json(d / "details.json")
    _check_details(d / "details.json", details)
    buses = d / "network-buses.csv"
    return PlanTables(
        path=d,
        summary=_json(d / "summary.json"),
        details=details,
        snapshots=tuple(snapshots.index),
        weight_h=snapshots["generators"].to_numpy(dtype=float),
        generators=generators,
        storage_units=_text_index(storage) if storage.is_file() else pd.DataFrame(),
        mining_sites=sites,
        curtailment_before_mw=series("generators-curtailment_base.csv"),
        curtailment_after_mw=series("generators-curtailment.csv"),
        spill_before_mw=series("storage_units-spill_base.csv"),
        spill_after_mw=series("storage_units-spill.csv"),
        mining_mw=series("mining_sites-p.csv"),
        mining_value_per_mwh=series("mining_sites-value.csv"),
        loading=loading(""),
        # written before the base plan's loading was: no before/after view
        loading_base=loading("_base") if (d / "lines-loading_base.csv").is_file() else None,
        marginal_price=series("buses-marginal_price.csv"),
        buses=_text_index(buses) if buses.is_file() else None,
        branches=_branches(d),
    )
