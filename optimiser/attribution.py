"""Which plants feed each mining site: proportional sharing of the plan's change.

Per snapshot t the mining plan differs from the base plan (no mining) by a
change in injections, and since DC flows are linear the change in branch flows
``ΔF = F - F⁰`` is exactly the flow of that change (``ΔF = PTDF · ΔP``; phase
shifts cancel). A lossless DC flow of one set of injections runs from higher to
lower angle, so it has no cycles, and Bialek's proportional sharing principle
applies to it (J. Bialek, "Tracing the flow of electricity", IEE Proc. GTD 143(4),
1996; D. Kirschen, R. Allan, G. Strbac, "Contributions of individual generators
to loads and flows", IEEE Trans. Power Syst. 12(1), 1997):

    at every bus, the inflows mix in proportion to their size, and every outflow
    (and every withdrawal at the bus) carries that same mix.

Sources are the positive parts of the changes (a renewable plant absorbing
curtailment, a reservoir's extra discharge, conventional units and storage going
up), sinks the negative parts (mining sites, conventional units going down). At a
bus, local sinks take the bus's own sources first; only the net injection or
withdrawal enters the network. With ``s`` the net source and ``w`` the net
withdrawal per bus, the gross throughput ``P_j = s_j + Σ_i |ΔF_ij|`` (inflows from
buses i) solves the upstream tracing system::

    A_u P = s,   (A_u)_jj = 1,   (A_u)_ji = -|ΔF_ij| / P_i   for a flow i -> j

and the share of bus i's net source in bus j's withdrawal is
``[A_u⁻¹]_ji s_i / P_j``. All snapshots are solved at once (one block-diagonal
sparse LU); the right-hand sides are only the sink buses of interest.

symbol   meaning
ΔF_ij    change of flow from bus i to bus j (MW, > 0)
s_j      net positive change at bus j, fed into the network (MW)
w_j      net negative change at bus j, taken from the network (MW)
P_j      gross change of throughput at bus j (MW)

Degenerate cases: a snapshot without mining traces nothing; flows and changes
below :data:`NOISE_FRACTION` of the snapshot's largest are dropped as solver
noise; several sites at one bus share its supply pro rata to their mining; a bus
no flow reaches (``P_j = 0``) supplies its sinks from local sources only; a
closed circulation above even the coarsest threshold, which no DC flow has, makes
:func:`mining_sources_mw` fall back to a copper plate (every site takes the
system's mix, :func:`copper_plate_sinks_mw`) with a warning, so a plan never fails
over its attribution.
:func:`mining_sources_mw` labels the sources by plant (curtailed energy) or
:data:`GRID_SOURCE`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from optimiser.labels import GRID_SOURCE

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

__all__ = [
    "GRID_SOURCE",
    "TraceInputs",
    "copper_plate_sinks_mw",
    "mining_sources_mw",
    "trace_sinks_mw",
]

#: Changes below this fraction of the snapshot's largest change are solver noise
#: (HiGHS leaves ~1e-7 MW on pinned units): near-zero flows of either sign would
#: otherwise form spurious cycles. Kept small, because a genuine flow of a few mW
#: dropped here leaves part of a sink untraced (SciGRID-DE loses 4 kWh of 5 GWh at
#: 1e-6); if noise still closes a cycle, the trace retries 1000 times coarser.
NOISE_FRACTION = 1e-9
#: The coarsest threshold the retries reach before giving up.
NOISE_FRACTION_MAX = 1e-3


def trace_sinks_mw(
    n_buses: int,
    branch_bus0: NDArray[np.int64],
    branch_bus1: NDArray[np.int64],
    delta_flow_mw: NDArray[np.float64],
    source_bus: NDArray[np.int64],
    source_mw: NDArray[np.float64],
    sink_bus: NDArray[np.int64],
    sink_mw: NDArray[np.float64],
    *,
    n_traced: int | None = None,
    noise_fraction: float = NOISE_FRACTION,
) -> NDArray[np.float64]:
    """Trace each sink's withdrawal back to the sources (proportional sharing).

    Parameters
    ----------
    n_buses:
        Number of buses.
    branch_bus0, branch_bus1:
        ``(L,)`` bus indices of each branch's ends.
    delta_flow_mw:
        ``(T, L)`` change of flow leaving ``bus0`` (MW).
    source_bus, source_mw:
        ``(K,)`` bus of each source and ``(T, K)`` its positive change (MW).
    sink_bus, sink_mw:
        ``(S,)`` bus of each sink and ``(T, S)`` its withdrawal (MW, positive).
        Sinks one does not need traced (conventional units going down) still
        belong here: they take their share of the bus's supply.
    n_traced:
        Trace only the first ``n_traced`` sinks (default all); the others only
        take their share. Each traced sink's bus costs one sparse solve.

    Returns
    -------
    numpy.ndarray
        ``(T, n_traced, K)``: MW of sink s supplied by source k. A sink's row sums to its
        withdrawal, less any part that no traced flow reaches (solver noise).

    Raises
    ------
    ValueError
        Even the coarsest noise threshold leaves a cycle in the flow change.
    """
    while True:
        try:
            return _trace(
                n_buses,
                branch_bus0,
                branch_bus1,
                delta_flow_mw,
                source_bus,
                source_mw,
                sink_bus,
                sink_mw,
                len(sink_bus) if n_traced is None else n_traced,
                noise_fraction,
            )
        except RuntimeError as exc:  # SuperLU: "Factor is exactly singular" (a cycle)
            if noise_fraction >= NOISE_FRACTION_MAX:
                raise ValueError(f"flow change has a cycle above noise: {exc}") from exc
            noise_fraction *= 1e3


def copper_plate_sinks_mw(
    source_mw: NDArray[np.float64],
    sink_mw: NDArray[np.float64],
    *,
    n_traced: int | None = None,
) -> NDArray[np.float64]:
    """Proportional sharing with the network left out: every sink takes the system's mix.

    The fallback where :func:`trace_sinks_mw` cannot trace (a cycle above noise):
    the same principle on one bus, so sinks still add up to their withdrawal.

    Returns
    -------
    numpy.ndarray
        ``(T, n_traced, K)`` as :func:`trace_sinks_mw` returns.
    """
    n = sink_mw.shape[1] if n_traced is None else n_traced
    total_mw = source_mw.sum(axis=1, keepdims=True)
    mix = np.divide(source_mw, total_mw, out=np.zeros_like(source_mw), where=total_mw > 0)
    shared: NDArray[np.float64] = sink_mw[:, :n, None] * mix[:, None, :]
    return shared


def _trace(
    n_buses: int,
    branch_bus0: NDArray[np.int64],
    branch_bus1: NDArray[np.int64],
    delta_flow_mw: NDArray[np.float64],
    source_bus: NDArray[np.int64],
    source_mw: NDArray[np.float64],
    sink_bus: NDArray[np.int64],
    sink_mw: NDArray[np.float64],
    n_s: int,
    noise_fraction: float,
) -> NDArray[np.float64]:
    n_t = delta_flow_mw.shape[0]
    n_k = len(source_bus)
    out = np.zeros((n_t, n_s, n_k))
    if n_t == 0 or n_k == 0 or n_s == 0:
        return out
    scale = np.maximum.reduce(
        [
            np.abs(delta_flow_mw).max(axis=1, initial=0.0),
            source_mw.max(axis=1, initial=0.0),
            sink_mw.max(axis=1, initial=0.0),
        ]
    )
    tol = noise_fraction * np.maximum(1.0, scale)  # (T,)
    src_k = np.where(source_mw > tol[:, None], source_mw, 0.0)
    snk_s = np.where(sink_mw > tol[:, None], sink_mw, 0.0)
    flow = np.where(np.abs(delta_flow_mw) > tol[:, None], delta_flow_mw, 0.0)

    def per_bus(values: NDArray[np.float64], bus: NDArray[np.int64]) -> NDArray[np.float64]:
        acc = np.zeros((n_buses, n_t))
        np.add.at(acc, bus, values.T)  # several components may share a bus
        return acc.T

    src_b = per_bus(src_k, source_bus)  # (T, N) local supply
    dem_b = per_bus(snk_s, sink_bus)  # (T, N) local demand
    local_b = np.minimum(src_b, dem_b)  # served at the bus itself
    net_src_b = src_b - local_b  # s: enters the network
    net_dem_b = dem_b - local_b  # w: leaves the network

    # Directed flows i -> j over all snapshots, in block-diagonal bus numbering.
    t_idx, l_idx = np.nonzero(flow)
    f = flow[t_idx, l_idx]
    frm = np.where(f > 0, branch_bus0[l_idx], branch_bus1[l_idx])
    to = np.where(f > 0, branch_bus1[l_idx], branch_bus0[l_idx])
    size = np.abs(f)
    inflow_b = np.zeros((n_t, n_buses))
    np.add.at(inflow_b, (t_idx, to), size)
    gross_b = net_src_b + inflow_b  # P (T, N)
    gross_from = gross_b[t_idx, frm]
    keep = gross_from > 0  # a bus with no supply cannot send on (imbalance noise)
    rows = t_idx[keep] * n_buses + to[keep]
    cols = t_idx[keep] * n_buses + frm[keep]
    n_all = n_t * n_buses
    a_u = sp.identity(n_all, format="csc") - sp.csc_matrix(
        (size[keep] / gross_from[keep], (rows, cols)), shape=(n_all, n_all)
    )
    # Rows of A_u⁻¹ for the sink buses: solve A_uᵀ Y = E. One right-hand side per
    # sink bus serves every snapshot, since the blocks do not interact.
    sink_buses = np.unique(sink_bus[:n_s])
    rhs = np.zeros((n_all, len(sink_buses)))
    for c, b in enumerate(sink_buses):
        rhs[np.arange(n_t) * n_buses + b, c] = 1.0
    y = splu(a_u.T.tocsc()).solve(rhs).reshape(n_t, n_buses, len(sink_buses))

    # Each source's part of its bus's net source s (the rest serves local sinks).
    with np.errstate(divide="ignore", invalid="ignore"):
        src_net_k = np.where(
            src_b[:, source_bus] > 0, src_k * net_src_b[:, source_bus] / src_b[:, source_bus], 0.0
        )
        src_local_k = src_k - src_net_k
    col_of = {int(b): c for c, b in enumerate(sink_buses)}
    for s_i in range(n_s):
        b = int(sink_bus[s_i])
        c = col_of[b]
        with np.errstate(divide="ignore", invalid="ignore"):
            # network supply to bus b from source k: w_b * [A_u⁻¹]_b,bus(k) s_k / P_b
            reach = np.where(
                gross_b[:, b : b + 1] > 0,
                y[:, source_bus, c] * src_net_k / gross_b[:, b : b + 1],
                0.0,
            )
            supply_k = net_dem_b[:, b : b + 1] * reach
            supply_k = supply_k + np.where(
                (source_bus == b)[None, :] & (src_b[:, b : b + 1] > 0),
                src_local_k,
                0.0,
            )
            # several sinks at one bus share its supply pro rata to their withdrawal
            share = np.where(dem_b[:, b] > 0, snk_s[:, s_i] / dem_b[:, b], 0.0)
        out[:, s_i, :] = np.clip(supply_k * share[:, None], 0.0, None)
    return out


@dataclass(frozen=True)
class TraceInputs:
    """What the trace needs of a plan and its base, as arrays (snapshots * components).

    Attributes
    ----------
    n_buses, branch_bus0, branch_bus1:
        The network (bus indices of each branch end).
    generator_bus, storage_unit_bus, mining_site_bus:
        Where each component connects.
    generator_names, storage_unit_names, site_names:
        Column names, in the order of the arrays.
    index:
        The snapshots (index of the result).
    delta_generators_mw:
        Generator output, plan minus base (MW).
    absorbed_curtailment_mw:
        Curtailment the plan absorbed, base minus plan, clipped at 0 (MW).
    delta_storage_mw:
        Storage ``dispatch - store``, plan minus base (MW).
    spill_avoided_mw:
        Storage spill, base minus plan, clipped at 0 (MW).
    mining_mw:
        Mining load of the plan (MW).
    delta_flow_mw:
        Branch flow ``p0``, plan minus base (MW).
    curtailment_only:
        The plan was made in ``curtailment-only`` mode.
    """

    n_buses: int
    branch_bus0: NDArray[np.int64]
    branch_bus1: NDArray[np.int64]
    generator_bus: NDArray[np.int64]
    storage_unit_bus: NDArray[np.int64]
    mining_site_bus: NDArray[np.int64]
    generator_names: list[str]
    storage_unit_names: list[str]
    site_names: list[str]
    index: pd.Index
    delta_generators_mw: NDArray[np.float64]
    absorbed_curtailment_mw: NDArray[np.float64]
    delta_storage_mw: NDArray[np.float64]
    spill_avoided_mw: NDArray[np.float64]
    mining_mw: NDArray[np.float64]
    delta_flow_mw: NDArray[np.float64]
    curtailment_only: bool


def mining_sources_mw(inputs: TraceInputs) -> pd.DataFrame:
    """MW each mining site draws from each source, per snapshot (proportional sharing).

    Sources (the positive parts of plan - base, see the module docstring):

    - a renewable generator, by name: its extra output, up to the curtailment it
      absorbed (``available - p`` base less plan);
    - a storage unit, by name: its extra ``dispatch - store``, up to the spill it
      avoided in that snapshot; in ``curtailment-only`` mode all of it, because the
      planner pins charge and lets the reservoir end no lower, so extra discharge
      can only be water the base plan spilled;
    - :data:`GRID_SOURCE`: everything else that went up (conventional units in
      ``co-optimised`` mode, storage beyond avoided spill).

    Parameters
    ----------
    inputs:
        The plan's changes (``PlanResult.trace_inputs()`` builds them).

    Returns
    -------
    pandas.DataFrame
        Indexed by snapshot; columns a ``(site, source)`` MultiIndex, only pairs
        with some energy. A site's columns add up to its mining (less noise).
    """
    d_gen = inputs.delta_generators_mw
    gen_up = np.clip(d_gen, 0.0, None)
    gen_plant = np.minimum(gen_up, inputs.absorbed_curtailment_mw)
    d_sto = inputs.delta_storage_mw
    sto_up = np.clip(d_sto, 0.0, None)
    # curtailment-only: all extra discharge is spill the base plan wasted (see above)
    spill_cap = sto_up if inputs.curtailment_only else inputs.spill_avoided_mw
    sto_plant = np.minimum(sto_up, spill_cap)
    gen_names = inputs.generator_names
    sto_names = inputs.storage_unit_names
    source_labels = [*gen_names, *[GRID_SOURCE] * len(gen_names)]
    source_labels += [*sto_names, *[GRID_SOURCE] * len(sto_names)]
    source_bus = np.r_[inputs.generator_bus, inputs.generator_bus]
    source_bus = np.r_[source_bus, inputs.storage_unit_bus, inputs.storage_unit_bus]
    source_mw = np.hstack([gen_plant, gen_up - gen_plant, sto_plant, sto_up - sto_plant])

    site_names = inputs.site_names
    sink_bus = np.r_[inputs.mining_site_bus, inputs.generator_bus, inputs.storage_unit_bus]
    sink_mw = np.hstack([np.clip(inputs.mining_mw, 0.0, None), np.clip(-d_gen, 0.0, None)])
    sink_mw = np.hstack([sink_mw, np.clip(-d_sto, 0.0, None)])
    try:
        traced = trace_sinks_mw(
            inputs.n_buses,
            inputs.branch_bus0,
            inputs.branch_bus1,
            inputs.delta_flow_mw,
            source_bus.astype(np.int64),
            source_mw,
            sink_bus.astype(np.int64),
            sink_mw,
            n_traced=len(site_names),
        )
    except ValueError as exc:
        # A plan must not fail over its attribution: trace on a copper plate instead
        # (every sink takes the system's mix), the rule before network tracing.
        logger.warning("attribution falls back to the system-wide mix: %s", exc)
        traced = copper_plate_sinks_mw(source_mw, sink_mw, n_traced=len(site_names))
    return _by_site_and_label(traced, site_names, source_labels, inputs.index)


def _by_site_and_label(
    traced: NDArray[np.float64],
    site_names: list[str],
    source_labels: list[str],
    index: pd.Index,
) -> pd.DataFrame:
    """Sum ``traced`` (T, S, K) over the sources sharing a label: one column per
    ``(site, label)`` that is ever positive, labels in order of first appearance and
    sites in order within each label."""
    unique = list(dict.fromkeys(source_labels))
    col_of = {label: u for u, label in enumerate(unique)}
    n_t, n_s, n_k = traced.shape
    onehot = sp.csr_array(
        (
            np.ones(n_k),
            (np.arange(n_k), np.fromiter((col_of[x] for x in source_labels), np.int64, n_k)),
        ),
        shape=(n_k, len(unique)),
    )
    by = np.asarray(traced.reshape(n_t * n_s, n_k) @ onehot).reshape(n_t, n_s, len(unique))
    label_i, site_i = np.nonzero(by.max(axis=0, initial=0.0).T > 0)  # label-major
    names = pd.MultiIndex.from_tuples(
        [(site_names[s], unique[u]) for u, s in zip(label_i, site_i, strict=True)],
        names=["site", "source"],
    )
    if not len(names):
        return pd.DataFrame(index=index, columns=names)
    return pd.DataFrame(by[:, site_i, label_i], index=index, columns=names)
