"""Min-cost flow over booking classes and slots: exact when families are ignored.

Network, per service:  class --direct--> slot --> sink,  class --> sink (unplaced),
and  class --> day hub --> slot  for whole days other than the class's own day.

Why day hubs: for a slot on another day the cost splits exactly into a part that depends
on (class, day) and a part that depends on (day, slot) only (times move linearly, the day
change and the lateness are per day), so one arc per kept day replaces one per slot.

Why the pruning is exact: in an optimal flow a class only uses a slot if every strictly
cheaper slot of its is full, and full slots hold at most the service's whole demand D.
So a class never needs a slot dearer than tau, the price at which the cheapest of its
days already offer D places; days whose cheapest slot is dearer than tau are left out.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import min_cost_flow

from services.scheduler.solver.model import Policy
from services.scheduler.solver.tables import (
    BookingClass,
    BoolArray,
    IntArray,
    ServiceSlots,
    class_costs,
)

INF = np.int64(2**60)
SINK = 0
DIRECT, TO_HUB, FROM_HUB, UNPLACED, TO_SINK = range(5)


@dataclass
class ClassFlow:
    """Where the members of one class go: slot index of its service -> count."""

    placed: dict[int, int] = field(default_factory=dict)
    unplaced: int = 0


@dataclass(frozen=True)
class _Residual:
    """The residual network of an optimal flow: no negative cycle, so distances exist."""

    nodes: int
    tail: IntArray
    head: IntArray
    cost: IntArray
    slot_of_node: dict[int, tuple[str, int]]
    sizes: dict[str, int]  # slots per service
    classes: int  # class nodes are 1 .. classes


class FlowResult:
    """An optimal flow: its cost, each class's places, and (computed when first asked) the
    slot duals that price a place taken from, or given to, the others."""

    def __init__(self, cost: int, classes: tuple[ClassFlow, ...],
                 residual: _Residual | None = None,
                 idle: dict[str, int] | None = None) -> None:
        self.cost = cost
        self.classes = classes  # same order as the classes given
        self._residual = residual
        self._idle = idle or {}
        self._duals: _Duals | None = None

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

    def _computed_duals(self) -> "_Duals":
        if self._duals is None:
            self._duals = _duals(self._residual, self._idle)
        return self._duals


@dataclass(frozen=True)
class _Duals:
    prices: dict[str, IntArray]
    gains: dict[str, IntArray]
    potentials: IntArray


def _duals(residual: _Residual | None, idle: dict[str, int]) -> _Duals:
    sizes = idle if residual is None else residual.sizes
    prices = {s: np.zeros(n, dtype=np.int64) for s, n in sizes.items()}
    gains = {s: np.zeros(n, dtype=np.int64) for s, n in sizes.items()}
    if residual is None:
        return _Duals(prices, gains, np.zeros(0, dtype=np.int64))
    r = residual
    to_sink = _shortest_from_sink(r.nodes, r.head, r.tail, r.cost)  # on reversed arcs
    from_sink = _shortest_from_sink(r.nodes, r.tail, r.head, r.cost)
    for node, (service, index) in r.slot_of_node.items():
        prices[service][index] = to_sink[node]
        gains[service][index] = max(0, -int(from_sink[node]))
    return _Duals(prices, gains, to_sink[1 : r.classes + 1])


@dataclass
class _Network:
    """Arcs collected in numpy chunks, with what each arc means for decoding."""

    next_node: int
    # Capacity of every arc but slot -> sink: more than all supply, so no such arc is ever
    # saturated and the node potentials are duals of the plain transportation problem
    # (capped arcs would add duals of their own and leave the slot prices inconsistent).
    open: int = 0
    tails: list[IntArray] = field(default_factory=list)
    heads: list[IntArray] = field(default_factory=list)
    caps: list[IntArray] = field(default_factory=list)
    costs: list[IntArray] = field(default_factory=list)
    kinds: list[IntArray] = field(default_factory=list)
    slot_of_node: dict[int, tuple[str, int]] = field(default_factory=dict)

    def add(self, kind: int, tails: IntArray, heads: IntArray, caps: IntArray,
            costs: IntArray) -> None:
        self.tails.append(tails)
        self.heads.append(heads)
        self.caps.append(caps)
        self.costs.append(costs)
        self.kinds.append(np.full(len(tails), kind, dtype=np.int64))

    def open_caps(self, count: int) -> IntArray:
        return np.full(count, self.open, dtype=np.int64)

    def new_nodes(self, count: int) -> IntArray:
        nodes = np.arange(self.next_node, self.next_node + count, dtype=np.int64)
        self.next_node += count
        return nodes


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
    net = _Network(next_node=len(classes) + 1, open=sum(c.size for c in classes) + 1)
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
            _service_network(net, classes, np.array(indices, dtype=np.int64), table,
                             capacity[service], policy)
    _extra_arcs(net, classes, tables, extra or {}, policy)
    return _solve(net, classes, {service: len(table.free) for service, table in tables.items()})


def _extra_arcs(
    net: _Network, classes: Sequence[BookingClass], tables: dict[str, ServiceSlots],
    extra: Mapping[int, Sequence[int]], policy: Policy,
) -> None:
    node_of = {ref: node for node, ref in net.slot_of_node.items()}
    for position, indices in sorted(extra.items()):
        cls = classes[position]
        cost = class_costs(cls, tables[cls.service], policy)
        wanted = [(node_of[(cls.service, i)], int(cost[i])) for i in indices
                  if (cls.service, i) in node_of]
        net.add(DIRECT, np.full(len(wanted), position + 1, dtype=np.int64),
                np.array([n for n, _ in wanted], dtype=np.int64), net.open_caps(len(wanted)),
                np.array([c for _, c in wanted], dtype=np.int64))


@dataclass(frozen=True)
class _Days:
    """The usable slots of a service grouped by local day."""

    usable: IntArray  # table index of each usable slot
    minute: IntArray
    free: IntArray
    nodes: IntArray  # network node of each usable slot
    ordinal: IntArray  # per day
    first: IntArray  # per day, position in `usable` of its first slot
    end: IntArray
    base: IntArray  # first start minute of the day
    top: IntArray  # last start minute of the day
    prefix_free: IntArray


def _days(net: _Network, table: ServiceSlots, free: IntArray) -> _Days:
    usable = np.flatnonzero(free > 0).astype(np.int64)
    minute = table.minute[usable]
    ordinal, first = np.unique(table.day[usable], return_index=True)
    end = np.append(first[1:], len(usable)).astype(np.int64)
    nodes = net.new_nodes(len(usable))
    for node, index in zip(nodes.tolist(), usable.tolist(), strict=True):
        net.slot_of_node[node] = (table.service, index)
    net.add(TO_SINK, nodes, np.zeros_like(nodes), free[usable], np.zeros_like(nodes))
    return _Days(
        usable=usable, minute=minute, free=free[usable], nodes=nodes,
        ordinal=ordinal.astype(np.int64), first=first.astype(np.int64), end=end,
        base=minute[first], top=minute[end - 1],
        prefix_free=np.concatenate([[0], np.cumsum(free[usable])]).astype(np.int64),
    )


def _service_network(
    net: _Network,
    classes: Sequence[BookingClass],
    indices: IntArray,
    table: ServiceSlots,
    free: IntArray,
    policy: Policy,
) -> None:
    if not (free > 0).any():
        return  # nothing left in this service: its classes can only stay unplaced
    days = _days(net, table, free)
    demand = sum(classes[i].size for i in indices.tolist())
    windowed = np.array([classes[i].window is not None for i in indices.tolist()], dtype=bool)
    for index in indices[windowed].tolist():
        _window_arcs(net, classes[index], index + 1, days, policy)
    indices = indices[~windowed]
    if len(indices) == 0:
        return
    picked = [classes[i] for i in indices.tolist()]
    col = _ClassColumns.of(picked, days, policy)
    blocks = _day_blocks(col, days, policy)
    tau = _price_cap(blocks, demand)
    keep = (blocks.low <= tau[:, None]) & (blocks.low < col.unplaced[:, None]) & (
        blocks.free > 0
    )
    via_hub = keep & blocks.whole & ~blocks.same
    _hub_arcs(net, col, days, blocks, via_hub, indices + 1)
    _direct_arcs(net, col, days, blocks, keep & ~via_hub, tau, indices + 1, policy)


@dataclass(frozen=True)
class _ClassColumns:
    """Per-class numbers as column vectors, for class x day arithmetic."""

    minute: IntArray
    day: IntArray
    weight: IntArray
    deadline: IntArray
    reach: IntArray  # usable slots [0, reach) are within the horizon
    size: IntArray
    unplaced: IntArray

    @staticmethod
    def of(picked: list[BookingClass], days: _Days, policy: Policy) -> "_ClassColumns":
        def column(values: list[int]) -> IntArray:
            return np.array(values, dtype=np.int64)[:, None]

        reach = np.searchsorted(days.usable, np.array([c.reach for c in picked]))
        return _ClassColumns(
            minute=column([c.from_minute for c in picked]),
            day=column([c.from_day for c in picked]),
            weight=column([c.weight for c in picked]),
            deadline=column([c.deadline for c in picked]),
            reach=reach.astype(np.int64)[:, None],
            size=np.array([c.size for c in picked], dtype=np.int64),
            unplaced=np.array([c.unplaced for c in picked], dtype=np.int64),
        )


@dataclass(frozen=True)
class _Blocks:
    """class x day: price range [low, high] of the day's reachable slots, and their places."""

    low: IntArray
    high: IntArray
    free: IntArray
    end: IntArray  # position past the last reachable slot of the day
    late: IntArray
    whole: BoolArray  # every slot of the day is within reach
    same: BoolArray  # the class's own day
    later: BoolArray


