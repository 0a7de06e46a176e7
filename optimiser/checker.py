"""An independent plan checker: re-derive the physics from the plan's numbers.

It shares no code with the model. From the plan's dispatch it recomputes the
nodal injections, the flows they cause through a PTDF (power transfer
distribution factors of the DC network), and checks:

- generator, link, storage and mining-site bounds (against the plan's capacities
  where they are extendable, each within its ``*_nom_min``/``*_nom_max``); site
  ramps; rig blocks; fixed states of charge;
- each ``primary_energy`` global constraint (the CO2 budget) from the dispatch;
- the storage state-of-charge recursion and the stores' energy balance;
- energy balance per island (Σ injections = 0) and flows equal to PTDF · P;
- every branch within ``s_nom * s_max_pu``;
- for ``curtailment-only``: conventional output and storage charge equal the base
  plan's, storage discharge no lower, stores' exchange unchanged, and mining no more
  than the curtailment and spill it removed (less any change in link losses), per
  snapshot.

PTDF: with ``A`` the branch-bus incidence (+1 at bus0, -1 at bus1), ``D = diag(b)``,
``B = Aᵀ D A`` and one slack bus per island removed (subscript r),
``PTDF = D A_r B_r⁻¹`` and flows ``F = PTDF (P + Aᵀ D φ) - D φ`` for phase shifts ``φ``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from optimiser.data import bus_load_mw
from optimiser.labels import PlanMode

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from optimiser.data import GlobalConstraint, GridData
    from optimiser.result import Dispatch, PlanResult

__all__ = ["Violation", "check_plan", "ptdf"]


@dataclass(frozen=True)
class Violation:
    """One broken rule: which check, where (component and snapshot), by how much."""

    check: str
    where: str
    value: float
    limit: float

    def __str__(self) -> str:
        return f"{self.check} at {self.where}: {self.value:.6g} vs {self.limit:.6g}"


def ptdf(data: GridData) -> NDArray[np.float64]:
    """Dense PTDF matrix ``(n_branches, n_buses)``; slack columns are zero.

    Returns
    -------
    numpy.ndarray
        ``F = PTDF @ P`` for balanced injections ``P`` (MW) and no phase shifts.
    """
    br, n = data.branches, len(data.buses)
    n_l = len(br)
    a = sp.csr_matrix(
        (
            np.r_[np.ones(n_l), -np.ones(n_l)],
            (np.r_[np.arange(n_l), np.arange(n_l)], np.r_[br.bus0, br.bus1]),
        ),
        shape=(n_l, n),
    )
    d = sp.diags(np.asarray(br.b_mw_per_rad))
    keep = np.flatnonzero(~np.asarray(data.buses.slack))
    a_r = a[:, keep]
    b_r = (a_r.T @ d @ a_r).tocsc()
    out = np.zeros((n_l, n))
    if len(keep) and n_l:
        lu = splu(b_r)
        # B_r X = (D A_r)ᵀ  ->  PTDF_r = Xᵀ
        rhs = (d @ a_r).T.toarray()
        out[:, keep] = lu.solve(rhs).T
    return out


class _Checker:
    def __init__(self, data: GridData, tol_mw: float) -> None:
        self.data = data
        self.ptdf = ptdf(data)
        self.islands = _islands(data)
        self.tol = tol_mw
        self.found: list[Violation] = []
        self.snaps = data.snapshots.names

    def bound(
        self,
        check: str,
        names: tuple[str, ...],
        values: NDArray[np.float64],
        lower: NDArray[np.float64] | float,
        upper: NDArray[np.float64] | float,
    ) -> None:
        lo = np.broadcast_to(lower, values.shape)
        hi = np.broadcast_to(upper, values.shape)
        scale = self.tol * np.maximum(1.0, np.abs(hi))
        for t, j in np.argwhere(values < lo - scale)[:20]:
            self.add(check + " below lower bound", names[j], t, values[t, j], lo[t, j])
        for t, j in np.argwhere(values > hi + scale)[:20]:
            self.add(check + " above upper bound", names[j], t, values[t, j], hi[t, j])

    def add(self, check: str, name: str, t: int, value: float, limit: float) -> None:
        self.found.append(
            Violation(check, f"{name!r} @ {self.snaps[int(t)]}", float(value), float(limit))
        )

    def capacity(
        self,
        label: str,
        disp: Dispatch,
        family: str,
        names: tuple[str, ...],
        nominal: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """``nominal`` with each extendable component's capacity taken from the plan,
        checked against ``[*_nom_min, *_nom_max]``."""
        out = np.array(nominal, dtype=float)
        e = self.data.expansion_of(family)
        if not e.any:
            return out
        sizes = disp.capacities.get(family)
        if sizes is None:
            self.found.append(Violation(f"{label}: {family} capacities missing", "-", 0.0, 0.0))
            return out
        pos = {n: i for i, n in enumerate(names)}
        for n, v in sizes.items():
            i = pos[str(n)]
            out[i] = float(v)
            lo, hi = e.nom_min[i], e.nom_max[i]
            if v < lo - self.tol * max(1.0, lo) or v > hi + self.tol * max(1.0, hi):
                self.found.append(Violation(f"{label}: capacity out of range", str(n), v, hi))
        return out

    def dispatch(
        self, label: str, disp: Dispatch, shift_flows: NDArray[np.float64], p: NDArray[np.float64]
    ) -> None:
        d = self.data
        g, su, ms, br = d.generators, d.storage_units, d.mining_sites, d.branches
        gp = disp.generators_p.to_numpy()
        g_nom = self.capacity(label, disp, "generators", g.names, g.p_nom_mw)
        g_lo = g.p_min_pu * g_nom
        if d.commitment is not None:  # off is 0 MW; on-bounds: see `commitment`
            g_lo = np.where(d.commitment.committable, np.minimum(g_lo, 0.0), g_lo)
        self.bound(f"{label}: generator p", g.names, gp, g_lo, g.p_max_pu * g_nom)
        lk = d.all_links
        if len(lk):
            k_nom = self.capacity(label, disp, "links", lk.names, lk.p_nom_mw)
            kp = disp.links_p0.to_numpy()
            self.bound(f"{label}: link p0", lk.names, kp, lk.p_min_pu * k_nom, lk.p_max_pu * k_nom)
        u_nom = self.capacity(label, disp, "storage_units", su.names, su.p_nom_mw)
        dis = disp.storage_units_p_dispatch.to_numpy()
        sto = disp.storage_units_p_store.to_numpy()
        soc = disp.storage_units_state_of_charge.to_numpy()
        spill = disp.storage_units_spill.to_numpy()
        self.bound(f"{label}: storage dispatch", su.names, dis, 0.0, su.p_max_pu * u_nom)
        self.bound(f"{label}: storage store", su.names, sto, 0.0, -su.p_min_pu * u_nom)
        self.bound(f"{label}: storage soc", su.names, soc, 0.0, su.max_hours * u_nom)
        if su.state_of_charge_set_mwh is not None:
            fixed = su.state_of_charge_set_mwh
            on = ~np.isnan(fixed)
            self.bound(
                f"{label}: storage soc set",
                su.names,
                np.where(on, soc, 0.0),
                np.where(on, fixed, 0.0),
                np.where(on, fixed, 0.0),
            )
        self.bound(f"{label}: storage spill", su.names, spill, 0.0, su.inflow_mw)
        h = d.snapshots.weight_stores
        for t in range(d.n_snapshots):
            keep = (1 - su.standing_loss) ** h[t]
            if t > 0:
                prev = keep * soc[t - 1]
            else:  # no standing loss on the initial state (PyPSA's)
                prev = np.where(
                    su.cyclic_state_of_charge, keep * soc[-1], su.state_of_charge_initial_mwh
                )
            expect = prev + h[t] * (
                su.efficiency_store * sto[t]
                - dis[t] / su.efficiency_dispatch
                + su.inflow_mw[t]
                - spill[t]
            )
            for j in np.flatnonzero(np.abs(soc[t] - expect) > self.tol * np.maximum(1, expect)):
                self.add(f"{label}: storage soc balance", su.names[j], t, soc[t, j], expect[j])
        self.stores(label, disp)
        self.commitment(label, disp)
        mp = disp.mining_sites_p.to_numpy()
        m_nom = self.capacity(label, disp, "mining_sites", ms.names, ms.p_nom_mw)
        self.bound(
            f"{label}: mining p",
            ms.names,
            mp,
            ms.p_min_pu * m_nom if label == "plan" else 0.0,
            m_nom if label == "plan" else 0.0,
        )
        # balance per island and flows from the PTDF
        flows = disp.branches_p0.to_numpy()
        for t in range(d.n_snapshots):
            for isl in self.islands:
                mismatch = p[t, isl].sum()
                if abs(mismatch) > self.tol * max(1.0, np.abs(p[t, isl]).sum()):
                    self.add(
                        f"{label}: island energy balance",
                        d.buses.names[int(isl[0])],
                        t,
                        mismatch,
                        0.0,
                    )
        f_ptdf = p @ self.ptdf.T + shift_flows
        diff = np.abs(f_ptdf - flows)
        for t, j in np.argwhere(diff > self.tol * np.maximum(1.0, np.abs(f_ptdf)))[:20]:
            self.add(f"{label}: flow != PTDF·P", br.keys[j], t, flows[t, j], f_ptdf[t, j])
        s_max = np.array(br.s_max_mw, dtype=float)
        if d.expansion_of("branches").any:
            s_nom = self.capacity(label, disp, "branches", br.keys, np.zeros(len(br)))
            ext = d.expansion_of("branches").extendable
            pu = br.s_max_pu if br.s_max_pu is not None else np.ones(len(br))
            s_max[ext] = (pu * s_nom)[ext]
        lim = np.broadcast_to(s_max, f_ptdf.shape)
        for t, j in np.argwhere(np.abs(f_ptdf) > lim * (1 + self.tol) + self.tol)[:20]:
            self.add(f"{label}: branch limit", br.keys[j], t, f_ptdf[t, j], lim[t, j])

    def stores(self, label: str, disp: Dispatch) -> None:
        """Store levels within ``e_min_pu``/``e_max_pu`` of their capacity, and the
        energy balance ``e_t = (1 - loss)^h e_t-1 - h p_t`` (``e_-1``: ``e_initial``,
        no loss applied, or the last level when cyclic)."""
        st = self.data.all_stores
        if not len(st):
            return
        e_nom = self.capacity(label, disp, "stores", st.names, st.e_nom_mwh)
        e = disp.stores_e.to_numpy()
        q = disp.stores_p.to_numpy()
        self.bound(f"{label}: store e", st.names, e, st.e_min_pu * e_nom, st.e_max_pu * e_nom)
        h = self.data.snapshots.weight_stores
        for t in range(self.data.n_snapshots):
            keep = (1 - st.standing_loss) ** h[t]
            if t > 0:
                prev = keep * e[t - 1]
            else:
                prev = np.where(st.e_cyclic, keep * e[-1], st.e_initial_mwh)
            expect = prev - h[t] * q[t]
            bad = np.abs(e[t] - expect) > self.tol * np.maximum(1, np.abs(expect))
            for j in np.flatnonzero(bad):
                self.add(f"{label}: store energy balance", st.names[j], t, e[t, j], expect[j])

    def commitment(self, label: str, disp: Dispatch) -> None:
        """Committable generators: status 0 or 1, output within ``p_min_pu``/``p_max_pu``
        of ``p_nom`` while on and 0 while off, and every start (stop) followed by at
        least ``min_up_time`` (``min_down_time``) snapshots on (off), counting the
        status before the first snapshot from ``up_time_before``/``down_time_before``."""
        c, g = self.data.commitment, self.data.generators
        if c is None:
            return
        pos = {n: i for i, n in enumerate(g.names)}
        gp = disp.generators_p
        for name in disp.generators_status.columns:
            i = pos[str(name)]
            u = disp.generators_status[name].to_numpy()
            if np.any(np.abs(u - np.round(u)) > 1e-6) or np.any((u < -1e-6) | (u > 1 + 1e-6)):
                self.found.append(Violation(f"{label}: status not 0/1", str(name), 0.0, 1.0))
                continue
            on = np.round(u).astype(int)
            p = gp[name].to_numpy()
            lo = g.p_min_pu[:, i] * g.p_nom_mw[i] * on
            hi = g.p_max_pu[:, i] * g.p_nom_mw[i] * on
            tol = self.tol * max(1.0, g.p_nom_mw[i])
            for t in np.flatnonzero((p < lo - tol) | (p > hi + tol)):
                self.add(f"{label}: committed output", str(name), int(t), p[t], hi[t])
            # the status before t0: off for down_time_before snapshots (if > 0), else
            # on for up_time_before snapshots, and the other way before that
            n_before = max(int(c.min_up_time[i]), int(c.min_down_time[i]), 1) + 1
            lags = np.arange(n_before, 0, -1)
            if c.down_time_before[i] > 0:
                before = (lags > c.down_time_before[i]).astype(int)
            else:
                before = (lags <= c.up_time_before[i]).astype(int)
            seq = np.r_[before, on].tolist()
            for k in range(1, len(seq)):
                if seq[k] == seq[k - 1]:
                    continue
                need = int(c.min_up_time[i] if seq[k] else c.min_down_time[i])
                run = seq[k : k + need]
                if any(v != seq[k] for v in run):
                    kind = "min_up_time" if seq[k] else "min_down_time"
                    at = max(k - n_before, 0)
                    self.add(f"{label}: {kind}", str(name), at, float(len(run)), need)

    def injections(self, disp: Dispatch) -> NDArray[np.float64]:
        d = self.data
        n = len(d.buses)
        p = -bus_load_mw(d)

        def add(values: NDArray[np.float64], bus: NDArray[np.int64], sign: float) -> None:
            if values.shape[1]:
                np.add.at(p.T, bus, sign * values.T)

        add(disp.generators_p.to_numpy(), d.generators.bus, 1.0)
        add(disp.storage_units_p_dispatch.to_numpy(), d.storage_units.bus, 1.0)
        add(disp.storage_units_p_store.to_numpy(), d.storage_units.bus, -1.0)
        add(disp.mining_sites_p.to_numpy(), d.mining_sites.bus, -1.0)
        if len(d.all_stores):
            add(disp.stores_p.to_numpy(), d.all_stores.bus, 1.0)
        lk = d.all_links
        if len(lk):
            k = disp.links_p0.to_numpy()
            add(k, lk.bus0, -1.0)
            add(k * lk.efficiency, lk.bus1, 1.0)
            for bus, eff in zip(lk.bus_extra, lk.efficiency_extra, strict=True):
                on = bus >= 0
                add((k * eff)[:, on], bus[on], 1.0)
        assert p.shape[1] == n
        return p

    def global_constraints(self, label: str, disp: Dispatch) -> None:
        """Each ``primary_energy`` limit (CO2 budget), recomputed from the dispatch."""
        d = self.data
        g, su = d.generators, d.storage_units
        soc = disp.storage_units_state_of_charge.to_numpy()
        for gc in d.global_constraints:
            if gc.kind != "primary_energy":
                self.transmission_limit(label, disp, gc)
                continue
            emitted = float(
                d.snapshots.weight_generators @ (disp.generators_p.to_numpy() @ g.co2_t_per_mwh)
            )
            for i, c in enumerate(su.carrier):
                e = d.carrier_co2.get(c, 0.0)
                if e and not su.cyclic_state_of_charge[i]:
                    emitted += e * (su.state_of_charge_initial_mwh[i] - soc[-1, i])
            st = d.all_stores
            level = disp.stores_e.to_numpy()
            for i, c in enumerate(st.carrier):
                e = d.carrier_co2.get(c, 0.0)
                if e and not st.e_cyclic[i]:
                    emitted += e * (st.e_initial_mwh[i] - level[-1, i])
            slack = self.tol * max(1.0, abs(gc.constant))
            broken = (
                (gc.sense == "<=" and emitted > gc.constant + slack)
                or (gc.sense == ">=" and emitted < gc.constant - slack)
                or (gc.sense == "==" and abs(emitted - gc.constant) > slack)
            )
            if broken:
                self.found.append(Violation(f"{label}: {gc.kind}", gc.name, emitted, gc.constant))

    def transmission_limit(self, label: str, disp: Dispatch, gc: GlobalConstraint) -> None:
        """A transmission volume (Σ length · capacity) or expansion cost (Σ capital_cost ·
        capacity) limit over the extendable lines and links of the named carriers,
        recomputed from the plan's capacities."""
        d = self.data
        wanted = {c.strip() for c in gc.carrier_attribute.strip("[]()").split(",")}
        total = 0.0
        for family, keys, kinds in (
            ("branches", d.branches.keys, d.branches.kind),
            ("links", d.all_links.names, ("link",) * len(d.all_links)),
        ):
            e = d.expansion_of(family)
            sizes = disp.capacities.get(family)
            if sizes is None:
                continue
            carriers = e.carrier or ("",) * len(e)
            weight = (
                e.length_km
                if gc.kind == "transmission_volume_expansion_limit"
                else (e.capital_cost)
            )
            for i, k in enumerate(keys):
                if e.extendable[i] and kinds[i] != "transformer" and carriers[i] in wanted:
                    total += float(weight[i]) * float(sizes[k])
        slack = self.tol * max(1.0, abs(gc.constant))
        if (
            (gc.sense == "<=" and total > gc.constant + slack)
            or (gc.sense == ">=" and total < gc.constant - slack)
            or (gc.sense == "==" and abs(total - gc.constant) > slack)
        ):
            self.found.append(Violation(f"{label}: {gc.kind}", gc.name, total, gc.constant))


