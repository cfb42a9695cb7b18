"""The SMTP policies of the e-mail channel, with a header factory that remembers.

`email.policy.SMTP` parses every header value it is given into a header object (a parse
tree), and folds that tree again each time the message is written; its `HeaderRegistry`
even makes a new header class for every header. Most of what a notification sets is the
same from one message to the next (From, Subject per subject, Auto-Submitted, MIME-Version,
the parts' Content-Type and Content-Transfer-Encoding, Content-Language): parsing and
folding them was most of the time it took to compose an e-mail.

`MemoHeaderRegistry` makes one class per header name, and the header object of a (name,
string value) once, in a bounded cache per name; each folds itself once per policy.
Header objects are read-only (a message replaces a header, never changes one), so sharing
them between messages changes nothing in what is written: the bytes are the policy's own.
"""

import email.policy
from collections import OrderedDict
from email.headerregistry import BaseHeader, HeaderRegistry
from email.policy import EmailPolicy
from typing import Any, Self

# A header object folds itself for a few policies at most: ours, and one a test might write
# the message with; another policy folds it each time.
_POLICIES_PER_HEADER = 4


class FoldedOnce(BaseHeader):
    """A header object that folds itself once per policy (for a few), and then repeats it."""

    def fold(self, *, policy: Any) -> str:
        folds: dict[Any, str] = self.__dict__.setdefault("_folds", {})
        folded = folds.get(policy)
        if folded is None:
            folded = super().fold(policy=policy)
            if len(folds) < _POLICIES_PER_HEADER:
                folds[policy] = folded
        return folded


class MemoHeaderRegistry(HeaderRegistry):
    """A `HeaderRegistry` with one class per header name, and the header objects of the last
    `size` string values of each header name: a name whose every value is new (Message-ID)
    does not push out the values of another that repeat (Subject)."""

    def __init__(self, size: int = 256) -> None:
        super().__init__(base_class=FoldedOnce)
        self._size = size
        self._classes: dict[str, type[BaseHeader]] = {}
        self._made: dict[str, OrderedDict[str, BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:  # what HeaderRegistry makes at every call, made once per name
            cls = self._classes[key] = super().__getitem__(name)
        return cls

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if type(value) is not str:  # an Address, a datetime...: made each time
            return self[name](name, value)
        made = self._made.get(name)  # by the name as written: it is written as given
        if made is None:
            made = self._made[name] = OrderedDict()
        header = made.get(value)
        if header is None:
            header = made[value] = self[name](name, value)
            if len(made) > self._size:
                made.popitem(last=False)
        else:
            made.move_to_end(value)
        return header


class SameClonePolicy(EmailPolicy):
    """An `EmailPolicy` whose clone is itself when nothing changes: the generator clones its
    policy, with the same line separator, for every part of a multipart message, and a fold
    is remembered per policy object."""

    def clone(self, **kw: Any) -> Self:
        if all(getattr(self, name) == value for name, value in kw.items()):
            return self  # policies are immutable: an equal copy is this one
        return super().clone(**kw)


_REGISTRY = MemoHeaderRegistry()
# The standard library's SMTP and SMTPUTF8 policies, but for the header factory.
SMTP = SameClonePolicy(**{**email.policy.SMTP.__dict__, "header_factory": _REGISTRY})
SMTPUTF8 = SMTP.clone(utf8=True)
