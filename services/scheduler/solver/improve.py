"""Local search over family placements, each step checked by an exact flow.

With families fixed, the best places of all single bookings are one min-cost flow, so a
layout is just "where the families are". A step moves the families whose best window
(by cost plus the dual prices of the current flow, minus what their old places are worth
to others) looks cheaper, then re-solves the flow and keeps the step only if the real
cost went down; a step that does not pay is retried with half as many families.
The number of flows solved is the budget, so the search is deterministic.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.scheduler.solver.cost import IntArray
from services.scheduler.solver.families import Family, MemberCosts, Room, SlotRef
from services.scheduler.solver.flow import FlowResult, min_cost_placement
from services.scheduler.solver.repair import FamilyPlaces
from services.scheduler.solver.seating import best_window
from services.scheduler.solver.tables import BookingClass, ServiceSlots


@dataclass(frozen=True)
class Layout:
    """Families where they are, single bookings at their exact best around them."""

    families: FamilyPlaces
    singles: FlowResult
    cost: int


@dataclass(frozen=True)
class _Move:
    gain: int  # estimated saving
    group_id: str
    places: tuple[SlotRef | None, ...]


@dataclass(frozen=True)
class Neighbourhood:
    """What the search needs to price and evaluate a layout."""

    together: Sequence[Family]
    singles: Sequence[BookingClass]
    costs: MemberCosts
    movable: frozenset[str]  # group ids worth moving

    @property
    def tables(self) -> Mapping[str, ServiceSlots]:
        return self.costs.tables

    def evaluate(self, places: FamilyPlaces) -> Layout:
        """The exact cost of a family layout: families' own cost plus the singles' flow."""
        flow = min_cost_placement(self.singles, dict(self.tables), self._room(places),
                                  self.costs.policy)
        own = sum(self.family_cost(f, places[f.group_id]) for f in self.together)
        return Layout(places, flow, flow.cost + own)

    def family_cost(self, family: Family, places: Sequence[SlotRef | None]) -> int:
        total = 0
        for member, ref in zip(family.members, places, strict=True):
            cls = self.costs.class_of[member.booking_id]
            total += cls.unplaced if ref is None else int(self.costs.costs(member)[ref[1]])
        return total

    def _room(self, places: FamilyPlaces) -> dict[str, IntArray]:
        # Places left for single bookings once every family is seated.
        room = {service: table.free.copy() for service, table in self.tables.items()}
        for refs in places.values():
            for ref in refs:
                if ref is not None:
                    room[ref[0]][ref[1]] -= 1
        return room

    def improve(self, layout: Layout, flows: int) -> Layout:
        """Better layouts while the budget of flow solves lasts.

        Candidate moves are priced optimistically (new places at what one place more
        would save the others, places given back at what one place less would cost
        them): with degenerate duals the truth lies in between, and only the exact
        re-solve decides. A batch that fails is halved; a single move that fails is not
        tried again.
        """
        tried: set[tuple[str, tuple[SlotRef | None, ...]]] = set()
        while flows > 0:
            moves = [m for m in self._moves(layout) if (m.group_id, m.places) not in tried]
            batch = self._independent(moves)
            if not batch:
                return layout
            while batch and flows > 0:
                trial = self.evaluate({**layout.families, **{m.group_id: m.places for m in batch}})
                flows -= 1
                if trial.cost < layout.cost:
                    layout = trial
                    break
                if len(batch) == 1:
                    tried.add((batch[0].group_id, batch[0].places))
                batch = batch[: len(batch) // 2]
        return layout

    def _moves(self, layout: Layout) -> list[_Move]:
        # Optimistic prices: swap the roles of the flow's two duals.
        room = Room(self._room(layout.families), layout.singles.gains, layout.singles.prices)
        found = []
        for family in self.together:
            if family.group_id in self.movable:
                move = self._best_move(family, layout, room)
                if move is not None:
                    found.append(move)
        return sorted(found, key=lambda m: (-m.gain, m.group_id))

    def _best_move(self, family: Family, layout: Layout, room: Room) -> _Move | None:
        current = layout.families[family.group_id]
        held = [ref for ref in current if ref is not None]
        for service, index in held:
            room.hard[service][index] += 1
        room.own = Counter(held)
        window = best_window(family, self.costs, room)
        for service, index in held:
            room.hard[service][index] -= 1
        room.own = Counter()
        now = self.family_cost(family, current)
        given_back = sum(map(room.kept_price, held))
        options = []
        if held:
            leave = self.family_cost(family, (None,) * len(current))
            options.append(_Move(now + given_back - leave, family.group_id, (None,) * len(current)))
        if window is not None and window.places != current:  # score counts kept places too
            options.append(_Move(now + given_back - window.score, family.group_id, window.places))
        best = max(options, key=lambda m: m.gain, default=None)
        return best if best is not None and best.gain > 0 else None

    @staticmethod
    def _independent(moves: list[_Move]) -> list[_Move]:
        # Moves touching no common slot, so their estimates do not double-count a place.
        touched: set[SlotRef] = set()
        chosen = []
        for move in moves:
            refs = {ref for ref in move.places if ref is not None}
            if refs & touched:
                continue
            touched |= refs
            chosen.append(move)
        return chosen