def check_plan(data: GridData, result: PlanResult, *, tol: float = 1e-5) -> list[Violation]:
    """Check a plan (and its base plan) against the physics and the mode's promise.

    Parameters
    ----------
    data:
        The scenario the plan was made for.
    result:
        The plan.
    tol:
        Relative tolerance (absolute below 1 MW).

    Returns
    -------
    list[Violation]
        Empty when the plan is valid.
    """
    c = _Checker(data, tol)
    br = data.branches
    # phase shifts act like injections A^T D φ at the branch ends, minus D φ on the branch
    n = len(data.buses)
    dphi = np.asarray(br.b_mw_per_rad) * np.asarray(br.shift_rad)
    inj_shift = np.zeros(n)
    np.add.at(inj_shift, br.bus0, dphi)
    np.add.at(inj_shift, br.bus1, -dphi)
    shift_flows = c.ptdf @ inj_shift - dphi
    for label, disp in (("base", result.base), ("plan", result.plan)):
        c.dispatch(label, disp, shift_flows[None, :], c.injections(disp))
        c.global_constraints(label, disp)
    ms = data.mining_sites
    mp = result.plan.mining_sites_p.to_numpy()
    for j in range(len(ms)):
        cap = ms.p_nom_mw[j]
        for field, r, sign in (
            ("ramp up", ms.ramp_limit_up[j], 1.0),
            ("ramp down", ms.ramp_limit_down[j], -1.0),
        ):
            if np.isnan(r):
                continue
            step = sign * np.diff(mp[:, j])
            for t in np.flatnonzero(step > r * cap + tol * max(1.0, cap)):
                c.add(f"plan: mining {field}", ms.names[j], int(t) + 1, step[t], r * cap)
        block = ms.rig_block_mw[j]
        if result.stats.get("is_mip") and not np.isnan(block):
            frac = mp[:, j] / block - np.round(mp[:, j] / block)
            for t in np.flatnonzero(np.abs(frac) > 1e-6):
                c.add("plan: rig blocks", ms.names[j], int(t), mp[t, j], block)
    for label, disp in (("base", result.base), ("plan", result.plan)):
        _check_ramps(c, label, disp)
    if result.mode == PlanMode.CURTAILMENT_ONLY:
        _check_curtailment_only(c, data, result)
    return c.found


