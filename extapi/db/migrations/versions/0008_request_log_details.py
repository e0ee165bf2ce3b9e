"""request log details: request id, masked variables, errors; failed-request indexes; the
budget in force per usage minute

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Written out here rather than imported, so that this revision stays what it was.
_FAILED = "outcome <> 'success'"


def upgrade() -> None:
    with op.batch_alter_table("api_request_log") as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("variables", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("errors", sa.Text(), nullable=True))
    op.create_index(
        "ix_api_request_log_client_failed",
        "api_request_log",
        ["client_id", "time", "id"],
        sqlite_where=sa.text(_FAILED),
        postgresql_where=sa.text(_FAILED),
    )
    op.create_index(
        "ix_api_request_log_failed",
        "api_request_log",
        ["time", "id"],
        sqlite_where=sa.text(_FAILED),
        postgresql_where=sa.text(_FAILED),
    )
    with op.batch_alter_table("api_usage_minutes") as batch_op:
        batch_op.add_column(sa.Column("budget", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_usage_minutes") as batch_op:
        batch_op.drop_column("budget")
    op.drop_index("ix_api_request_log_failed", table_name="api_request_log")
    op.drop_index("ix_api_request_log_client_failed", table_name="api_request_log")
    with op.batch_alter_table("api_request_log") as batch_op:
        batch_op.drop_column("errors")
        batch_op.drop_column("variables")
        batch_op.drop_column("request_id")
