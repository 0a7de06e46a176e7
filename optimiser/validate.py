"""Validation of input tables: every error names the file, the row and the field.

Tables are read as strings (``dtype=str``) so that each cell is converted, and
checked, here, with its line number at hand. Line numbers are those of the CSV
file: the header is line 1, the first component is line 2.

Whole-network checks (islands without a slack) run on the assembled arrays in
:func:`check_islands`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from optimiser.errors import BadGridDataError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from numpy.typing import NDArray

    from optimiser.data import Branches, Generators, Loads, MiningSites, StorageUnits

__all__ = ["SeriesTable", "Table", "check_islands", "choose_slack", "read_csv_table"]


def read_csv_table(path: Path) -> pd.DataFrame:
    """Read a CSV file as strings, first column as the index (component names).

    Raises
    ------
    BadGridDataError
        The file cannot be parsed as CSV.
    """
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=0)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise BadGridDataError(path.name, None, None, f"cannot parse CSV: {exc}") from exc
    df.index = df.index.astype(str).str.strip()
    df.columns = [str(c).strip() for c in df.columns]
    return df


class Table:
    """A static component table (e.g. ``lines.csv``) with checked column access.

    Parameters
    ----------
    file:
        File name used in error messages.
    df:
        The table as strings, indexed by component name.
    """

    def __init__(self, file: str, df: pd.DataFrame) -> None:
        self.file = file
        self.df = df
        self.names: tuple[str, ...] = tuple(df.index)
        #: Columns the reader asked for (see :meth:`unused_columns`).
        self.used: set[str] = set()
        self._check_names()

    def unused_columns(self, ignore: frozenset[str] = frozenset()) -> list[str]:
        """Columns with a value in some row that the reader never asked for, in file
        order (``ignore``: columns known to carry nothing to model)."""
        out = []
        for c in self.df.columns:
            if c in self.used or c in ignore:
                continue
            if any(str(v).strip().lower() not in ("", "nan") for v in self.df[c]):
                out.append(str(c))
        return out

    def __len__(self) -> int:
        return len(self.names)

    def line(self, i: int) -> int:
        """CSV line number of component ``i`` (header is line 1)."""
        return i + 2

    def fail(self, i: int | None, field: str | None, message: str) -> BadGridDataError:
        """An error for row ``i`` (0-based component index) and ``field``."""
        if i is None:
            return BadGridDataError(self.file, None, field, message)
        return BadGridDataError(self.file, self.line(i), field, message, name=self.names[i])

    def _check_names(self) -> None:
        seen: dict[str, int] = {}
        for i, n in enumerate(self.names):
            if n == "":
                raise self.fail(i, "name", "empty component name")
            if n in seen:
                raise self.fail(
                    i, "name", f"duplicate name {n!r} (first on line {self.line(seen[n])})"
                )
            seen[n] = i

    def has(self, field: str) -> bool:
        """Whether the column exists."""
        self.used.add(field)
        return field in self.df.columns

    def strings(self, field: str, default: str = "") -> tuple[str, ...]:
        """A text column; blank cells and an absent column take ``default``."""
        self.used.add(field)
        if field not in self.df.columns:
            return (default,) * len(self)
        return tuple(s.strip() if s.strip() != "" else default for s in self.df[field])

    def floats(
        self,
        field: str,
        default: float | None,
        *,
        positive: bool = False,
        nonneg: bool = False,
        allow_inf: bool = False,
    ) -> NDArray[np.float64]:
        """A numeric column; blank cells and an absent column take ``default``.

        Raises
        ------
        BadGridDataError
            A cell is not a number, is NaN, infinite (unless allowed), or breaks
            ``positive``/``nonneg``; or the column is required (``default=None``)
            and absent or blank.
        """
        self.used.add(field)
        out = np.empty(len(self), dtype=np.float64)
        if field not in self.df.columns:
            if default is None and len(self):
                raise self.fail(None, field, "required column is missing")
            out[:] = default if default is not None else np.nan
            return out
        for i, raw in enumerate(self.df[field]):
            s = raw.strip()
            if s == "":
                if default is None:
                    raise self.fail(i, field, "value is required")
                out[i] = default
                continue
            try:
                v = float(s)
            except ValueError:
                raise self.fail(i, field, f"not a number: {s!r}") from None
            if math.isnan(v):
                raise self.fail(i, field, "value is NaN")
            if math.isinf(v) and not allow_inf:
                raise self.fail(i, field, "value is infinite")
            if positive and not v > 0:
                raise self.fail(i, field, f"must be positive, got {v:g}")
            if nonneg and v < 0:
                raise self.fail(i, field, f"must not be negative, got {v:g}")
            out[i] = v
        return out

    def optional_floats(self, field: str) -> NDArray[np.float64]:
        """A numeric column where blank means "not given" (``nan``)."""
        self.used.add(field)
        out = np.full(len(self), np.nan)
        if field not in self.df.columns:
            return out
        for i, raw in enumerate(self.df[field]):
            s = raw.strip()
            if s == "":
                continue
            try:
                v = float(s)
            except ValueError:
                raise self.fail(i, field, f"not a number: {s!r}") from None
            if not math.isfinite(v):
                raise self.fail(i, field, f"must be a finite number, got {s!r}")
            out[i] = v
        return out

    def bools(self, field: str, default: bool) -> NDArray[np.bool_]:
        """A boolean column (``True/False/1/0``)."""
        self.used.add(field)
        out = np.full(len(self), default, dtype=bool)
        if field not in self.df.columns:
            return out
        for i, raw in enumerate(self.df[field]):
            s = raw.strip().lower()
            if s == "":
                continue
            if s in ("true", "1", "1.0", "yes"):
                out[i] = True
            elif s in ("false", "0", "0.0", "no"):
                out[i] = False
            else:
                raise self.fail(i, field, f"not a boolean: {raw!r}")
        return out

    def bus_refs(self, field: str, bus_index: dict[str, int]) -> NDArray[np.int64]:
        """A column of bus names, resolved to bus indices.

        Raises
        ------
        BadGridDataError
            The column is missing or a bus is unknown.
        """
        self.used.add(field)
        if field not in self.df.columns:
            if len(self):
                raise self.fail(None, field, "required column is missing")
            return np.zeros(0, dtype=np.int64)
        out = np.empty(len(self), dtype=np.int64)
        for i, raw in enumerate(self.df[field]):
            b = raw.strip()
            if b not in bus_index:
                raise self.fail(i, field, f"unknown bus {b!r}")
            out[i] = bus_index[b]
        return out


class SeriesTable:
    """A time-series file (e.g. ``generators-p_max_pu.csv``) checked against snapshots.

    Parameters
    ----------
    file:
        File name used in error messages.
    df:
        Rows are snapshots, columns component names (strings).
    snapshots:
        Expected snapshot names, in order.
    component_names:
        Names of the components of the owning table.
    """

    def __init__(
        self,
        file: str,
        df: pd.DataFrame,
        snapshots: Sequence[str],
        component_names: Sequence[str],
    ) -> None:
        self.file = file
        self.df = df
        got = list(df.index)
        if len(got) != len(snapshots):
            raise BadGridDataError(
                file,
                None,
                "snapshot",
                f"has {len(got)} rows but there are {len(snapshots)} snapshots",
            )
        for i, (a, b) in enumerate(zip(got, snapshots, strict=True)):
            if a != b:
                raise BadGridDataError(
                    file, i + 2, "snapshot", f"snapshot {a!r} does not match expected {b!r}"
                )
        known = set(component_names)
        for c in df.columns:
            if c not in known:
                raise BadGridDataError(file, 1, c, "column names no known component")
        if len(set(df.columns)) != len(df.columns):
            raise BadGridDataError(file, 1, None, "duplicate column")

    def fill(
        self,
        base: NDArray[np.float64],
        component_names: Sequence[str],
        *,
        nonneg: bool = False,
        blank_is_nan: bool = False,
    ) -> NDArray[np.float64]:
        """``base`` (snapshots * components) with the columns this file gives replaced.

        ``blank_is_nan``: a blank (or ``nan``) cell means "not set" and stays ``nan``
        (PyPSA's ``state_of_charge_set``).

        Raises
        ------
        BadGridDataError
            A cell is blank (unless allowed), not a number, NaN, infinite, or
            negative (``nonneg``).
        """
        out = np.array(base, dtype=np.float64)
        col_of = {n: j for j, n in enumerate(component_names)}
        if len(self.df.columns) == 0:
            return out
        # one vectorised parse of all cells (column-wise .apply was 0.9 s on SciGRID-DE)
        flat = pd.Series(self.df.to_numpy(dtype=object).ravel(), dtype=object).str.strip()
        num = pd.to_numeric(flat, errors="coerce").to_numpy(dtype=np.float64)
        num = num.reshape(self.df.shape)
        raw = pd.DataFrame(flat.to_numpy().reshape(self.df.shape))
        bad = ~np.isfinite(num)
        if blank_is_nan:
            blank = flat.str.lower().isin(["", "nan"]).to_numpy().reshape(self.df.shape)
            bad &= ~blank
        if nonneg:
            bad |= num < 0
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            c = self.df.columns[j]
            s = str(raw.iat[i, j])  # the raw text frame: every cell a str
            if np.isnan(num[i, j]) and s.lower() not in ("nan", ""):
                why = f"not a number: {s!r}"
            elif s == "":
                why = "value is missing"
            elif not np.isfinite(num[i, j]):
                why = f"value is {s!r}"
            else:
                why = f"must not be negative, got {num[i, j]:g}"
            raise BadGridDataError(self.file, i + 2, c, why, name=self.df.index[i])
        cols = np.array([col_of[c] for c in self.df.columns], dtype=np.int64)
        out[:, cols] = num
        return out


def check_islands(
    *,
    bus_names: Sequence[str],
    bus0: NDArray[np.int64],
    bus1: NDArray[np.int64],
    has_supply: NDArray[np.bool_],
    has_demand: NDArray[np.bool_],
    slack: NDArray[np.bool_],
    bus_file: str,
) -> NDArray[np.int64]:
    """Label islands and check each one with demand has a slack (a supply).

    Parameters
    ----------
    bus_names:
        Bus names (for messages).
    bus0, bus1:
        Branch end buses (indices).
    has_supply:
        Per bus: a generator or storage unit sits there.
    has_demand:
        Per bus: a load or mining site sits there.
    slack:
        Per bus: marked as slack in the input.
    bus_file:
        File name used in error messages.

    Returns
    -------
    numpy.ndarray
        Island label per bus.

    Raises
    ------
    BadGridDataError
        An island has demand but no generator or storage unit to serve as slack,
        or more than one bus of an island is marked ``Slack``.
    """
    n = len(bus_names)
    graph = coo_matrix((np.ones(len(bus0)), (bus0, bus1)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    labels = labels.astype(np.int64)
    for isl in np.unique(labels):
        members = np.flatnonzero(labels == isl)
        if has_demand[members].any() and not has_supply[members].any():
            first = int(members[0])
            shown = ", ".join(repr(bus_names[k]) for k in members[:5])
            more = "" if len(members) <= 5 else f" and {len(members) - 5} more"
            raise BadGridDataError(
                bus_file,
                first + 2,
                "name",
                f"island of buses {shown}{more} has load but no slack "
                "(no generator or storage unit)",
                name=bus_names[first],
            )
        marked = members[slack[members]]
        if len(marked) > 1:
            k = int(marked[1])
            raise BadGridDataError(
                bus_file,
                k + 2,
                "control",
                f"second Slack bus in the island of {bus_names[int(marked[0])]!r}",
                name=bus_names[k],
            )
    return np.asarray(labels, dtype=np.int64)


def choose_slack(
    *,
    bus_names: tuple[str, ...],
    branches: Branches,
    generators: Generators,
    loads: Loads,
    storage_units: StorageUnits,
    mining_sites: MiningSites,
    slack_marked: np.ndarray,
    bus_file: str,
    link_buses: np.ndarray | None = None,
) -> np.ndarray:
    """One angle-reference bus per island: the marked ``Slack`` bus, else the bus
    of the island's largest generator (PyPSA's choice), else its first bus.

    Raises
    ------
    BadGridDataError
        An island with demand has no supply, or two buses of one island are marked.
    """
    n = len(bus_names)
    supply = np.zeros(n, dtype=bool)
    supply[generators.bus] = True
    supply[storage_units.bus] = True
    if link_buses is not None:
        supply[link_buses] = True  # a link can bring power from another island
    demand = np.zeros(n, dtype=bool)
    demand[loads.bus[np.abs(loads.p_set_mw).max(axis=0) > 0] if len(loads) else []] = True
    demand[mining_sites.bus] = True
    labels = check_islands(
        bus_names=bus_names,
        bus0=branches.bus0,
        bus1=branches.bus1,
        has_supply=supply,
        has_demand=demand,
        slack=slack_marked,
        bus_file=bus_file,
    )
    cap = np.zeros(n)
    np.maximum.at(cap, generators.bus, generators.p_nom_mw)
    slack = np.zeros(n, dtype=bool)
    for isl in np.unique(labels):
        members = np.flatnonzero(labels == isl)
        marked = members[slack_marked[members]]
        if len(marked):
            slack[marked[0]] = True
        else:
            slack[members[int(np.argmax(cap[members]))]] = True
    return slack