def _day_blocks(col: _ClassColumns, days: _Days, policy: Policy) -> _Blocks:
    w = col.weight
    change = policy.day_change_penalty
    end = np.maximum(np.minimum(days.end[None, :], col.reach), days.first[None, :])
    free = days.prefix_free[end] - days.prefix_free[days.first][None, :]
    late = w * policy.late_day_penalty * np.maximum(0, days.ordinal[None, :] - col.deadline)
    later = days.ordinal[None, :] > col.day
    earlier = days.ordinal[None, :] < col.day
    same = ~later & ~earlier
    low = np.where(later, w * (days.base - col.minute + change),
                   np.where(earlier, w * (col.minute - days.top + change), 0)) + late
    spread = np.maximum(np.abs(col.minute - days.base), np.abs(days.top - col.minute))
    high = np.where(later, w * (days.top - col.minute + change),
                    np.where(earlier, w * (col.minute - days.base + change), w * spread)) + late
    empty = free <= 0
    return _Blocks(
        low=np.where(empty, INF, low), high=np.where(empty, INF, high), free=free, end=end,
        late=late, whole=end >= days.end[None, :], same=same, later=later,
    )


def _price_cap(blocks: _Blocks, demand: int) -> IntArray:
    # tau per class: the dearest price among its cheapest days that together hold `demand`.
    order = np.argsort(blocks.high, axis=1, kind="stable")
    high = np.take_along_axis(blocks.high, order, axis=1)
    enough = np.cumsum(np.take_along_axis(blocks.free, order, axis=1), axis=1) >= demand
    first = enough.argmax(axis=1)
    capped = high[np.arange(len(high)), first]
    return np.where(enough.any(axis=1), capped, INF)


