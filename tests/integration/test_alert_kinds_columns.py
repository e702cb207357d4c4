"""The columns alert_kinds declares are the columns of alerts and alert_triggers, in both tables."""

from __future__ import annotations

from tickerwatch.alert_kinds import CONDITION_FIELDS, KINDS


def test_alerts_and_their_triggers_store_every_declared_field_and_kind(db):
    def columns(table: str) -> set[str]:
        rows = db.one(
            lambda conn: conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
            ).fetchall()
        )
        return {row["column_name"] for row in rows}

    for table in ("alerts", "alert_triggers"):
        assert set(CONDITION_FIELDS) <= columns(table), table
    # the table's own check of alert_type names exactly the declared kinds
    definition = db.one(
        lambda conn: conn.execute(
            "SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint"
            " WHERE conrelid = 'alerts'::regclass AND pg_get_constraintdef(oid) LIKE '%%alert_type%%'"
        ).fetchall()
    )
    named = " ".join(row["d"] for row in definition)
    for kind in KINDS:
        assert f"'{kind.name}'" in named, kind.name
