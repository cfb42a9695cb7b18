"""Min-cost flow over booking classes and slots: exact when families are ignored.

flow_network.py builds the pruned network (day hubs, exact pruning), this module solves it
and decodes each class's places; flow_duals.py reads the duals off the residual network.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import min_cost_flow

from services.scheduler.solver.cost import IntArray
from services.scheduler.solver.flow_duals import FlowDuals, Residual, flow_duals
from services.scheduler.solver.flow_network import (
    DIRECT,
    FROM_HUB,
    SINK,
    TO_HUB,
    UNPLACED,
    Network,
    extra_arcs,
    service_network,
)
from services.scheduler.solver.model import Policy
from services.scheduler.solver.tables import BookingClass, ServiceSlots


@dataclass
class ClassFlow:
    """Where the members of one class go: slot index of its service -> count."""

    placed: dict[int, int] = field(default_factory=dict)
    unplaced: int = 0


class FlowResult:
    """An optimal flow: its cost, each class's places, and (computed when first asked) the
    slot duals that price a place taken from, or given to, the others."""

    def __init__(self, cost: int, classes: tuple[ClassFlow, ...],
                 residual: Residual | None = None,
                 idle: dict[str, int] | None = None) -> None:
        self.cost = cost
        self.classes = classes  # same order as the classes given
        self._residual = residual
        self._idle = idle or {}
        self._duals: FlowDuals | None = None

    @property
    def prices(self) -> dict[str, IntArray]:
        """Per service and slot: what one place less there would cost (0 where spare)."""
        return self._computed_duals().prices

    @property
    def gains(self) -> dict[str, IntArray]:
        """Per service and slot: what one place more there would save (0 if unwanted)."""
        return self._computed_duals().gains

    @property
    def potentials(self) -> IntArray:
        """Per class (in order): what one more member of it would cost (its dual)."""
        return self._computed_duals().potentials

    def _computed_duals(self) -> FlowDuals:
        if self._duals is None:
            self._duals = flow_duals(self._residual, self._idle)
        return self._duals


def min_cost_placement(
    classes: Sequence[BookingClass],
    tables: dict[str, ServiceSlots],
    capacity: dict[str, IntArray],
    policy: Policy,
    extra: Mapping[int, Sequence[int]] | None = None,
) -> FlowResult:
    """The cheapest way to place (or not) every class, slot capacities respected.

    extra: more slots (table indices) to connect given classes (by position) to, beyond
    what the pruning keeps; they never change the optimum, only which duals come out.
    """
    if not classes:
        return FlowResult(0, (), idle={s: len(t.free) for s, t in tables.items()})
    net = Network(next_node=len(classes) + 1, open=sum(c.size for c in classes) + 1)
    class_nodes = np.arange(1, len(classes) + 1, dtype=np.int64)
    unplaced = np.array([c.unplaced for c in classes], dtype=np.int64)
    net.add(UNPLACED, class_nodes, np.zeros_like(class_nodes), net.open_caps(len(classes)),
            unplaced)
    by_service: dict[str, list[int]] = defaultdict(list)
    for index, cls in enumerate(classes):
        by_service[cls.service].append(index)
    for service, indices in sorted(by_service.items()):
        table = tables.get(service)
        if table is not None:
            service_network(net, classes, np.array(indices, dtype=np.int64), table,
                             capacity[service], policy)
    extra_arcs(net, classes, tables, extra or {}, policy)
    return _solve(net, classes, {service: len(table.free) for service, table in tables.items()})


def _solve(
    net: Network, classes: Sequence[BookingClass], sizes: dict[str, int]
) -> FlowResult:
    tails = np.concatenate(net.tails)
    heads = np.concatenate(net.heads)
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), np.concatenate(net.caps),
        np.concatenate(net.costs),
    )
    supplies = np.zeros(net.next_node, dtype=np.int64)
    supplies[1 : len(classes) + 1] = [c.size for c in classes]
    supplies[SINK] = -supplies.sum()
    flow.set_nodes_supplies(np.arange(net.next_node, dtype=np.int32), supplies)
    status = flow.solve()
    if status != min_cost_flow.SimpleMinCostFlow.OPTIMAL:
        raise RuntimeError(f"min cost flow failed: {status}")  # unplaced arcs make it feasible
    used = np.asarray(flow.flows(np.arange(len(tails), dtype=np.int32)))
    caps, costs = np.concatenate(net.caps), np.concatenate(net.costs)
    spare, back = used < caps, used > 0
    residual = Residual(
        nodes=net.next_node,
        tail=np.concatenate([tails[spare], heads[back]]),
        head=np.concatenate([heads[spare], tails[back]]),
        cost=np.concatenate([costs[spare], -costs[back]]),
        slot_of_node=net.slot_of_node,
        sizes=sizes,
        classes=len(classes),
    )
    return FlowResult(
        int(flow.optimal_cost()),
        _decode(net, tails, heads, np.concatenate(net.kinds), used, len(classes)),
        residual,
    )


def _decode(
    net: Network, tails: IntArray, heads: IntArray, kinds: IntArray, used: IntArray,
    count: int,
) -> tuple[ClassFlow, ...]:
    result = [ClassFlow() for _ in range(count)]
    hub_in: dict[int, list[tuple[int, int]]] = defaultdict(list)
    hub_out: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for arc in np.flatnonzero(used > 0).tolist():
        tail, head, kind, amount = int(tails[arc]), int(heads[arc]), int(kinds[arc]), int(used[arc])
        if kind == DIRECT:
            _add(result[tail - 1], net.slot_of_node[head][1], amount)
        elif kind == UNPLACED:
            result[tail - 1].unplaced += amount
        elif kind == TO_HUB:
            hub_in[head].append((tail - 1, amount))
        elif kind == FROM_HUB:
            hub_out[tail].append((net.slot_of_node[head][1], amount))
    for hub, inflows in hub_in.items():
        _pair(inflows, hub_out[hub], result)
    return tuple(result)


def _pair(
    inflows: list[tuple[int, int]], outflows: list[tuple[int, int]], result: list[ClassFlow]
) -> None:
    # Any matching of a hub's inflow to its outflow costs the same: the costs are separable.
    outs = [list(o) for o in outflows]
    position = 0
    for cls, amount in inflows:
        left = amount
        while left > 0:
            slot, available = outs[position]
            taken = min(left, available)
            _add(result[cls], slot, taken)
            left -= taken
            outs[position][1] -= taken
            if outs[position][1] == 0:
                position += 1


def _add(flow: ClassFlow, slot: int, amount: int) -> None:
    flow.placed[slot] = flow.placed.get(slot, 0) + amount