def _hub_arcs(
    net: _Network, col: _ClassColumns, days: _Days, blocks: _Blocks, via_hub: BoolArray,
    class_nodes: IntArray,
) -> None:
    rows, day_index = np.nonzero(via_hub)
    if len(rows) == 0:
        return
    later = blocks.later[rows, day_index].astype(np.int64)
    code = (col.weight[rows, 0] * len(days.ordinal) + day_index) * 2 + later
    codes, hub_of_pair = np.unique(code, return_inverse=True)
    hubs = net.new_nodes(len(codes))
    net.add(TO_HUB, class_nodes[rows], hubs[hub_of_pair], net.open_caps(len(rows)),
            blocks.low[rows, day_index])
    for hub, hub_code in zip(hubs.tolist(), codes.tolist(), strict=True):
        weight, rest = divmod(hub_code // 2, len(days.ordinal))
        span = slice(int(days.first[rest]), int(days.end[rest]))
        minute = days.minute[span]
        offset = minute - days.base[rest] if hub_code % 2 else days.top[rest] - minute
        net.add(FROM_HUB, np.full(len(minute), hub, dtype=np.int64), days.nodes[span],
                net.open_caps(len(minute)), weight * offset)


def _direct_arcs(
    net: _Network, col: _ClassColumns, days: _Days, blocks: _Blocks, direct: BoolArray,
    tau: IntArray, class_nodes: IntArray, policy: Policy,
) -> None:
    for row, day_index in zip(*(a.tolist() for a in np.nonzero(direct)), strict=True):
        span = slice(int(days.first[day_index]), int(blocks.end[row, day_index]))
        change = 0 if blocks.same[row, day_index] else policy.day_change_penalty
        distance = np.abs(days.minute[span] - col.minute[row, 0])
        cost = col.weight[row, 0] * (distance + change) + blocks.late[row, day_index]
        worth = (cost <= tau[row]) & (cost < col.unplaced[row])
        count = int(worth.sum())
        net.add(DIRECT, np.full(count, class_nodes[row], dtype=np.int64),
                days.nodes[span][worth], net.open_caps(count), cost[worth])


def _window_arcs(
    net: _Network, cls: BookingClass, node: int, days: _Days, policy: Policy
) -> None:
    # A member who must join family members staying put may only go near them.
    if cls.window is None:
        return
    day, lo, hi = cls.window
    reach = int(np.searchsorted(days.usable, cls.reach))
    at = np.flatnonzero(days.ordinal == day)
    if len(at) == 0:
        return
    span = slice(int(days.first[at[0]]), min(int(days.end[at[0]]), reach))
    minute = days.minute[span]
    change = 0 if day == cls.from_day else policy.day_change_penalty
    late = policy.late_day_penalty * max(0, day - cls.deadline)
    cost = cls.weight * (np.abs(minute - cls.from_minute) + change + late)
    fits = (minute >= lo) & (minute <= hi) & (cost < cls.unplaced)
    count = int(fits.sum())
    net.add(DIRECT, np.full(count, node, dtype=np.int64), days.nodes[span][fits],
            net.open_caps(count), cost[fits])


def _solve(
    net: _Network, classes: Sequence[BookingClass], sizes: dict[str, int]
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
    residual = _Residual(
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


def _decode(
    net: _Network, tails: IntArray, heads: IntArray, kinds: IntArray, used: IntArray,
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
