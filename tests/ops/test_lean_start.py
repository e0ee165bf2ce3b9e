"""A serving process answers "is the database current?" without importing Alembic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from extapi.db.engine import make_engine
from extapi.db.migrate import alembic_config, chain_head, database_revision, head_revision

VERSIONS = Path(__file__).resolve().parents[2] / "extapi" / "db" / "migrations" / "versions"


def _alembic_head() -> str | None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(VERSIONS.parent))
    return ScriptDirectory.from_config(cfg).get_current_head()


def test_the_newest_revision_is_the_one_alembic_finds() -> None:
    # given the code's revision files, when their head is read without Alembic,
    # then it is read from the files (Alembic is not needed for them),
    assert chain_head(VERSIONS) is not None
    # and it is the head Alembic itself finds.
    assert head_revision() == _alembic_head()


def test_files_that_are_not_one_chain_are_left_to_alembic(tmp_path: Path) -> None:
    # given two revisions with the same parent (two heads), when the chain is read,
    # then no head is claimed (Alembic decides).
    for name, parent in (("a", "0"), ("b", "0"), ("0", None)):
        down = f'"{parent}"' if parent else "None"
        (tmp_path / f"{name}.py").write_text(f'revision = "{name}"\ndown_revision = {down}\n')
    assert chain_head(tmp_path) is None
    # and a plain chain gives its last revision, however its lines are written.
    (tmp_path / "b.py").write_text("revision: str = 'b'\ndown_revision: str | None = 'a'\n")
    assert chain_head(tmp_path) == "b"


def test_the_database_revision_is_the_one_alembic_reads(database_url: str) -> None:
    # given a migrated database, when its revision is read without Alembic,
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            ours = database_revision(conn)
            theirs = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    # then it is what Alembic reads: the newest revision.
    assert ours == theirs == head_revision()


def test_a_database_never_migrated_has_no_revision(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with engine.connect() as conn:
            conn.execute(text("CREATE TABLE other (id INTEGER)"))
            assert database_revision(conn) is None
        # and once Alembic has stamped it, the stamp is read.
        from alembic import command

        command.stamp(alembic_config(engine), "0001")
        with engine.connect() as conn:
            assert database_revision(conn) == "0001"
    finally:
        engine.dispose()


PROBE = """
import sys
from extapi.app import create_app
from extapi.config import Config
create_app(Config(database_url=sys.argv[1]))
print(sorted(m for m in ("alembic", "mako", "pygments") if m in sys.modules))
"""


def _imported(url: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", PROBE, url], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_current_database_is_served_without_importing_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'site.db'}"
    # The control: a new database is migrated, which needs Alembic.
    assert _imported(url) == "['alembic', 'mako', 'pygments']"
    # given the same database, now current, when a server process starts on it,
    # then Alembic is not imported.
    assert _imported(url) == "[]"


PAGES_PROBE = """
import sys
from starlette.testclient import TestClient
from extapi.app import create_app
from extapi.config import Config

app = create_app(Config(database_url=sys.argv[1]))
seen = []
with TestClient(app) as http:
    for path in sys.argv[2:]:
        answer = http.get(path)
        seen.append(
            f"{path} {answer.status_code} {answer.headers.get('x-frame-options')} "
            f"{'jinja2' in sys.modules}"
        )
print("; ".join(seen))
"""


def _pages(url: str, *paths: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", PAGES_PROBE, url, *paths], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_web_pages_are_made_on_their_first_request(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'site.db'}"
    # given a serving process, when only the plain routes are asked for, then they answer
    # with the pages' headers and the web pages (Jinja2 and every view) are not loaded;
    assert _pages(url, "/healthz", "/readyz", "/") == (
        "/healthz 200 DENY False; /readyz 200 DENY False; / 200 DENY False"
    )
    # when a page is asked for, then they are, and the plain routes answer as before.
    assert _pages(url, "/healthz", "/login", "/healthz", "/nowhere") == (
        "/healthz 200 DENY False; /login 200 DENY True; /healthz 200 DENY True; "
        "/nowhere 404 DENY True"
    )
