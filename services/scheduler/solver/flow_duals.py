"""The duals of an optimal flow, read off its residual network.

The residual network of an optimal flow has no negative cycle, so shortest distances from
the sink exist: to the sink they price what one place less at a slot would cost the others
(and one more member of a class), from it what one place more would save.
"""

from dataclasses import dataclass

import numpy as np

from services.scheduler.solver.cost import IntArray
from services.scheduler.solver.flow_network import INF, SINK


@dataclass(frozen=True)
class Residual:
    """The residual network of an optimal flow: no negative cycle, so distances exist."""

    nodes: int
    tail: IntArray
    head: IntArray
    cost: IntArray
    slot_of_node: dict[int, tuple[str, int]]
    sizes: dict[str, int]  # slots per service
    classes: int  # class nodes are 1 .. classes


@dataclass(frozen=True)
class FlowDuals:
    prices: dict[str, IntArray]  # per service and slot: one place less costs this
    gains: dict[str, IntArray]  # per service and slot: one place more saves this
    potentials: IntArray  # per class, in order: one more member costs this


def flow_duals(residual: Residual | None, idle: dict[str, int]) -> FlowDuals:
    """Slot prices, gains and class potentials; all zero when nothing was placed."""
    sizes = idle if residual is None else residual.sizes
    prices = {s: np.zeros(n, dtype=np.int64) for s, n in sizes.items()}
    gains = {s: np.zeros(n, dtype=np.int64) for s, n in sizes.items()}
    if residual is None:
        return FlowDuals(prices, gains, np.zeros(0, dtype=np.int64))
    r = residual
    to_sink = _shortest_from_sink(r.nodes, r.head, r.tail, r.cost)  # on reversed arcs
    from_sink = _shortest_from_sink(r.nodes, r.tail, r.head, r.cost)
    for node, (service, index) in r.slot_of_node.items():
        prices[service][index] = to_sink[node]
        gains[service][index] = max(0, -int(from_sink[node]))
    return FlowDuals(prices, gains, to_sink[1 : r.classes + 1])


def _shortest_from_sink(nodes: int, tail: IntArray, head: IntArray, cost: IntArray) -> IntArray:
    # Bellman-Ford from the sink along (tail -> head) arcs, in vectorised rounds.
    order = np.argsort(head, kind="stable")
    tail, head, cost = tail[order], head[order], cost[order]
    targets, starts = np.unique(head, return_index=True)
    distance = np.full(nodes, INF, dtype=np.int64)
    distance[SINK] = 0
    for _ in range(nodes):
        reach = np.minimum(distance[tail] + cost, INF)
        better = np.minimum(distance[targets], np.minimum.reduceat(reach, starts))
        if np.array_equal(better, distance[targets]):
            break
        distance[targets] = better
    return distance
