"""Import MATPOWER ``.m`` cases (format version 2) as a scenario.

Mapping
-------
- ``mpc.bus``: one bus per row (name = bus number); type 3 marks the slack, type 4
  (isolated) buses are dropped with everything on them; ``Pd`` becomes a load.
- ``mpc.branch``: in-service rows become lines, or transformers where ``ratio`` or
  ``angle`` is non-zero; ``b = baseMVA / (x · ratio)`` MW/rad, phase shift = ``angle``;
  ``rateA = 0`` means unrated. Negative ``x`` (series capacitors, e.g. in case300)
  is accepted; ``x = 0`` is an error.
- ``mpc.gen``: in-service rows with ``Pmax > 0``; ``mpc.genfuel`` gives the carrier.
- ``mpc.gencost``: **quadratic (polynomial) costs are made piecewise linear**: the
  range ``[max(Pmin,0), Pmax]`` is cut into ``cost_segments`` equal pieces, each a
  generator ``NAME#k`` with the secant slope ``c1 + c2 (a + b)`` of its piece as
  marginal cost (a must-run piece ``NAME#min`` covers ``[0, Pmin]``). Costs are
  convex, so the LP fills pieces in order and the result is the exact PWL
  interpolation; the constant ``c0`` is dropped (it does not change any decision).
  HiGHS's QP path is avoided on purpose: it failed on the ACTIVSg cases.
  Piecewise-linear rows (model 1) are used as given, one piece per segment.
- Wind and solar availability (cases carry none) is synthesised, deterministic:
  solar ``max(0, sin(π (h - 6) / 12))`` for hour of day ``h`` (clear sky, sun 06-18 h);
  wind ``clip(0.45 + 0.25 sin(2π (h + 3 k_b) / 24), 0, 1)``, phase by bus index
  ``k_b mod 8`` for spatial diversity. Their ``Pmin`` is set to 0 (curtailable).
- ``scenarios_*.m`` change tables (``CT_TAREALOAD`` / ``CT_LOAD_ALL_P`` /
  ``CT_REP``) scale each area's loads to the hourly area total.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optimiser.data import (
    Branches,
    Buses,
    Generators,
    GridData,
    Loads,
    MiningSites,
    Snapshots,
    StorageUnits,
    is_renewable_carrier,
)
from optimiser.errors import BadGridDataError
from optimiser.validate import choose_slack

logger = logging.getLogger(__name__)

__all__ = ["read_matpower"]

_BLOCK = re.compile(r"mpc\.(\w+)\s*=\s*([\[{])")
_SCALAR = re.compile(r"mpc\.(\w+)\s*=\s*([-+0-9.eE]+)\s*;")


@dataclass(frozen=True)
class _Matrix:
    rows: list[list[str]]
    lines: list[int]  # 1-based file line of each row


def _parse_m(text: str, file: str) -> tuple[dict[str, float], dict[str, _Matrix]]:
    scalars: dict[str, float] = {}
    blocks: dict[str, _Matrix] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i].split("%", 1)[0]
        m = _SCALAR.search(raw)
        if m:
            scalars[m.group(1)] = float(m.group(2))
        b = _BLOCK.search(raw)
        if b:
            name, opener = b.group(1), b.group(2)
            closer = "]" if opener == "[" else "}"
            rows: list[list[str]] = []
            row_lines: list[int] = []
            rest = raw[b.end() :]
            while True:
                done = closer in rest
                body = rest.split(closer, 1)[0]
                for part in body.split(";"):
                    toks = part.replace(",", " ").split()
                    if toks:
                        rows.append([t.strip("'\"") for t in toks])
                        row_lines.append(i + 1)
                if done:
                    break
                i += 1
                if i >= len(lines):
                    raise BadGridDataError(file, i, f"mpc.{name}", "block is not closed")
                rest = lines[i].split("%", 1)[0]
            blocks[name] = _Matrix(rows, row_lines)
        i += 1
    return scalars, blocks


def _num(mat: _Matrix, file: str, block: str, fields: tuple[str, ...]) -> np.ndarray:
    out = np.zeros((len(mat.rows), len(fields)))
    for r, (row, line) in enumerate(zip(mat.rows, mat.lines, strict=True)):
        if len(row) < len(fields):
            raise BadGridDataError(
                file, line, f"mpc.{block}", f"row has {len(row)} columns, need {len(fields)}"
            )
        for c, f in enumerate(fields):
            try:
                v = float(row[c])
            except ValueError:
                raise BadGridDataError(
                    file, line, f"mpc.{block}.{f}", f"not a number: {row[c]!r}"
                ) from None
            if not np.isfinite(v):
                raise BadGridDataError(file, line, f"mpc.{block}.{f}", f"value is {row[c]!r}")
            out[r, c] = v
    return out


_BUS = ("bus_i", "type", "Pd", "Qd", "Gs", "Bs", "area", "Vm", "Va", "baseKV")
_GEN = ("bus", "Pg", "Qg", "Qmax", "Qmin", "Vg", "mBase", "status", "Pmax", "Pmin")
_BRANCH = ("fbus", "tbus", "r", "x", "b", "rateA", "rateB", "rateC", "ratio", "angle", "status")


def _profiles(carrier: str, bus_k: int, hours: np.ndarray) -> np.ndarray:
    c = carrier.lower()
    if "solar" in c or "pv" in c:
        return np.clip(np.sin(np.pi * ((hours % 24) - 6) / 12), 0.0, 1.0)
    phase = 3 * (bus_k % 8)
    return np.clip(0.45 + 0.25 * np.sin(2 * np.pi * (hours + phase) / 24), 0.0, 1.0)


def _area_loads(path: Path, n_snapshots: int, start_hour: int) -> dict[int, np.ndarray]:
    """Hourly total load per area from a MATPOWER change table (area -> array)."""
    file = path.name
    out: dict[int, np.ndarray] = {}
    pat = re.compile(
        r"^\s*(\d+)\s+\S+\s+CT_TAREALOAD\s+(\d+)\s+CT_LOAD_ALL_P\s+CT_REP\s+([-+0-9.eE]+)"
    )
    with path.open() as fh:
        for k, line in enumerate(fh, start=1):
            m = pat.match(line)
            if not m:
                continue
            label, area, val = int(m.group(1)), int(m.group(2)), float(m.group(3))
            t = label - 1 - start_hour
            if 0 <= t < n_snapshots:
                if not np.isfinite(val) or val < 0:
                    raise BadGridDataError(file, k, "newval", f"bad area load {val!r}")
                out.setdefault(area, np.full(n_snapshots, np.nan))[t] = val
    for area, arr in out.items():
        if np.isnan(arr).any():
            missing = int(np.flatnonzero(np.isnan(arr))[0])
            raise BadGridDataError(
                file, None, "label", f"area {area} has no load for hour {missing + 1 + start_hour}"
            )
    if not out:
        raise BadGridDataError(file, None, "chgtab", "no CT_TAREALOAD rows for these hours")
    return out


def read_matpower(
    path: str | Path,
    *,
    n_snapshots: int = 1,
    scenarios: str | Path | None = None,
    start_hour: int = 0,
    cost_segments: int = 4,
) -> GridData:
    """Read a MATPOWER case as a scenario (no mining sites; add them with ``dataclasses.replace``).

    Parameters
    ----------
    path:
        The ``.m`` case file.
    n_snapshots:
        Number of hourly snapshots.
    scenarios:
        Optional MATPOWER change table with hourly area loads (e.g.
        ``scenarios_ACTIVSg2000.m``).
    start_hour:
        First hour of the change table to use (0-based).
    cost_segments:
        Pieces of the piecewise-linear approximation of quadratic costs.

    Returns
    -------
    GridData
        The scenario.

    Raises
    ------
    BadGridDataError
        The file cannot be read as text, or a block is missing or malformed; names
        file, line and field.
    """
    path = Path(path)
    file = path.name
    scalars, blocks = _parse_m(_read_text(path), file)
    for need in ("bus", "gen", "branch"):
        if need not in blocks:
            raise BadGridDataError(file, None, f"mpc.{need}", "block is missing")
    base_mva = scalars.get("baseMVA", 100.0)
    buses = _CaseBuses(_num(blocks["bus"], file, "bus", _BUS), file)
    hours = np.arange(start_hour, start_hour + n_snapshots, dtype=float)
    area_totals = _area_loads(Path(scenarios), n_snapshots, start_hour) if scenarios else None
    loads = _loads(buses, n_snapshots, area_totals)
    branches = _branches(blocks["branch"], buses, base_mva)
    generators = _generators(blocks, buses, hours, cost_segments)
    storage = StorageUnits.empty(n_snapshots)
    mining = MiningSites.empty(n_snapshots)
    slack = choose_slack(
        bus_names=buses.names,
        branches=branches,
        generators=generators,
        loads=loads,
        storage_units=storage,
        mining_sites=mining,
        slack_marked=buses.kept[:, 1] == 3,
        bus_file=file,
    )
    w = np.ones(n_snapshots)
    return GridData(
        name=path.stem,
        snapshots=Snapshots(
            names=tuple(f"h{int(h):05d}" for h in hours),
            weight_objective=w,
            weight_generators=w.copy(),
            weight_stores=w.copy(),
        ),
        buses=Buses(names=buses.names, v_nom_kv=buses.kept[:, 9], slack=slack),
        branches=branches,
        generators=generators,
        loads=loads,
        storage_units=storage,
        mining_sites=mining,
        source=str(path),
    )


def _read_text(path: Path) -> str:
    """The case file as text; a binary or unreadable file is a :class:`BadGridDataError`."""
    try:
        return path.read_text()
    except OSError as exc:
        raise BadGridDataError(path.name, None, None, f"cannot read: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise BadGridDataError(
            path.name,
            None,
            None,
            f"not a MATPOWER text file (byte {exc.start} is not valid text: {exc.reason})",
        ) from exc


class _CaseBuses:
    """``mpc.bus``: the kept (non-isolated) buses, their names and index by bus number."""

    def __init__(self, bus: np.ndarray, file: str) -> None:
        self.file = file
        keep = bus[:, 1] != 4
        self.kept = bus[keep]
        ids = self.kept[:, 0].astype(np.int64)
        self.names = tuple(str(b) for b in ids)
        if len(set(self.names)) != len(self.names):
            dup = next(n for n in self.names if self.names.count(n) > 1)
            raise BadGridDataError(file, None, "mpc.bus.bus_i", f"duplicate bus number {dup}")
        self.index = {int(b): k for k, b in enumerate(ids)}
        self.isolated = set(bus[~keep, 0].astype(np.int64).tolist())

    def ref(self, value: float, line: int, field: str) -> int | None:
        """Index of bus number ``value``; ``None`` for an isolated bus (the component
        is dropped with it).

        Raises
        ------
        BadGridDataError
            No such bus.
        """
        b = int(value)
        if b in self.index:
            return self.index[b]
        if b in self.isolated:
            return None
        raise BadGridDataError(self.file, line, field, f"unknown bus {b}")


def _loads(buses: _CaseBuses, n_t: int, area_totals: dict[int, np.ndarray] | None) -> Loads:
    """A load per bus with ``Pd != 0``, scaled by area where a change table is given."""
    pd_mw = buses.kept[:, 2]
    area = buses.kept[:, 6].astype(np.int64)
    load_idx = np.flatnonzero(pd_mw != 0)
    p_set = np.tile(pd_mw[load_idx], (n_t, 1))
    for a, series in (area_totals or {}).items():
        members = area[load_idx] == a
        base_total = pd_mw[load_idx][members].sum()
        if base_total > 0:
            p_set[:, members] *= (series / base_total)[:, None]
    return Loads(
        names=tuple(f"load{buses.names[k]}" for k in load_idx),
        bus=load_idx.astype(np.int64),
        p_set_mw=p_set,
    )


def _branches(block: _Matrix, buses: _CaseBuses, base_mva: float) -> Branches:
    """In-service branches: lines, or transformers where ``ratio`` or ``angle`` is set."""
    file = buses.file
    br = _num(block, file, "branch", _BRANCH)
    b_names, kinds, b0, b1, susc, shift, smax = [], [], [], [], [], [], []
    for r, (row, line) in enumerate(zip(br, block.lines, strict=True)):
        if row[10] == 0:
            continue
        i0 = buses.ref(row[0], line, "mpc.branch.fbus")
        i1 = buses.ref(row[1], line, "mpc.branch.tbus")
        if i0 is None or i1 is None:
            continue
        if row[3] == 0:
            raise BadGridDataError(file, line, "mpc.branch.x", "reactance is zero")
        if row[5] < 0:
            raise BadGridDataError(file, line, "mpc.branch.rateA", f"negative rating {row[5]:g}")
        ratio = row[8] if row[8] != 0 else 1.0
        b_names.append(str(r + 1))
        kinds.append("transformer" if (row[8] != 0 or row[9] != 0) else "line")
        b0.append(i0)
        b1.append(i1)
        susc.append(base_mva / (row[3] * ratio))
        shift.append(np.deg2rad(row[9]))
        smax.append(row[5] if row[5] > 0 else np.inf)
    return Branches(
        names=tuple(b_names),
        kind=tuple(kinds),
        bus0=np.array(b0, dtype=np.int64),
        bus1=np.array(b1, dtype=np.int64),
        b_mw_per_rad=np.array(susc, dtype=float),
        shift_rad=np.array(shift, dtype=float),
        s_max_mw=np.array(smax, dtype=float),
    )


#: One generator piece: name, capacity (MW), marginal cost, p_min_pu and p_max_pu per hour.
_Piece = tuple[str, float, float, np.ndarray, np.ndarray]


def _generator_pieces(
    row: np.ndarray,
    r: int,
    line: int,
    k: int,
    carrier: str,
    cost_rows: _Matrix | None,
    hours: np.ndarray,
    cost_segments: int,
    file: str,
) -> list[_Piece]:
    """The pieces generator row ``r`` (at bus index ``k``) becomes: one for a renewable
    (synthetic availability, ``Pmin`` dropped), else its piecewise-linear cost pieces."""
    name = f"gen{r + 1}"
    n_t = len(hours)
    pmax, pmin = float(row[8]), max(float(row[9]), 0.0)
    if pmin > pmax:
        raise BadGridDataError(file, line, "mpc.gen.Pmin", f"Pmin {pmin:g} > Pmax {pmax:g}")
    if is_renewable_carrier(carrier):
        mc = _pieces(cost_rows, r, file, 0.0, pmax, 1)[0][3]
        return [(name, pmax, mc, np.zeros(n_t), _profiles(carrier, k, hours))]
    return [
        (name + suffix, hi - lo, mc, np.full(n_t, 1.0 if suffix == "#min" else 0.0), np.ones(n_t))
        for suffix, lo, hi, mc in _pieces(cost_rows, r, file, pmin, pmax, cost_segments)
    ]


def _generators(
    blocks: dict[str, _Matrix], buses: _CaseBuses, hours: np.ndarray, cost_segments: int
) -> Generators:
    """In-service generators with ``Pmax > 0``, costs made piecewise linear."""
    file = buses.file
    gen = _num(blocks["gen"], file, "gen", _GEN)
    fuels = [r[0] for r in blocks["genfuel"].rows] if "genfuel" in blocks else []
    cost_rows = blocks.get("gencost")
    pieces: list[tuple[int, str, _Piece]] = []
    for r, (row, line) in enumerate(zip(gen, blocks["gen"].lines, strict=True)):
        if row[7] <= 0 or row[8] <= 0:
            continue
        k = buses.ref(row[0], line, "mpc.gen.bus")
        if k is None:
            continue
        carrier = fuels[r] if r < len(fuels) else "unknown"
        for piece in _generator_pieces(
            row, r, line, k, carrier, cost_rows, hours, cost_segments, file
        ):
            pieces.append((k, carrier, piece))
    n_t, n_g = len(hours), len(pieces)
    g_car = tuple(c for _, c, _ in pieces)
    return Generators(
        names=tuple(p[0] for _, _, p in pieces),
        bus=np.array([k for k, _, _ in pieces], dtype=np.int64),
        carrier=g_car,
        p_nom_mw=np.array([p[1] for _, _, p in pieces], dtype=float),
        marginal_cost=np.array([p[2] for _, _, p in pieces], dtype=float),
        p_min_pu=np.array([p[3] for _, _, p in pieces], dtype=float).T.reshape(n_t, n_g),
        p_max_pu=np.array([p[4] for _, _, p in pieces], dtype=float).T.reshape(n_t, n_g),
        renewable=np.array([is_renewable_carrier(c) for c in g_car], dtype=bool).reshape(n_g),
        co2_t_per_mwh=np.zeros(n_g),
    )


def _pieces(
    cost_rows: object, r: int, file: str, pmin: float, pmax: float, segments: int
) -> list[tuple[str, float, float, float]]:
    """Pieces ``(suffix, lo, hi, marginal_cost)`` covering ``[0, pmax]``."""
    if not isinstance(cost_rows, _Matrix) or r >= len(cost_rows.rows):
        return [("", 0.0, pmax, 0.0)]
    row, line = cost_rows.rows[r], cost_rows.lines[r]
    try:
        vals = [float(v) for v in row]
    except ValueError:
        raise BadGridDataError(file, line, "mpc.gencost", "not a number") from None
    model, n = int(vals[0]), int(vals[3])
    coef = vals[4 : 4 + (2 * n if model == 1 else n)]
    if model == 1:  # piecewise linear as given: (x1, y1), (x2, y2), ...
        xs, ys = coef[0::2], coef[1::2]
        out = []
        for k in range(len(xs) - 1):
            lo, hi = max(xs[k], 0.0), min(xs[k + 1], pmax)
            if hi > lo:
                slope = (ys[k + 1] - ys[k]) / (xs[k + 1] - xs[k])
                out.append((f"#{k}", lo, hi, slope))
        return out or [("", 0.0, pmax, 0.0)]
    if model != 2:
        raise BadGridDataError(file, line, "mpc.gencost.MODEL", f"unknown cost model {model}")
    # polynomial c_{n-1} p^{n-1} + ... + c0; keep up to quadratic terms
    c = list(reversed(coef))  # c[0] = c0, c[1] = c1, c[2] = c2
    if len(c) > 3 and any(v != 0 for v in c[3:]):
        raise BadGridDataError(file, line, "mpc.gencost", "cost polynomials above degree 2")
    c1 = c[1] if len(c) > 1 else 0.0
    c2 = c[2] if len(c) > 2 else 0.0
    if c2 < 0:
        raise BadGridDataError(file, line, "mpc.gencost", "concave quadratic cost")

    def secant(a: float, b: float) -> float:
        return c1 + c2 * (a + b)

    out = []
    if pmin > 0:
        out.append(("#min", 0.0, pmin, secant(0.0, pmin)))
    if c2 == 0 or segments <= 1:
        if pmax > pmin:
            out.append(("" if pmin == 0 else "#0", pmin, pmax, secant(pmin, pmax)))
        return out
    edges = np.linspace(pmin, pmax, segments + 1)
    for k in range(segments):
        if edges[k + 1] > edges[k]:
            out.append(
                (
                    f"#{k}",
                    float(edges[k]),
                    float(edges[k + 1]),
                    secant(float(edges[k]), float(edges[k + 1])),
                )
            )
    return out
