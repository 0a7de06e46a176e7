"""Plan results: plain data (pandas frames indexed by snapshot), never Pyomo objects.

Tables follow PyPSA's result naming when written (``generators-p.csv``, ...).
Sign conventions: ``p0`` is the flow leaving ``bus0`` (MW); storage ``p`` is
dispatch minus store (MW); marginal prices are currency per MWh; the shadow
prices ``mu_upper``/``mu_lower`` of a branch limit are >= 0, the objective's
gain per extra MW of rating, per hour of the snapshot (currency per MW per h).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from optimiser.attribution import TraceInputs, mining_sources_mw
from optimiser.labels import GRID_SOURCE, PlanMode

if TYPE_CHECKING:
    from collections.abc import Iterable

    from optimiser.data import GridData
    from optimiser.solve import PlanStatus

__all__ = ["SUMMARY_KEYS", "Dispatch", "PlanMode", "PlanResult", "Topology", "static_tables"]

#: Keys of :meth:`PlanResult.summary`, in order (the CLI's ``--json`` contract).
SUMMARY_KEYS = (
    "status",
    "mode",
    "objective",
    "mining_mwh",
    "mining_mwh_by_site",
    "mining_p_nom_opt_by_site",
    "curtailment_mwh_before",
    "curtailment_mwh_after",
    "max_line_loading",
    "mip_gap",
    "timings",
)


@dataclass(frozen=True)
class Dispatch:
    """The physical outcome of one solve (all frames: snapshots * components).

    ``branches_p0`` columns are branch keys (``line:NAME``/``transformer:NAME``).
    """

    generators_p: pd.DataFrame
    storage_units_p_dispatch: pd.DataFrame
    storage_units_p_store: pd.DataFrame
    storage_units_state_of_charge: pd.DataFrame
    storage_units_spill: pd.DataFrame
    branches_p0: pd.DataFrame
    mining_sites_p: pd.DataFrame
    #: Link flow withdrawn at bus0 (MW), PyPSA's ``links-p0``.
    links_p0: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Store power injected at its bus (MW, negative charging) and energy level (MWh),
    #: PyPSA's ``stores-p`` and ``stores-e``.
    stores_p: pd.DataFrame = field(default_factory=pd.DataFrame)
    stores_e: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: On/off status of committable generators (1 on), PyPSA's ``generators-status``.
    generators_status: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Family (``generators``, ``branches``, ``links``, ``storage_units``,
    #: ``mining_sites``) -> optimal capacity of each extendable component (MW).
    capacities: dict[str, pd.Series] = field(default_factory=dict)
    #: ``p_max_pu * p_nom`` per snapshot with this dispatch's capacities (``None``:
    #: the result's :attr:`PlanResult.generators_available_mw`).
    generators_available_mw: pd.DataFrame | None = None

    @property
    def storage_units_p(self) -> pd.DataFrame:
        """Storage dispatch minus store (MW), PyPSA's ``p``."""
        return self.storage_units_p_dispatch - self.storage_units_p_store


@dataclass(frozen=True)
class Topology:
    """Where components connect (bus indices), for tracing the plan's flows.

    Arrays follow the column order of the result's frames.
    """

    n_buses: int
    branch_bus0: np.ndarray
    branch_bus1: np.ndarray
    generator_bus: np.ndarray
    storage_unit_bus: np.ndarray
    mining_site_bus: np.ndarray

    @classmethod
    def of(cls, data: GridData) -> Topology:
        """The topology of a scenario."""
        return cls(
            n_buses=len(data.buses),
            branch_bus0=np.array(data.branches.bus0, dtype=np.int64),
            branch_bus1=np.array(data.branches.bus1, dtype=np.int64),
            generator_bus=np.array(data.generators.bus, dtype=np.int64),
            storage_unit_bus=np.array(data.storage_units.bus, dtype=np.int64),
            mining_site_bus=np.array(data.mining_sites.bus, dtype=np.int64),
        )


