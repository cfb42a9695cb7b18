"""Inbound SMS replies: what the text says (pure).

`1`, `OK`, `OUI`, `نعم` confirm (trimmed, any case), optionally followed by the reply code
of one offer; `2` asks for the link; anything else gets the help text (CONTRACT v1.1).
Arabic-Indic digits count as digits: a phone set to Arabic may type `١`.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

CONFIRM = frozenset({"1", "ok", "oui", "نعم"})
LINK = frozenset({"2"})
CODE_CHARS = frozenset("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")  # services.common.links
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")

Action = Literal["confirm", "link", "help"]
Item = TypeVar("Item")


@dataclass(frozen=True)
class Keyword:
    action: Action
    code: str | None = None  # the reply code that picks one offer, when given


def parse(text: str) -> Keyword:
    """What an inbound text asks for."""
    words = text.translate(_DIGITS).strip().split()
    if not words:
        return Keyword("help")
    first = words[0].casefold().rstrip(".!")
    action: Action | None = "confirm" if first in CONFIRM else "link" if first in LINK else None
    if action is None or len(words) > 2:
        return Keyword("help")
    if len(words) == 1:
        return Keyword(action)
    code = words[1].upper()
    if not 4 <= len(code) <= 16 or not set(code) <= CODE_CHARS:
        return Keyword("help")
    return Keyword(action, code)


def chosen(offers: Sequence[Item], code: str | None,
           code_of: Callable[[Item], set[str]]) -> list[Item]:
    """The offers a reply is about: the one whose code it gives (`code_of`: its codes under
    every link secret, for rotation), else all of them (a family answers as one)."""
    if code is None:
        return list(offers)
    return [o for o in offers if code in code_of(o)]
