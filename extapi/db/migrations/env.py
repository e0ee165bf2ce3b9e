"""Alembic environment: runs against the engine handed over by :func:`extapi.db.migrate`.

Alembic opens the transactions itself: on PostgreSQL one around every pending revision (its
DDL is transactional, so a refused revision undoes the whole run); on SQLite, whose driver
commits DDL as it goes, one per revision, so a refused revision leaves the earlier ones
applied and recorded rather than applied and forgotten.
"""

from __future__ import annotations

from alembic import context

from extapi.db.tables import metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