@dataclass(frozen=True)
class PlanResult:
    """A mining plan with its base (no-mining) plan for comparison.

    Attributes
    ----------
    status, termination:
        Outcome of the mining solve (``PlanStatus``) and HiGHS's own status name.
    mode:
        ``co-optimised`` or ``curtailment-only``.
    objective, objective_base:
        Objective with mining (value of mining subtracted) and without mining.
    plan, base:
        Dispatch with mining and of the base plan (mining fixed at zero).
    buses_marginal_price:
        Dual of each nodal balance divided by the objective weighting (currency/MWh).
    branches_mu_upper, branches_mu_lower:
        Shadow prices of the branch limits (>= 0; ``nan`` for unrated branches or a MILP).
    generators_available_mw:
        ``p_max_pu * p_nom`` per snapshot.
    timings:
        ``read_s, build_s, solve_s, total_s`` (seconds).
    stats:
        Solve statistics (HiGHS run time, iterations, model size).
    static:
        Scenario tables a plan directory needs to be read on its own (buses,
        carriers and capacities; see :func:`static_tables`), written by :meth:`write`.
    topology:
        Bus indices of branches and components, for :meth:`mining_sources_mw`
        (``None``: the plan cannot be traced).
    """

    status: PlanStatus
    termination: str
    mode: PlanMode
    objective: float
    objective_base: float
    plan: Dispatch
    base: Dispatch
    buses_marginal_price: pd.DataFrame
    branches_mu_upper: pd.DataFrame
    branches_mu_lower: pd.DataFrame
    generators_available_mw: pd.DataFrame
    branch_kind: tuple[str, ...]
    branch_s_max_mw: np.ndarray
    renewable: np.ndarray
    carriers: tuple[str, ...]
    co2_t_per_mwh: np.ndarray
    weight_energy_h: np.ndarray
    #: Link efficiency bus0 -> bus1 (for ``links-p1 = -efficiency * p0``).
    links_efficiency: np.ndarray = field(default_factory=lambda: np.zeros(0))
    timings: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    static: dict[str, pd.DataFrame] = field(default_factory=dict)
    topology: Topology | None = None
    #: Dual of each global constraint (PyPSA's ``global_constraints.mu``: for the CO2
    #: limit, minus the CO2 price in currency per t).
    global_constraints_mu: dict[str, float] = field(default_factory=dict)

    # -- convenience views ---------------------------------------------------
    @property
    def mine_mw(self) -> pd.DataFrame:
        """Mining load per snapshot and site (MW)."""
        return self.plan.mining_sites_p

    def _kind(self, frame: pd.DataFrame, kind: str) -> pd.DataFrame:
        cols = [k for k, kk in zip(frame.columns, self.branch_kind, strict=True) if kk == kind]
        out = frame[cols].copy()
        out.columns = [c.split(":", 1)[1] for c in cols]
        return out

    @property
    def lines_p0(self) -> pd.DataFrame:
        """Line flows leaving bus0 (MW)."""
        return self._kind(self.plan.branches_p0, "line")

    @property
    def transformers_p0(self) -> pd.DataFrame:
        """Transformer flows leaving bus0 (MW)."""
        return self._kind(self.plan.branches_p0, "transformer")

    @property
    def branches_loading(self) -> pd.DataFrame:
        """``|p0| / s_max`` per branch (``nan``: unrated, e.g. MATPOWER ``rateA = 0``)."""
        return self.branches_loading_of(self.plan)

    def branches_loading_of(self, dispatch: Dispatch) -> pd.DataFrame:
        """``|p0| / s_max`` per branch of one dispatch (``nan`` for unrated branches:
        an unrated branch is not 0 % loaded, it has no rating to load)."""
        s = np.where(np.isfinite(self.branch_s_max_mw), self.branch_s_max_mw, np.nan)
        return dispatch.branches_p0.abs().div(s, axis="columns")

    def curtailment_mw(self, dispatch: Dispatch) -> pd.DataFrame:
        """Curtailed renewable power ``available - dispatched`` (0 for conventional)."""
        available = dispatch.generators_available_mw
        if available is None:
            available = self.generators_available_mw
        cur = (available - dispatch.generators_p).clip(lower=0.0)
        return cur * self.renewable.astype(float)

    # -- totals ----------------------------------------------------------------
    def _energy(self, frame: pd.DataFrame) -> pd.Series:
        return frame.mul(self.weight_energy_h, axis=0).sum(axis=0)

    def curtailment_mwh_by_carrier(self, dispatch: Dispatch) -> dict[str, float]:
        """Curtailed energy per carrier, plus ``spill`` for storage spill (MWh)."""
        e = self._energy(self.curtailment_mw(dispatch))
        out = {
            str(c): float(v)
            for c, v in e.groupby(np.asarray(self.carriers, dtype=object)).sum().items()
            if any(cc == c and r for cc, r in zip(self.carriers, self.renewable, strict=True))
        }
        out["spill"] = float(self._energy(dispatch.storage_units_spill).sum())
        return out

    @cached_property
    def _curtailment_mwh_before_after(self) -> tuple[dict[str, float], dict[str, float]]:
        # computed once per result: summary() and details() both report it, and
        # write() calls both
        return (
            self.curtailment_mwh_by_carrier(self.base),
            self.curtailment_mwh_by_carrier(self.plan),
        )

    @property
    def mining_mwh_by_site(self) -> dict[str, float]:
        """Mining energy per site (MWh)."""
        return {str(k): float(v) for k, v in self._energy(self.plan.mining_sites_p).items()}

    def capacity_tables(self) -> list[tuple[str, str, pd.Series]]:
        """``(file stem, attribute, sizes)`` of each family's optimal capacities in
        PyPSA's naming: ``generators``/``links``/``storage_units``/``mining_sites``
        ``p_nom_opt``, ``lines``/``transformers`` ``s_nom_opt`` (MW), ``stores``
        ``e_nom_opt`` (MWh)."""
        out = []
        for family, sizes in self.plan.capacities.items():
            if family == "stores":
                out.append((family, "e_nom_opt", sizes))
                continue
            if family != "branches":
                out.append((family, "p_nom_opt", sizes))
                continue
            for kind in ("line", "transformer"):
                part = sizes[[str(k).startswith(kind + ":") for k in sizes.index]]
                if len(part):
                    part = part.set_axis([str(k).split(":", 1)[1] for k in part.index])
                    out.append((kind + "s", "s_nom_opt", part.rename_axis("name")))
        return out

    @property
    def mining_p_nom_opt_by_site(self) -> dict[str, float]:
        """Size of each extendable mining site the plan chose (MW); ``{}`` when none is."""
        sizes = self.plan.capacities.get("mining_sites")
        return {} if sizes is None else {str(k): float(v) for k, v in sizes.items()}

    @property
    def mining_mwh(self) -> float:
        """Total mining energy (MWh)."""
        return float(sum(self.mining_mwh_by_site.values()))

    @cached_property
    def _mining_sources_mw(self) -> pd.DataFrame:
        # traced once per result: the summary, details.json and the sources table all
        # read it, and each trace is one sparse solve per site bus
        return mining_sources_mw(self.trace_inputs())

    def trace_inputs(self) -> TraceInputs:
        """The plan's changes from its base, as :func:`optimiser.attribution.mining_sources_mw`
        takes them.

        Raises
        ------
        ValueError
            The result carries no topology.
        """
        topo = self.topology
        if topo is None:
            raise ValueError("the plan carries no topology to trace flows on")
        plan, base = self.plan, self.base
        absorbed = (self.curtailment_mw(base) - self.curtailment_mw(plan)).clip(lower=0.0)
        spill_avoided = (base.storage_units_spill - plan.storage_units_spill).clip(lower=0.0)
        return TraceInputs(
            n_buses=topo.n_buses,
            branch_bus0=topo.branch_bus0,
            branch_bus1=topo.branch_bus1,
            generator_bus=topo.generator_bus,
            storage_unit_bus=topo.storage_unit_bus,
            mining_site_bus=topo.mining_site_bus,
            generator_names=[str(c) for c in plan.generators_p.columns],
            storage_unit_names=[str(c) for c in plan.storage_units_p_dispatch.columns],
            site_names=[str(c) for c in plan.mining_sites_p.columns],
            index=plan.mining_sites_p.index,
            delta_generators_mw=(plan.generators_p - base.generators_p).to_numpy(),
            absorbed_curtailment_mw=absorbed.to_numpy(),
            delta_storage_mw=(plan.storage_units_p - base.storage_units_p).to_numpy(),
            spill_avoided_mw=spill_avoided.to_numpy(),
            mining_mw=plan.mining_sites_p.to_numpy(),
            delta_flow_mw=(plan.branches_p0 - base.branches_p0).to_numpy(),
            curtailment_only=self.mode == PlanMode.CURTAILMENT_ONLY,
        )

    def mining_sources_mw(self) -> pd.DataFrame:
        """MW each site draws from each source (plant or ``grid``), per snapshot.

        Proportional sharing of the flow change plan - base
        (:func:`optimiser.attribution.mining_sources_mw`); columns ``(site, source)``.
        """
        return self._mining_sources_mw.copy()

    def source_carrier(self, source: str) -> str:
        """The carrier of a traced source: the generator's, else the storage unit's
        (from :attr:`static`), ``grid`` for ``grid`` and ``""`` if unknown."""
        if source == GRID_SOURCE:
            return GRID_SOURCE
        gens = [str(c) for c in self.plan.generators_p.columns]
        if source in gens:
            return str(self.carriers[gens.index(source)])
        storage = self.static.get("storage_units")
        if storage is not None and source in storage.index:
            return str(storage.at[source, "carrier"])
        return ""

    def mining_sources_table_mw(self) -> pd.DataFrame:
        """:meth:`mining_sources_mw` in long (tidy) form, as ``mining_sites-sources.csv``.

        Returns
        -------
        pandas.DataFrame
            Columns ``snapshot, site, source, carrier, p_mw``: one row per snapshot
            and traced ``(site, source)`` pair (zeros kept, so every pair is a full
            time series), snapshots in order, then sites in order, each site's plants
            in component order and ``grid`` last. ``p_mw`` is MW; energy is
            ``p_mw`` times the snapshot's ``generators`` weighting (h).
        """
        wide = self.mining_sources_mw()
        sites = [str(c) for c in self.plan.mining_sites_p.columns]
        pairs = sorted(
            ((str(s), str(k)) for s, k in cast("Iterable[tuple[object, object]]", wide.columns)),
            key=lambda sk: (sites.index(sk[0]), sk[1] == GRID_SOURCE),
        )  # sorted() is stable: plants keep their component order
        values = wide[pairs].to_numpy(dtype=float) if pairs else np.zeros((len(wide), 0))
        n_t = len(wide.index)
        return pd.DataFrame(
            {
                "snapshot": np.repeat(np.asarray(wide.index, dtype=object), len(pairs)),
                "site": [s for s, _ in pairs] * n_t,
                "source": [k for _, k in pairs] * n_t,
                "carrier": [self.source_carrier(k) for _, k in pairs] * n_t,
                "p_mw": values.reshape(-1),
            }
        )

    @property
    def mining_mwh_by_site_and_source(self) -> dict[str, dict[str, float]]:
        """Traced mining energy per site and source (MWh), every site listed; a site's
        figures add up to its :attr:`mining_mwh_by_site` (less solver noise)."""
        energy = self._energy(self.mining_sources_mw())
        out: dict[str, dict[str, float]] = {str(s): {} for s in self.plan.mining_sites_p.columns}
        for key, mwh in energy.items():
            site, source = cast("tuple[object, object]", key)
            out[str(site)][str(source)] = float(mwh)
        return out

    def curtailment_sources_mw(self) -> pd.DataFrame:
        """MW of curtailed energy (renewable curtailment or avoided spill) each site
        draws from each plant, per snapshot: :meth:`mining_sources_mw` without ``grid``."""
        traced = self.mining_sources_mw()
        keep = [c for c in traced.columns if c[1] != GRID_SOURCE]
        return traced[keep]

    @property
    def mining_mwh_by_source(self) -> dict[str, float]:
        """Mining energy split into ``curtailed`` (renewable curtailment or spill it
        avoided, traced to each site through the network: the sum over sites of
        :meth:`curtailment_sources_mw`) and ``other`` (MWh), snapshot by snapshot.

        A plan without :attr:`topology` falls back to the system-wide rule
        ``min(mining, curtailment and spill absorbed)`` per snapshot.
        """
        mining = np.asarray(self.plan.mining_sites_p.sum(axis=1))
        if self.topology is not None:
            traced = self.curtailment_sources_mw()
            curtailed = np.minimum(mining, np.asarray(traced.sum(axis=1), dtype=float))
        else:

            def wasted(d: Dispatch) -> np.ndarray:
                return np.asarray(
                    self.curtailment_mw(d).sum(axis=1) + d.storage_units_spill.sum(axis=1)
                )

            absorbed = np.clip(wasted(self.base) - wasted(self.plan), 0.0, None)
            curtailed = np.minimum(mining, absorbed)
        w = self.weight_energy_h
        return {
            "curtailed": float(np.sum(w * curtailed)),
            "other": float(np.sum(w * (mining - curtailed))),
        }

    @property
    def mining_revenue_by_site(self) -> dict[str, float] | None:
        """Value of the mined energy per site, ``Σ_t w_t P_st v_st`` (currency); ``None``
        without the sites' values in :attr:`static`."""
        value = self.static.get("mining_sites-value")
        if value is None:
            return None
        mine = self.plan.mining_sites_p
        v = value.reindex(columns=mine.columns).to_numpy(dtype=float)
        return {str(k): float(x) for k, x in self._energy(mine * v).items()}

    @property
    def mining_co2_t(self) -> float:
        """CO2 of the extra generation that mining caused, ``Σ_t w_t Σ_g ΔP_gt co2_g`` (t)."""
        delta = self.plan.generators_p - self.base.generators_p
        return float(self._energy(delta * self.co2_t_per_mwh).sum())

    @property
    def max_line_loading(self) -> float | None:
        """Largest ``|p0| / s_max`` over rated branches and snapshots; ``None`` when no
        branch is rated (MATPOWER's ``case300``, say)."""
        loading = self.branches_loading.to_numpy()
        rated = loading[:, np.isfinite(self.branch_s_max_mw)] if loading.size else loading
        return float(rated.max()) if rated.size else None

    def summary(self) -> dict[str, Any]:
        """The summary printed by ``spillway plan --json`` (keys: :data:`SUMMARY_KEYS`)."""
        before, after = self._curtailment_mwh_before_after
        return {
            "status": str(self.status),
            "mode": str(self.mode),
            "objective": self.objective,
            "mining_mwh": self.mining_mwh,
            "mining_mwh_by_site": self.mining_mwh_by_site,
            "mining_p_nom_opt_by_site": self.mining_p_nom_opt_by_site,
            "curtailment_mwh_before": float(sum(before.values())),
            "curtailment_mwh_after": float(sum(after.values())),
            "max_line_loading": self.max_line_loading,
            # HiGHS's relative gap of the mining solve when it is a MILP (unit
            # commitment, rig blocks); None for an LP
            "mip_gap": self.stats.get("mip_gap"),
            "timings": {
                k: self.timings.get(k, 0.0) for k in ("read_s", "build_s", "solve_s", "total_s")
            },
        }

    def details(self) -> dict[str, Any]:
        """Totals beyond the summary: by carrier, by source, CO2, solve statistics,
        (for a plan with :attr:`topology`) ``mining_mwh_by_site_and_source``:
        ``{site: {source: MWh}}``, see :attr:`mining_mwh_by_site_and_source`, and (with
        the sites' values) ``mining_revenue`` and ``mining_revenue_by_site``
        (currency, :attr:`mining_revenue_by_site`)."""
        before, after = self._curtailment_mwh_before_after
        out: dict[str, Any] = {
            "objective_base": self.objective_base,
            "termination": self.termination,
            "curtailment_mwh_before_by_carrier": dict(before),
            "curtailment_mwh_after_by_carrier": dict(after),
            "mining_mwh_by_source": self.mining_mwh_by_source,
            "mining_co2_t": self.mining_co2_t,
            "global_constraints_mu": dict(self.global_constraints_mu),
            "stats": self.stats,
        }
        revenue = self.mining_revenue_by_site
        if revenue is not None:
            out["mining_revenue"] = float(sum(revenue.values()))
            out["mining_revenue_by_site"] = revenue
        if self.topology is not None:
            out["mining_mwh_by_site_and_source"] = self.mining_mwh_by_site_and_source
        return out

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write the tables in PyPSA's result naming, ``summary.json`` and ``details.json``.

        Besides the results (``generators-p.csv``, ...) it writes the base plan's
        curtailment, spill and branch loading (``generators-curtailment_base.csv``,
        ``storage_units-spill_base.csv``, ``lines-loading_base.csv``,
        ``transformers-loading_base.csv``) and the :attr:`static` scenario tables, so
        that ``spillway report`` can draw the plan without the scenario.

        A plan with :attr:`topology` also gets ``mining_sites-sources.csv``, the MW
        each site draws from each plant or ``grid`` per snapshot (network-traced,
        :meth:`mining_sources_mw`), in long form (:meth:`mining_sources_table_mw`)::

            snapshot,site,source,carrier,p_mw
            t0,site_b,wind,wind,30.0
            t0,site_b,grid,grid,70.0

        (``pandas.read_csv(...).pivot_table(index="snapshot", columns=["site",
        "source"], values="p_mw")`` gives PyPSA's wide shape back), and
        ``details.json`` the per-site totals ``mining_mwh_by_site_and_source``.

        Returns
        -------
        list[pathlib.Path]
            The files written.

        Raises
        ------
        FileExistsError
            ``out_dir`` holds a scenario (``buses.csv``): its ``generators.csv``,
            ``snapshots.csv`` and ``mining_sites.csv`` would be overwritten.
        """
        out = Path(out_dir)
        if (out / "buses.csv").exists():
            raise FileExistsError(
                f"{out}: holds a scenario (buses.csv) whose tables a plan would overwrite; "
                "write the plan to another directory"
            )
        out.mkdir(parents=True, exist_ok=True)
        p = self.plan
        tables: dict[str, pd.DataFrame] = {
            "generators-p": p.generators_p,
            "generators-curtailment": self.curtailment_mw(p),
            "generators-p_base": self.base.generators_p,
            "lines-p0": self.lines_p0,
            "transformers-p0": self.transformers_p0,
            "lines-mu_upper": self._kind(self.branches_mu_upper, "line"),
            "lines-mu_lower": self._kind(self.branches_mu_lower, "line"),
            "transformers-mu_upper": self._kind(self.branches_mu_upper, "transformer"),
            "transformers-mu_lower": self._kind(self.branches_mu_lower, "transformer"),
            "lines-loading": self._kind(self.branches_loading, "line"),
            "transformers-loading": self._kind(self.branches_loading, "transformer"),
            "lines-loading_base": self._kind(self.branches_loading_of(self.base), "line"),
            "transformers-loading_base": self._kind(
                self.branches_loading_of(self.base), "transformer"
            ),
            "storage_units-p": p.storage_units_p,
            "storage_units-p_base": self.base.storage_units_p,
            "storage_units-state_of_charge": p.storage_units_state_of_charge,
            "storage_units-spill": p.storage_units_spill,
            "buses-marginal_price": self.buses_marginal_price,
            "mining_sites-p": p.mining_sites_p,
            "generators-curtailment_base": self.curtailment_mw(self.base),
            "storage_units-spill_base": self.base.storage_units_spill,
        }
        if len(p.links_p0.columns):
            tables["links-p0"] = p.links_p0
            tables["links-p1"] = -p.links_p0 * self.links_efficiency
        if len(p.generators_status.columns):
            tables["generators-status"] = p.generators_status
        if len(p.stores_p.columns):
            tables["stores-p"] = p.stores_p
            tables["stores-e"] = p.stores_e
        written = []
        for stem, attr, sizes in self.capacity_tables():
            path = out / f"{stem}-{attr}.csv"
            sizes.rename(attr).to_frame().to_csv(path, index_label="name")
            written.append(path)
        for name, frame in tables.items():
            path = out / f"{name}.csv"
            frame.to_csv(path, index_label="snapshot")
            written.append(path)
        if self.topology is not None:  # an untraceable plan writes no sources table
            path = out / "mining_sites-sources.csv"
            self.mining_sources_table_mw().to_csv(path, index=False)
            written.append(path)
        for name, frame in self._static_with_sizes().items():
            path = out / f"{name}.csv"
            frame.to_csv(path, index_label=cast("str | None", frame.index.name))
            written.append(path)
        for name, obj in (("summary", self.summary()), ("details", self.details())):
            path = out / f"{name}.json"
            path.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")
            written.append(path)
        return written

    def _static_with_sizes(self) -> dict[str, pd.DataFrame]:
        """:attr:`static`, with each extendable mining site's ``p_nom`` its planned size
        (``p_nom_opt``; ``p_nom_extendable`` marks them), so that the plan directory's
        readers (``spillway report``: capacity lines, the map's site markers) show the
        sizes the plan chose."""
        sizes = self.mining_p_nom_opt_by_site
        sites = self.static.get("mining_sites")
        if not sizes or sites is None:
            return self.static
        sites = sites.copy()
        sites["p_nom_extendable"] = [str(n) in sizes for n in sites.index]
        opt = pd.Series(sizes, dtype=float).reindex([str(n) for n in sites.index])
        sites["p_nom_opt"] = opt.to_numpy()
        sites["p_nom"] = np.where(sites["p_nom_extendable"], opt.to_numpy(), sites["p_nom"])
        return {**self.static, "mining_sites": sites}


def frame(values: np.ndarray, data: GridData, columns: tuple[str, ...]) -> pd.DataFrame:
    """A ``(T, n)`` array as a frame indexed by snapshot name."""
    return pd.DataFrame(
        np.asarray(values, dtype=float).reshape(data.n_snapshots, len(columns)),
        index=pd.Index(data.snapshots.names, name="snapshot"),
        columns=pd.Index(columns, dtype=object),
    )


def static_tables(data: GridData) -> dict[str, pd.DataFrame]:
    """The scenario facts a plan directory carries for reading it on its own.

    ``snapshots.csv`` (``weightings`` for the objective, ``generators`` for energy,
    hours), ``generators.csv`` (``bus``, ``carrier``, ``p_nom`` MW, ``renewable``,
    ``co2_t_per_mwh`` per MWh generated, ``marginal_cost`` currency per MWh),
    ``storage_units.csv`` (``bus``, ``carrier``, ``p_nom`` MW), ``mining_sites.csv``
    (``bus``, ``p_nom`` MW, ``p_min_pu``), ``mining_sites-value.csv`` (currency
    per MWh, per snapshot), and the network the report maps: ``network-buses.csv``
    (``v_nom`` kV, ``x``, ``y``: the scenario's coordinates, blank where it has
    none) and ``network-branches.csv`` (one row per line or transformer: ``kind``,
    ``bus0``, ``bus1``, ``s_max_mw``, blank for an unrated branch). The network
    tables are not named ``buses.csv``/``lines.csv``: a plan directory must not read
    as a scenario. Column names follow PyPSA's where it has one.

    Parameters
    ----------
    data:
        The scenario that was planned.

    Returns
    -------
    dict[str, pandas.DataFrame]
        File stem -> table (index named ``name`` or ``snapshot``).
    """
    bus_names = np.asarray(data.buses.names, dtype=object)
    g, ms, sn = data.generators, data.mining_sites, data.snapshots
    su = data.storage_units
    snapshots = pd.DataFrame(
        {"weightings": sn.weight_objective, "generators": sn.weight_generators},
        index=pd.Index(sn.names, name="snapshot"),
    )
    generators = pd.DataFrame(
        {
            "bus": bus_names[g.bus] if len(g) else [],
            "carrier": list(g.carrier),
            "p_nom": g.p_nom_mw,
            "renewable": np.asarray(g.renewable, dtype=bool),
            "co2_t_per_mwh": g.co2_t_per_mwh,
            "marginal_cost": g.marginal_cost,
        },
        index=pd.Index(g.names, name="name"),
    )
    sites = pd.DataFrame(
        {
            "bus": bus_names[ms.bus] if len(ms) else [],
            "p_nom": ms.p_nom_mw,
            "p_min_pu": ms.p_min_pu,
        },
        index=pd.Index(ms.names, name="name"),
    )
    value = frame(ms.value_per_mwh, data, ms.names)
    storage_units = pd.DataFrame(
        {
            "bus": bus_names[su.bus] if len(su) else [],
            "carrier": list(su.carrier),
            "p_nom": su.p_nom_mw,
        },
        index=pd.Index(su.names, name="name"),
    )
    return {
        "snapshots": snapshots,
        "generators": generators,
        "storage_units": storage_units,
        "mining_sites": sites,
        "mining_sites-value": value,
        **_network_tables(data),
    }


def _network_tables(data: GridData) -> dict[str, pd.DataFrame]:
    """``network-buses`` and ``network-branches`` (see :func:`static_tables`)."""
    b, br = data.buses, data.branches
    bus_names = np.asarray(b.names, dtype=object)
    n = len(b)
    nan = np.full(n, np.nan)
    buses = pd.DataFrame(
        {
            "v_nom": b.v_nom_kv,
            "x": b.x if b.x is not None else nan,
            "y": b.y if b.y is not None else nan,
        },
        index=pd.Index(b.names, name="name"),
    )
    s_max = np.asarray(br.s_max_mw, dtype=float)
    branches = pd.DataFrame(
        {
            "kind": list(br.kind),
            "bus0": bus_names[br.bus0] if len(br) else [],
            "bus1": bus_names[br.bus1] if len(br) else [],
            "s_max_mw": np.where(np.isfinite(s_max), s_max, np.nan),
        },
        index=pd.Index(br.names, name="name"),
    )
    return {"network-buses": buses, "network-branches": branches}
