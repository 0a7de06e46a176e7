"""Where to draw each bus: the scenario's coordinates, else a graph layout.

A network with coordinates for every bus (SciGRID-DE's ``x``, ``y``: longitude
and latitude) is drawn where it lies. Otherwise the buses are laid out from the
branches alone (networkx): Kamada-Kawai, which keeps graph distances as drawn
distances and so draws meshes and radial feeders recognisably, up to
:data:`KAMADA_KAWAI_MAX_BUSES`; a seeded spring layout beyond (Kamada-Kawai needs
all-pairs distances). Each connected part is laid out on its own and the parts
packed side by side, largest first: one layout of a disconnected graph would push
its islands to the edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["KAMADA_KAWAI_MAX_BUSES", "BusPositions", "bus_positions"]

#: Largest connected part laid out by Kamada-Kawai (all-pairs distances: n² memory).
KAMADA_KAWAI_MAX_BUSES = 600
#: Seed of the spring layout: the same network draws the same map every time.
LAYOUT_SEED = 0


@dataclass(frozen=True)
class BusPositions:
    """Drawing positions of the buses.

    Attributes
    ----------
    xy:
        ``(n_buses, 2)`` positions, in the order of the names given.
    source:
        ``coordinates`` (the scenario's ``x``, ``y``) or ``layout``.
    geographic:
        The coordinates look like longitude/latitude (drawn with the aspect of the
        mean latitude).
    why_layout:
        Why the scenario's coordinates were not used (``""`` when they were).
    """

    xy: np.ndarray
    source: str
    geographic: bool
    why_layout: str


def bus_positions(
    names: Sequence[str],
    edges: Sequence[tuple[str, str]],
    x: np.ndarray | None,
    y: np.ndarray | None,
) -> BusPositions:
    """Positions of the buses ``names``: ``(x, y)`` where every bus has them, else a
    layout of the graph ``edges`` (pairs of bus names).

    Raises
    ------
    ValueError
        An edge names a bus not in ``names``.
    """
    n = len(names)
    if x is not None and y is not None:
        xy = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
        have = np.isfinite(xy).all(axis=1)
        if have.all() and n > 1 and np.ptp(xy, axis=0).max() > 0:
            geographic = bool(np.abs(xy[:, 0]).max() <= 180 and np.abs(xy[:, 1]).max() <= 90)
            return BusPositions(xy, "coordinates", geographic, "")
        why = (
            f"{n - int(have.sum())} of {n} buses have no x, y"
            if not have.all()
            else "every bus has the same x, y"
        )
    else:
        why = "the scenario's buses have no x, y"
    return BusPositions(_layout(names, edges), "layout", False, why)


def _layout(names: Sequence[str], edges: Sequence[tuple[str, str]]) -> np.ndarray:
    import networkx as nx

    index = {name: i for i, name in enumerate(names)}
    graph: nx.Graph[int] = nx.Graph()
    graph.add_nodes_from(range(len(names)))
    for a, b in edges:
        if a not in index or b not in index:
            raise ValueError(f"branch {a}-{b} names a bus that is not in the network")
        if a != b:
            graph.add_edge(index[a], index[b])
    xy = np.zeros((len(names), 2))
    parts = sorted(nx.connected_components(graph), key=lambda c: (-len(c), min(c)))
    left = 0.0
    for part in parts:
        nodes = sorted(part)
        sub = graph.subgraph(nodes)
        if len(nodes) == 1:
            pos = {nodes[0]: np.zeros(2)}
        elif len(nodes) <= KAMADA_KAWAI_MAX_BUSES:
            pos = nx.kamada_kawai_layout(sub)
        else:
            pos = nx.spring_layout(sub, seed=LAYOUT_SEED)
        block = np.array([pos[v] for v in nodes], dtype=float)
        block -= block.min(axis=0)
        span = float(block.max()) if block.size else 0.0
        # each part drawn at a size that grows with its bus count, left to right
        size = np.sqrt(len(nodes))
        if span > 0:
            block *= size / span
        block[:, 0] += left
        xy[nodes] = block
        left = float(block[:, 0].max()) + max(1.0, 0.15 * size)
    return xy
