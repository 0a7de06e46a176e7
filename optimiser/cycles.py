"""A cycle basis of the network graph, for Kirchhoff's voltage law in cycle form.

Buses are nodes and branches (lines and transformers) edges; parallel branches are
separate edges. A spanning forest (one breadth-first tree per island) leaves
``n_branches - n_buses + n_islands`` branches outside it; each of them closes
exactly one cycle with the tree path between its ends, and these fundamental
cycles form a basis of the cycle space (Hörsch, Ronellenfitsch, Witthaut, Brown,
"Linear optimal power flow using cycle flows", EPSR 158, 2018). An island that is
a tree has no cycles and needs no row.

Breadth-first trees keep tree paths, and so the cycles (rows of the LP), short.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["cycle_matrix"]


def cycle_matrix(n_buses: int, bus0: NDArray[np.int64], bus1: NDArray[np.int64]) -> sp.csr_array:
    """The fundamental cycles of the network, one row per cycle.

    ``C[c, l]`` is +1 where cycle c runs along branch l from ``bus0`` to ``bus1``,
    -1 where it runs against it, 0 where it does not use l; so ``C @ K = 0`` for the
    incidence ``K[l, bus0_l] = 1, K[l, bus1_l] = -1``.

    Parameters
    ----------
    n_buses:
        Number of buses (nodes ``0 .. n_buses - 1``).
    bus0, bus1:
        End buses of each branch (no self-loops; parallel branches allowed).

    Returns
    -------
    scipy.sparse.csr_array
        Shape ``(n_cycles, n_branches)``, ``n_cycles = n_branches - n_buses + n_islands``
        (buses with no branch count as islands of their own).
    """
    b0, b1 = bus0.tolist(), bus1.tolist()
    n_l = len(b0)
    adj: list[list[tuple[int, int]]] = [[] for _ in range(n_buses)]
    for l_, (i, j) in enumerate(zip(b0, b1, strict=True)):
        adj[i].append((j, l_))
        adj[j].append((i, l_))
    depth = [-1] * n_buses
    parent = [-1] * n_buses
    up_branch = [-1] * n_buses  # the tree branch from a bus to its parent
    in_tree = [False] * n_l
    # roots: best-connected bus first, which keeps each island's tree shallow
    for root in sorted(range(n_buses), key=lambda b: -len(adj[b])):
        if depth[root] >= 0:
            continue
        depth[root] = 0
        queue = deque([root])
        while queue:
            u = queue.popleft()
            for v, l_ in adj[u]:
                if depth[v] < 0:
                    depth[v], parent[v], up_branch[v] = depth[u] + 1, u, l_
                    in_tree[l_] = True
                    queue.append(v)

    rows: list[int] = []
    cols: list[int] = []
    signs: list[float] = []
    n_c = 0
    for l_ in range(n_l):
        if in_tree[l_]:
            continue
        i, j = b0[l_], b1[l_]
        # the cycle: branch l from i to j, then the tree path j -> LCA -> i
        rows.append(n_c)
        cols.append(l_)
        signs.append(1.0)
        while i != j:
            if depth[j] >= depth[i]:  # step j up: walk its branch from j to parent[j]
                t = up_branch[j]
                rows.append(n_c)
                cols.append(t)
                signs.append(1.0 if b0[t] == j else -1.0)
                j = parent[j]
            else:  # step i up: the cycle walks this branch from parent[i] down to i
                t = up_branch[i]
                rows.append(n_c)
                cols.append(t)
                signs.append(1.0 if b1[t] == i else -1.0)
                i = parent[i]
        n_c += 1
    return sp.csr_array(
        (np.array(signs), (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64))),
        shape=(n_c, n_l),
    )