def _check_ramps(c: _Checker, label: str, disp: Dispatch) -> None:
    """Generator and link ramp limits: each step (and the first against ``p_init`` where
    given) within ``ramp_limit_up/down`` times the capacity (the plan's, if extendable)."""
    d = c.data
    for family, table, frame in (
        ("generators", d.generators, disp.generators_p),
        ("links", d.all_links, disp.links_p0),
    ):
        r = d.ramps.get(family)
        if r is None:
            continue
        nom = c.capacity(label, disp, family, table.names, table.p_nom_mw)
        x = frame.to_numpy()
        prev = np.vstack([r.p_init_mw[None, :], x[:-1]])  # nan before t0: no limit
        step = x - prev
        for kind, limit, sign in (("ramp up", r.up, 1.0), ("ramp down", r.down, -1.0)):
            bound = limit * nom
            with np.errstate(invalid="ignore"):  # nan: no limit, or no p_init before t0
                over = sign * step > bound + c.tol * np.maximum(1.0, nom)
            for t, j in np.argwhere(over & ~np.isnan(step) & ~np.isnan(limit))[:20]:
                c.add(f"{label}: {family} {kind}", table.names[j], int(t), step[t, j], bound[j])


def _check_curtailment_only(c: _Checker, data: GridData, result: PlanResult) -> None:
    g, su = data.generators, data.storage_units
    conv = ~np.asarray(g.renewable)
    gp, g0 = result.plan.generators_p.to_numpy(), result.base.generators_p.to_numpy()
    diff = np.abs(gp - g0)
    for t, j in np.argwhere((diff > c.tol * np.maximum(1.0, np.abs(g0))) & conv[None, :])[:20]:
        c.add("curtailment-only: conventional output changed", g.names[j], t, gp[t, j], g0[t, j])
    s, s0 = (
        result.plan.storage_units_p_store.to_numpy(),
        result.base.storage_units_p_store.to_numpy(),
    )
    for t, j in np.argwhere(np.abs(s - s0) > c.tol * np.maximum(1.0, np.abs(s0)))[:20]:
        c.add("curtailment-only: storage charge changed", su.names[j], t, s[t, j], s0[t, j])
    dd, d0 = (
        result.plan.storage_units_p_dispatch.to_numpy(),
        result.base.storage_units_p_dispatch.to_numpy(),
    )
    for t, j in np.argwhere(dd < d0 - c.tol * np.maximum(1.0, d0))[:20]:
        c.add("curtailment-only: storage discharge fell", su.names[j], t, dd[t, j], d0[t, j])

    st = data.all_stores
    if len(st):
        q, q0 = result.plan.stores_p.to_numpy(), result.base.stores_p.to_numpy()
        for t, j in np.argwhere(np.abs(q - q0) > c.tol * np.maximum(1.0, np.abs(q0)))[:20]:
            c.add("curtailment-only: store exchange changed", st.names[j], t, q[t, j], q0[t, j])

    # Σ_s M_st = Σ_RES ΔP + Σ_u ΔD - Δ(link losses)  (balance; conventional output,
    # storage charge and stores are pinned) and  Σ_RES ΔP = curtailment removed
    mining = result.plan.mining_sites_p.to_numpy().sum(axis=1)
    removed = result.curtailment_mw(result.base).to_numpy().sum(axis=1) - result.curtailment_mw(
        result.plan
    ).to_numpy().sum(axis=1)
    extra_discharge = (dd - d0).sum(axis=1)
    lk = data.all_links
    loss_change = np.zeros(data.n_snapshots)
    if len(lk):
        # a link loses (1 - η - Σ η_extra) of what it takes at bus0
        kept = np.array(lk.efficiency, dtype=float)
        for bus, eff in zip(lk.bus_extra, lk.efficiency_extra, strict=True):
            kept += np.where(bus >= 0, eff, 0.0)
        dk = result.plan.links_p0.to_numpy() - result.base.links_p0.to_numpy()
        loss_change = dk @ (1.0 - kept)
    fed = removed + extra_discharge - loss_change
    for t in np.flatnonzero(np.abs(mining - fed) > c.tol * np.maximum(1.0, mining)):
        c.add(
            "curtailment-only: mining not fed by curtailed energy",
            "all sites",
            int(t),
            mining[t],
            fed[t],
        )
    h = data.snapshots.weight_stores
    spill_saved = float(
        h
        @ (
            result.base.storage_units_spill.to_numpy().sum(axis=1)
            - result.plan.storage_units_spill.to_numpy().sum(axis=1)
        )
    )
    extra_total = float((extra_discharge * data.snapshots.weight_stores).sum())
    if extra_total > spill_saved * float(np.max(su.efficiency_dispatch, initial=1.0)) + c.tol * max(
        1.0, extra_total
    ):
        c.add(
            "curtailment-only: extra discharge exceeds spill avoided",
            "all storage",
            0,
            extra_total,
            spill_saved,
        )


def _islands(data: GridData) -> list[NDArray[np.int64]]:
    from scipy.sparse.csgraph import connected_components

    n = len(data.buses)
    br = data.branches
    graph = sp.coo_matrix((np.ones(len(br)), (br.bus0, br.bus1)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return [np.flatnonzero(labels == k) for k in np.unique(labels)]
