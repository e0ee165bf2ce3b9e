"""indexes for a million users: jobs in manager order, a count of live users

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Written by hand (expression and partial indexes). Job assignments sorted by manager are
    # ordered by coalesce(manager_ja_id, 0) and then id: without this index every page sorts
    # the whole table.
    op.create_index(
        "ix_job_assignments_manager_order",
        "job_assignments",
        [sa.text("coalesce(manager_ja_id, 0)"), "id"],
    )
    # The ids of live users, so that a list's total is counted from a small index (an
    # index-only scan) instead of a pass over every row of the users table.
    op.create_index(
        "ix_users_live",
        "users",
        ["id"],
        sqlite_where=sa.text("deleted IS 0"),
        postgresql_where=sa.text("deleted IS false"),
    )


def downgrade() -> None:
    op.drop_index("ix_users_live", table_name="users")
    op.drop_index("ix_job_assignments_manager_order", table_name="job_assignments")
