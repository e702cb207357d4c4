"""SQL text: statements from .sql files, and the column lists that ``alert_kinds`` declares.

In a statement, ``{condition_fields}`` stands for what an alert watches (threshold_price, ...,
horizon: the columns alerts and alert_triggers share) and ``{condition_fields:a}`` for the same
with a table alias; in a .sql file, a line ``-- include: name.sql`` stands for that file.
"""

from __future__ import annotations

import re
from pathlib import Path

from tickerwatch.alert_kinds import CONDITION_FIELDS

_INCLUDE = re.compile(r"^-- include: (\S+)$", re.MULTILINE)
_CONDITION_FIELDS = re.compile(r"\{condition_fields(?::(\w+))?\}")


def condition_columns(alias: str | None = None) -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + name for name in CONDITION_FIELDS)


def expand(statement: str) -> str:
    return _CONDITION_FIELDS.sub(lambda m: condition_columns(m.group(1)), statement)


def load(folder: Path, name: str) -> str:
    """A statement from its .sql file, each include replaced by the named file, columns expanded."""
    text = (folder / name).read_text()
    return expand(_INCLUDE.sub(lambda m: load(folder, m.group(1)).rstrip("\n"), text))
