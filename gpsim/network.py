"""The relationship graph (networkx) and the edge arrays the monthly rules iterate.

The networkx graph is the model's graph API and the source of truth for structure: which practices are peers
(by default each practice's nearest neighbours; or a user's own graph, e.g. a patient-sharing network, read by
:func:`read_peer_graph`), which practices belong to which organisation, which CCG commissions whom, which
hospital serves whom and holds which contracts. Structure changes (joining, leaving, founding, dissolving,
closing) are rare events applied to it (through :class:`DeferredGraph`: the graph is built on first use and
changes made before are replayed onto it). Peer trust changes every month for every edge, so it lives in
an array aligned with :attr:`PeerEdges.edges` and is written into the graph's ``trust`` attributes on demand
(:meth:`GPModel.relationship_graph`), keeping the monthly update O(edges) in numpy. The edge arrays are built
from the graph, and :meth:`GPModel.rebuild_peers` rebuilds them when its peer edges change.

Node ids are integers: practices ``0..N-1``, then CCGs, hospitals and organisations (see :class:`NodeIds`).
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import networkx as nx
import numpy as np

from gpsim.errors import ParameterError


@dataclass(frozen=True)
class NodeIds:
    """Integer node-id blocks of the relationship graph."""

    n_practices: int
    n_ccgs: int
    n_hospitals: int

    def practice(self, i: int) -> int:
        return int(i)

    def ccg(self, c: int) -> int:
        return self.n_practices + int(c)

    def hospital(self, h: int) -> int:
        return self.n_practices + self.n_ccgs + int(h)

    def org(self, o: int) -> int:
        return self.n_practices + self.n_ccgs + self.n_hospitals + int(o)


class PeerEdges:
    """Undirected practice-practice edges with trust, plus both directions as half-edge arrays.

    Attributes:
        edges: (E, 2) practice pairs ``i < j``.
        trust: (E,) trust between the two practices, 0-1.
        src, dst, eid: (2E,) half-edges ``src -> dst`` and the undirected edge each belongs to, sorted by
            ``src`` (CSR order).
        indptr: (N + 1,) the half-edges of practice ``i`` are ``indptr[i]:indptr[i + 1]``.
    """

    def __init__(self, edges: np.ndarray, trust: np.ndarray, n_nodes: int | None = None) -> None:
        self.edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        self.trust = np.asarray(trust, dtype=float)
        e = len(self.edges)
        self.src = np.concatenate([self.edges[:, 0], self.edges[:, 1]])
        self.dst = np.concatenate([self.edges[:, 1], self.edges[:, 0]])
        self.eid = np.concatenate([np.arange(e), np.arange(e)])
        order = np.argsort(self.src, kind="stable")
        self.src, self.dst, self.eid = self.src[order], self.dst[order], self.eid[order]
        n = int(self.src.max()) + 1 if n_nodes is None and e else (n_nodes or 0)
        self.degree = np.bincount(self.src, minlength=n)
        self.indptr = np.concatenate([[0], np.cumsum(self.degree)]).astype(np.int64)
        # both ends of every edge, first ends then second ends: per practice, the same half-edges in the same
        # order as CSR, so sums over them match sums in CSR order to the last bit
        self.ends = np.concatenate([self.edges[:, 0], self.edges[:, 1]])
        self.first, self.second = self.ends[:e], self.ends[e:]  # contiguous columns of ``edges``
        self._within_cache: list[tuple[np.ndarray, tuple]] = []  # see :meth:`_within`

    def __len__(self) -> int:
        return len(self.edges)

    def neighbours(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(neighbour ids, edge ids) of practice ``i``."""
        if i + 1 >= len(self.indptr):
            return self.dst[:0], self.eid[:0]
        lo, hi = self.indptr[i], self.indptr[i + 1]
        return self.dst[lo:hi], self.eid[lo:hi]

    def half_edges_of(self, nodes: np.ndarray) -> np.ndarray:
        """Indices of the half-edges leaving ``nodes`` (ascending ids give CSR order, as a mask on ``src`` would)."""
        nodes = nodes[nodes + 1 < len(self.indptr)]
        lo, hi = self.indptr[nodes], self.indptr[nodes + 1]
        deg = hi - lo
        return np.arange(int(deg.sum())) + np.repeat(lo - (np.cumsum(deg) - deg), deg)

    def half_edges_where(self, mask: np.ndarray) -> np.ndarray:
        """Indices of the half-edges leaving the practices where ``mask`` is true, in CSR order: the same as
        ``half_edges_of(mask.nonzero()[0])``, by one pass over the half-edges when many practices are chosen."""
        if len(mask) + 1 != len(self.indptr) or np.count_nonzero(mask) * 8 < len(mask):
            return self.half_edges_of(mask.nonzero()[0])
        return mask[self.src].nonzero()[0]

    def mean_trust(self, n: int) -> np.ndarray:
        """Mean trust of each practice in its peers (0.5 for a practice with none)."""
        total = np.bincount(self.ends, np.concatenate([self.trust, self.trust]), minlength=n)
        count = self.degree if len(self.degree) == n else np.bincount(self.ends, minlength=n)
        return np.divide(total, count, out=np.full(n, 0.5), where=count > 0)

    def mean_trust_within(self, group: np.ndarray) -> np.ndarray:
        """Mean trust of each practice in the peers of its own group (``group >= 0``); practices with no such
        peer get their mean trust in all peers (:meth:`mean_trust`)."""
        n = len(group)
        ends, same, count, alone = self._within(group)
        t = self.trust[same]
        total = np.bincount(ends, np.concatenate([t, t]), minlength=n)
        if len(alone) * 4 > n or len(self.degree) != n:
            return np.divide(total, count, out=self.mean_trust(n), where=count > 0)
        # few practices have no peer in their group: their mean over all peers comes from their own half-edges,
        # summed in the same order as :meth:`mean_trust` sums them (CSR order), so to the last bit the same
        out = np.divide(total, count, out=np.full(n, 0.5), where=count > 0)
        half = self.half_edges_of(alone)
        all_total = np.bincount(self.src[half], self.trust[self.eid[half]], minlength=n)[alone]
        deg = self.degree[alone]
        out[alone] = np.divide(all_total, deg, out=np.full(len(alone), 0.5), where=deg > 0)
        return out

    def _within(self, group: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For a grouping of the practices: both ends of the edges inside a group, those edges, how many each
        practice has, and the practices with none. Kept for the last two groupings seen (organisations and
        networks change membership far less often than trust changes)."""
        for key, value in self._within_cache:
            if key.shape == group.shape and np.array_equal(key, group):
                return value
        a, b = self.first, self.second
        ga = group[a]
        same = ((ga >= 0) & (ga == group[b])).nonzero()[0]
        ends = np.concatenate([a[same], b[same]])
        count = np.bincount(ends, minlength=len(group))
        value = (ends, same, count, (count == 0).nonzero()[0])
        self._within_cache = [(group.copy(), value), *self._within_cache[:1]]
        return value


def read_peer_graph(path: str) -> nx.Graph:
    """A user's relationship graph from a GraphML file (nodes are practice codes), or a one-line error."""
    from pathlib import Path

    where = f"parameter 'peer_graph' = {path!r}"
    file = Path(path)
    if not file.is_file():
        raise ParameterError(f"{where}: no such file (give a GraphML file whose nodes are practice codes)")
    try:
        graph = nx.read_graphml(file)
    except Exception as err:  # networkx raises several kinds for malformed files
        raise ParameterError(f"{where}: not a readable GraphML file ({type(err).__name__})") from None
    graph.graph["source"] = str(file)
    return graph


def peer_edges_from(graph: nx.Graph, practice_code) -> tuple[np.ndarray, np.ndarray]:
    """The peer edges of a user's relationship graph between the practices of a region.

    Nodes are practice codes (or carry one as their ``code`` attribute); nodes that are not practices of the
    region are left out, with their edges, so a national graph can serve one area. A ``trust`` edge attribute,
    if given, must be a number in [0, 1].

    Returns:
        (edges ``i < j`` sorted, trust per edge with NaN where the graph gives none).
    """
    where = f"peer graph {graph.graph.get('source', '')}".rstrip()
    index = {str(code): i for i, code in enumerate(practice_code)}
    known = {node: index.get(str(data.get("code", node))) for node, data in graph.nodes(data=True)}
    if graph.number_of_nodes() and not any(v is not None for v in known.values()):
        example = next(iter(graph.nodes))
        raise ParameterError(
            f"{where}: none of its {graph.number_of_nodes():,} nodes is a practice code of this region "
            f"(e.g. {str(example)!r})"
        )
    pairs: dict[tuple[int, int], float] = {}
    for a, b, data in graph.edges(data=True):
        i, j = known.get(a), known.get(b)
        if i is None or j is None or i == j:
            continue
        t = data.get("trust", math.nan)
        try:
            t = float(t)
        except (TypeError, ValueError):
            t = -1.0
        if not (math.isnan(t) or 0.0 <= t <= 1.0):
            raise ParameterError(f"{where}: edge {a!r}-{b!r} has trust {data.get('trust')!r}; allowed [0, 1]")
        pairs[(min(i, j), max(i, j))] = t
    if not pairs:
        return np.empty((0, 2), dtype=np.int64), np.empty(0)
    keys = sorted(pairs)
    return np.array(keys, dtype=np.int64), np.array([pairs[k] for k in keys], dtype=float)


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building objects that all stay alive.

    Building England's graph allocates enough containers to trigger many collections, each walking the
    growing heap for garbage that is not there: about half the build time. The collector is restored as it
    was (a caller that disabled it keeps it disabled).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_graph(ids: NodeIds, region, edges: np.ndarray, trust: np.ndarray) -> nx.Graph:
    """The starting relationship graph: practices, CCGs and hospitals with peer (``edges``, their starting
    ``trust``), commissioning and catchment edges. Organisations are added as they are founded."""
    g = nx.Graph()
    n = ids.n_practices
    g.add_nodes_from(
        (i, {"kind": "practice", "code": str(region.practice_code[i]), "pos": (float(region.x[i]), float(region.y[i]))})
        for i in range(n)
    )
    g.add_nodes_from((ids.ccg(c), {"kind": "ccg", "code": str(region.ccg_code[c])}) for c in range(ids.n_ccgs))
    g.add_nodes_from(
        (ids.hospital(h), {"kind": "hospital", "name": str(region.hospital_name[h])}) for h in range(ids.n_hospitals)
    )
    pairs = zip(edges.tolist(), trust.tolist(), strict=True)
    g.add_edges_from((a, b, {"kind": "peer", "trust": t}) for (a, b), t in pairs)
    g.add_edges_from((ids.ccg(c), i, {"kind": "commissions"}) for i, c in enumerate(region.ccg))
    g.add_edges_from((ids.hospital(h), i, {"kind": "serves"}) for i, h in enumerate(region.hospital))
    return g


def _graph_call(name: str, args: tuple, kwargs: dict, g: nx.Graph) -> object:
    """``g.name(*args, **kwargs)``: one kept change to the graph (picklable, unlike a lambda)."""
    return getattr(g, name)(*args, **kwargs)


def _set_node(node: int, key: str, value, g: nx.Graph) -> None:
    g.nodes[node][key] = value


class DeferredGraph:
    """The relationship graph, built when it is first asked for.

    Nothing in the monthly update reads the graph: the rules work on arrays, and every structural change is
    also made to the graph so that it stays the model's public record of who is related to whom. Building
    England's graph (tens of thousands of nodes and edges) and keeping it up to date costs more than a sixth of
    a run, so the graph is built on first use: until then each change is kept, in order, and replayed onto
    the starting graph when it is built; afterwards changes go straight to it. The graph a caller gets is the
    same, node for node, edge for edge and in the same order, as one kept up to date all along.

    Args:
        build: makes the starting graph (called once, with the garbage collector paused).
    """

    def __init__(self, build: Callable[[], nx.Graph]) -> None:
        self._build: Callable[[], nx.Graph] | None = build
        self._graph: nx.Graph | None = None
        self._changes: list[Callable[[nx.Graph], object]] = []

    @property
    def built(self) -> bool:
        """Whether the graph exists yet."""
        return self._graph is not None

    def get(self) -> nx.Graph:
        """The graph, built (and brought up to date) now if it was not yet."""
        if self._graph is None:
            assert self._build is not None
            with collection_paused():  # tens of thousands of dicts, all kept: nothing for the collector to find
                g = self._build()
                for change in self._changes:
                    change(g)
            self._graph, self._build, self._changes = g, None, []
        return self._graph

    def set(self, graph: nx.Graph) -> None:
        """Replace the graph (a caller's own); changes kept for the old one are dropped."""
        self._graph, self._build, self._changes = graph, None, []

    def change(self, fn: Callable[[nx.Graph], object]) -> None:
        """Apply ``fn(graph)`` now if the graph exists, else when it is built. ``fn`` must capture plain
        values (lists, ints), not arrays that may change before it runs, and be a module-level function or a
        ``functools.partial`` of one (not a lambda or a local function), so that a model whose graph is not
        built yet can still be pickled."""
        if self._graph is None:
            self._changes.append(fn)
        else:
            fn(self._graph)

    def add_edges_from(self, pairs, **attr) -> None:
        """``nx.Graph.add_edges_from`` (``pairs`` is read now)."""
        self.change(partial(_graph_call, "add_edges_from", (list(pairs),), attr))

    def remove_edges_from(self, pairs) -> None:
        """``nx.Graph.remove_edges_from`` (``pairs`` is read now)."""
        self.change(partial(_graph_call, "remove_edges_from", (list(pairs),), {}))

    def add_node(self, node: int, **attr) -> None:
        """``nx.Graph.add_node``."""
        self.change(partial(_graph_call, "add_node", (node,), attr))

    def add_edge(self, u: int, v: int, **attr) -> None:
        """``nx.Graph.add_edge``."""
        self.change(partial(_graph_call, "add_edge", (u, v), attr))

    def remove_edge(self, u: int, v: int) -> None:
        """``nx.Graph.remove_edge``."""
        self.change(partial(_graph_call, "remove_edge", (u, v), {}))

    def set_node(self, node: int, key: str, value) -> None:
        """``graph.nodes[node][key] = value``."""
        self.change(partial(_set_node, node, key, value))
