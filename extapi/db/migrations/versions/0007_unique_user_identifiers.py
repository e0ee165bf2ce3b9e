"""unique usernames, idnumbers and e-mail addresses, kept by the database

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from extapi.errors import MigrationRefused

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Written out here rather than imported, so that this revision stays what it was.
_IDNUMBER_CHECKED = {
    "sqlite": "trim(idnumber, char(32, 9, 10, 13, 11)) NOT IN ('', '0')",
    "postgresql": "btrim(idnumber, chr(32) || chr(9) || chr(10) || chr(13) || chr(11)) "
    "NOT IN ('', '0')",
}
_EMAIL_CHECKED = "email != ''"
_SHOWN = 20


def _clashes(conn: sa.Connection, column: str, where: str) -> list[str]:
    """One line per value that several users hold: the value and the users' ids."""
    rows = conn.execute(
        sa.text(
            f"SELECT {column}, id FROM users WHERE {where} AND {column} IN "
            f"(SELECT {column} FROM users WHERE {where} GROUP BY {column} HAVING count(*) > 1) "
            f"ORDER BY {column}, id"
        )
    ).all()
    holders: dict[str, list[str]] = {}
    for value, user_id in rows:
        holders.setdefault(str(value), []).append(str(user_id))
    return [f"  {column} {value!r}: users {', '.join(ids)}" for value, ids in holders.items()]


def _refuse_clashes(conn: sa.Connection) -> None:
    idnumber = _IDNUMBER_CHECKED[conn.dialect.name]
    lines = [
        *_clashes(conn, "username", "1 = 1"),
        *_clashes(conn, "idnumber", idnumber),
        *_clashes(conn, "email", _EMAIL_CHECKED),
    ]
    if not lines:
        return
    shown = lines[:_SHOWN]
    if len(lines) > _SHOWN:
        shown.append(f"  ... and {len(lines) - _SHOWN} more")
    raise MigrationRefused(
        "The database can not be upgraded: usernames, e-mail addresses and idnumbers must now "
        "be unique, and these are held by more than one user:\n"
        + "\n".join(shown)
        + "\nGive each user a value of their own (or delete the extra accounts), "
        "then run `extapi migrate` again."
    )


def upgrade() -> None:
    conn = op.get_bind()
    _refuse_clashes(conn)
    # In Totara's order of checks: PostgreSQL tries unique indexes in the order of creation.
    op.drop_index("ix_users_username", table_name="users")
    op.create_index("uq_users_username", "users", ["username"], unique=True)
    op.create_index(
        "uq_users_idnumber",
        "users",
        ["idnumber"],
        unique=True,
        sqlite_where=sa.text(_IDNUMBER_CHECKED["sqlite"]),
        postgresql_where=sa.text(_IDNUMBER_CHECKED["postgresql"]),
    )
    op.create_index(
        "uq_users_email",
        "users",
        ["email"],
        unique=True,
        sqlite_where=sa.text(_EMAIL_CHECKED),
        postgresql_where=sa.text(_EMAIL_CHECKED),
    )


def downgrade() -> None:
    op.drop_index("uq_users_idnumber", table_name="users")
    op.drop_index("uq_users_email", table_name="users")
    op.drop_index("uq_users_username", table_name="users")
    op.create_index("ix_users_username", "users", ["username"])
