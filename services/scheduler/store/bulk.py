"""Many rows in few statements: what one input batch writes, table by table.

Ingestion writes thousands of rows per transaction. Row by row (`executemany`), each row
is a round through the driver: on SQLite a statement step that gives the GIL up and takes
it back, which a busy event loop delays by up to the interpreter's switch interval, so a
batch's write could not overlap the next batch's parsing. Here:

- SQLite: one multi-row `VALUES` statement per chunk of rows, under SQLite's limit on
  bound variables; the whole chunk is one step, run without the GIL.
- PostgreSQL: one array per column, `unnest`ed `WITH ORDINALITY` so rows keep their
  order (the outbox's sequence follows it): one statement per `pg_rows` rows (asyncpg
  encodes a statement's arrays on the event loop: a plan's 40,000 outbox rows in one held
  it for ~100 ms, while other lanes waited to write replies).

Upserts replace a row by its primary key; within one call the last row of a key wins, as
it would row by row (PostgreSQL refuses to update one row twice in one statement).
Statements are pure values: (SQL text, positional parameters) for `exec_driver_sql`.
"""

import itertools
import operator
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

Row = tuple[Any, ...]  # the table's columns, in the order `columns` gives
Statement = tuple[str, tuple[Any, ...]]

# SQLite refuses statements with more bound variables than this (999 before 3.32).
SQLITE_MAX_VARIABLES = 32_766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999
PG_ROWS_PER_STATEMENT = 5_000


class Bulk:
    """Builds bulk INSERT / upsert statements for one dialect ('sqlite' or 'postgresql')."""

    def __init__(self, dialect: sa.Dialect, max_variables: int = SQLITE_MAX_VARIABLES,
                 pg_rows: int = PG_ROWS_PER_STATEMENT) -> None:
        if dialect.name not in ("sqlite", "postgresql"):
            raise ValueError(f"no bulk statements for {dialect.name}")
        self.dialect = dialect
        self.max_variables = max_variables
        self.pg_rows = pg_rows
        self._quote = dialect.identifier_preparer.quote
        self._templates: dict[tuple[str, tuple[str, ...], bool], tuple[str, str, str]] = {}

    def upsert(self, table: sa.Table, rows: Sequence[Row]) -> list[Statement]:
        """Insert `rows` (every column of `table`, in order), replacing rows of the same key."""
        columns = tuple(c.name for c in table.columns)
        if self.dialect.name == "postgresql" and len(rows) > 1:  # SQLite applies rows in order
            key = operator.itemgetter(*[columns.index(c.name) for c in table.primary_key.columns])
            rows = list({key(r): r for r in rows}.values())
        return self._statements(table, columns, list(rows), upsert=True)

    def insert(self, table: sa.Table, columns: Sequence[str],
               rows: Sequence[Row]) -> list[Statement]:
        """Insert `rows` (values of `columns`, in order); ids the table assigns follow it."""
        return self._statements(table, tuple(columns), list(rows), upsert=False)

    def _statements(self, table: sa.Table, columns: tuple[str, ...], rows: list[Row],
                    upsert: bool) -> list[Statement]:
        if not rows:
            return []
        for r in rows:
            if len(r) != len(columns):
                raise ValueError(f"{table.name}: a row of {len(r)} values for {len(columns)} "
                                 f"columns")
        head, group, tail = self._template(table, columns, upsert)
        if self.dialect.name == "postgresql":
            return [(head, tuple(list(values) for values in zip(*rows[i:i + self.pg_rows],
                                                                 strict=True)))
                    for i in range(0, len(rows), self.pg_rows)]
        per_statement = max(1, self.max_variables // len(columns))
        statements = []
        for i in range(0, len(rows), per_statement):
            chunk = rows[i:i + per_statement]
            params = tuple(itertools.chain.from_iterable(chunk))
            statements.append((head + ",".join([group] * len(chunk)) + tail, params))
        return statements

    def _template(self, table: sa.Table, columns: tuple[str, ...],
                  upsert: bool) -> tuple[str, str, str]:
        """(head, one row's placeholders, tail); PostgreSQL's head is the whole statement."""
        cache_key = (table.name, columns, upsert)
        cached = self._templates.get(cache_key)
        if cached is not None:
            return cached
        q = self._quote
        names = ", ".join(q(c) for c in columns)
        keys = [c.name for c in table.primary_key.columns]
        updated = [c for c in columns if c not in keys]
        conflict = ""
        if upsert:
            action = ("DO UPDATE SET " + ", ".join(f"{q(c)} = excluded.{q(c)}" for c in updated)
                      if updated else "DO NOTHING")
            conflict = f" ON CONFLICT ({', '.join(q(k) for k in keys)}) {action}"
        target = f"INSERT INTO {q(table.name)} ({names})"
        if self.dialect.name == "postgresql":
            arrays = ", ".join(f"${i}::{self._pg_type(table.c[c])}[]"
                               for i, c in enumerate(columns, start=1))
            alias = ", ".join(q(c) for c in columns)
            cached = (f"{target} SELECT {names} FROM unnest({arrays}) WITH ORDINALITY "
                      f"AS u({alias}, reslot_row) ORDER BY reslot_row{conflict}", "", "")
        else:
            cached = (f"{target} VALUES ", "(" + ", ".join("?" * len(columns)) + ")", conflict)
        self._templates[cache_key] = cached
        return cached

    def _pg_type(self, column: sa.Column[Any]) -> str:
        """The array's element type. Strings travel as text: a cast to varchar(n) would
        truncate, while assigning text to the column refuses a value that is too long."""
        kind = column.type
        if isinstance(kind, sa.LargeBinary):
            return "bytea"
        if isinstance(kind, sa.BigInteger):
            return "bigint"
        if isinstance(kind, sa.Integer):
            return "integer"
        if isinstance(kind, sa.String):
            return "text"
        compiled: Callable[..., str] = kind.compile
        return compiled(dialect=self.dialect)


def runs(values: Sequence[int]) -> list[tuple[int, int]]:
    """`values` as the fewest inclusive ranges (first, last), ascending: what the relay
    publishes is read in sequence order, so a batch's sequence numbers are a few runs."""
    out: list[tuple[int, int]] = []
    for v in sorted(set(values)):
        if out and v == out[-1][1] + 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out

