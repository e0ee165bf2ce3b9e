"""SQLAlchemy Core tables: the single description of the schema the code reads and writes.

Times are unix seconds in integer columns, as in Totara, so both databases behave alike.
Migrations under ``migrations/versions`` create exactly these tables.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)

__all__ = [
    "metadata",
    "tenants",
    "users",
    "site_admins",
    "capabilities",
    "roles",
    "role_capabilities",
    "role_assignments",
    "api_clients",
    "api_client_settings",
    "access_tokens",
    "site_settings",
    "site_revision",
    "site_keys",
    "profile_fields",
    "profile_data",
    "hierarchy_frameworks",
    "hierarchy_types",
    "hierarchy_items",
    "job_assignments",
    "api_request_log",
    "api_usage_minutes",
    "signin_throttle",
    "web_signouts",
]

metadata = MetaData()

# The condition of the request log's partial indexes; a query must state it word for word
# for SQLite to use them.
FAILED = "outcome <> 'success'"

IDNUMBER_TRIM = " \t\n\r\x0b"
"""What is trimmed off a user's idnumber before it is tested for emptiness: PHP's trim() set
without NUL, which SQLite's trim() can not remove."""
_CODES = [ord(c) for c in IDNUMBER_TRIM]
IDNUMBER_TRIMMED_SQLITE = f"trim(idnumber, char({', '.join(map(str, _CODES))}))"
IDNUMBER_TRIMMED_POSTGRESQL = f"btrim(idnumber, {' || '.join(f'chr({c})' for c in _CODES)})"

tenants = Table(
    "tenants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("idnumber", String(255), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("suspended", Boolean, nullable=False, default=False),
    Column("timecreated", BigInteger, nullable=False),
    Column("timemodified", BigInteger, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("auth", String(20), nullable=False, default="manual"),
    Column("suspended", Boolean, nullable=False, default=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("username", String(100), nullable=False),
    Column("password", String(255), nullable=False, default=""),
    Column("force_password_change", Boolean, nullable=False, default=False),
    Column("idnumber", String(255), nullable=False, default=""),
    Column("firstname", String(100), nullable=False),
    Column("lastname", String(200), nullable=False),
    Column("middlename", String(255), nullable=True),
    Column("alternatename", String(255), nullable=True),
    Column("firstnamephonetic", String(255), nullable=True),
    Column("lastnamephonetic", String(255), nullable=True),
    Column("email", String(100), nullable=False, default=""),
    Column("emailstop", Boolean, nullable=False, default=False),
    Column("maildisplay", SmallInteger, nullable=False, default=2),
    Column("phone1", String(20), nullable=False, default=""),
    Column("phone2", String(20), nullable=False, default=""),
    Column("institution", String(255), nullable=False, default=""),
    Column("department", String(255), nullable=False, default=""),
    Column("address", String(255), nullable=False, default=""),
    Column("city", String(120), nullable=False, default=""),
    Column("country", String(2), nullable=False, default=""),
    Column("lang", String(30), nullable=False, default="en"),
    Column("calendartype", String(30), nullable=False, default="gregorian"),
    Column("theme", String(50), nullable=False, default=""),
    Column("timezone", String(100), nullable=False, default="99"),
    Column("url", String(255), nullable=False, default=""),
    Column("skype", String(50), nullable=False, default=""),
    Column("description", Text, nullable=True),
    Column("descriptionformat", SmallInteger, nullable=False, default=1),
    Column("interests", Text, nullable=True),
    Column("imagealt", String(255), nullable=True),
    Column("firstaccess", BigInteger, nullable=False, default=0),
    Column("lastaccess", BigInteger, nullable=False, default=0),
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="SET NULL"), nullable=True),
    Column("timecreated", BigInteger, nullable=False),
    Column("timemodified", BigInteger, nullable=False),
    # Totara's rules, kept by the database as well as checked by the services (two requests
    # can pass a check at once), created in the order Totara checks them, which is the order
    # PostgreSQL tries them in. Usernames are unique among all rows, as in Totara; deleted
    # users keep their row (soft delete) but give up their username, idnumber and e-mail
    # address, so these can be used again.
    Index("uq_users_username", "username", unique=True),
    # Idnumbers that PHP's empty() takes as empty once trimmed ("", "0", "  0 ") are never
    # checked, so many users may hold them.
    Index(
        "uq_users_idnumber",
        "idnumber",
        unique=True,
        sqlite_where=text(f"{IDNUMBER_TRIMMED_SQLITE} NOT IN ('', '0')"),
        postgresql_where=text(f"{IDNUMBER_TRIMMED_POSTGRESQL} NOT IN ('', '0')"),
    ),
    # E-mail addresses: compared exactly (case counts), as Totara does; cleared ones are free.
    Index(
        "uq_users_email",
        "email",
        unique=True,
        sqlite_where=text("email != ''"),
        postgresql_where=text("email != ''"),
    ),
    # For look-ups by any value (the unique indexes above leave some rows out).
    Index("ix_users_idnumber", "idnumber"),
    Index("ix_users_email", "email"),
    Index("ix_users_tenant", "tenant_id"),
    Index("ix_users_timemodified", "timemodified"),
)

# Case-insensitive look-ups of e-mail addresses (revision 0003; uniqueness is exact, above).
Index("ix_users_email_lower", func.lower(users.c.email))
# The ids of live users, for counting a list's total from the index alone (revision 0009).
Index(
    "ix_users_live",
    users.c.id,
    sqlite_where=text("deleted IS 0"),
    postgresql_where=text("deleted IS false"),
)

site_admins = Table(
    "site_admins",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

capabilities = Table(
    "capabilities",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("contextlevel", String(20), nullable=False),
    Column("component", String(100), nullable=False),
)

roles = Table(
    "roles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("shortname", String(100), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("archetype", String(30), nullable=False, default=""),
)

role_capabilities = Table(
    "role_capabilities",
    metadata,
    Column("role_id", Integer, ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
    Column("capability", String(255), ForeignKey("capabilities.name"), primary_key=True),
    # 1 allow, -1 prevent, -1000 prohibit (Moodle's permission values)
    Column("permission", SmallInteger, nullable=False, default=1),
)

role_assignments = Table(
    "role_assignments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("role_id", Integer, ForeignKey("roles.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # NULL means the system context; otherwise the tenant's context.
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True),
    Column("timecreated", BigInteger, nullable=False),
    Index("ix_role_assignments_user", "user_id"),
)

api_clients = Table(
    "api_clients",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", String(64), nullable=False, unique=True),
    Column("secret_hash", String(128), nullable=False),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("status", Boolean, nullable=False, default=True),
    Column("time_created", BigInteger, nullable=False),
    Column("time_modified", BigInteger, nullable=False),
    # Kept up to date by the request log's flusher, never on the request path.
    Column("time_last_used", BigInteger, nullable=True),
)

api_client_settings = Table(
    "api_client_settings",
    metadata,
    Column(
        "client_id", Integer, ForeignKey("api_clients.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("client_rate_limit", BigInteger, nullable=False),
    Column("default_token_expiry_time", BigInteger, nullable=False),
    # NULL: follow the site's response_debug; 0 none, 1 normal, 2 developer
    Column("response_debug", SmallInteger, nullable=True),
    # The IP allow-list: normalised addresses and CIDR ranges, comma-separated; "" = anywhere.
    # Read with the token on every API request (extapi.db.hot), hence a column, not a table.
    Column("allowed_ips", Text, nullable=False, server_default=""),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("client_id", Integer, ForeignKey("api_clients.id", ondelete="CASCADE"), nullable=False),
    Column("scope", String(255), nullable=False, default=""),
    Column("expires", BigInteger, nullable=False),
    Column("time_created", BigInteger, nullable=False),
    Index("ix_access_tokens_client", "client_id"),
    Index("ix_access_tokens_expires", "expires"),
)

site_settings = Table(
    "site_settings",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# One row whose counter moves on every change that a running worker must notice (settings,
# clients, users, roles). Workers compare it on each request and reload what they cache.
site_revision = Table(
    "site_revision",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("revision", BigInteger, nullable=False),
)

site_keys = Table(
    "site_keys",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", String(255), nullable=False),
)

# Custom profile fields (Moodle's user_info_field / user_info_data).
profile_fields = Table(
    "profile_fields",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("shortname", String(100), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    # checkbox, menu, text, textarea, datetime, date
    Column("datatype", String(20), nullable=False),
    Column("description", Text, nullable=False, default=""),
    # 0 not visible, 1 visible to the user, 2 visible to everyone (Moodle's PROFILE_VISIBLE_*)
    Column("visible", SmallInteger, nullable=False, default=2),
    Column("locked", Boolean, nullable=False, default=False),
    # menu options, one per line
    Column("options", Text, nullable=False, default=""),
    Column("defaultdata", Text, nullable=False, default=""),
    Column("sortorder", Integer, nullable=False, default=0),
    Column("timecreated", BigInteger, nullable=False),
)

profile_data = Table(
    "profile_data",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column(
        "field_id", Integer, ForeignKey("profile_fields.id", ondelete="CASCADE"), nullable=False
    ),
    Column("data", Text, nullable=False),
    Column("dataformat", SmallInteger, nullable=False, default=0),
    UniqueConstraint("user_id", "field_id", name="uq_profile_data_user_field"),
)

# Organisation structure: frameworks, types and items of two kinds ("organisation" and
# "position") share tables, as their rules are the same.
hierarchy_frameworks = Table(
    "hierarchy_frameworks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("idnumber", String(100), nullable=False),
    Column("fullname", String(1024), nullable=False),
    Column("shortname", String(100), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("visible", Boolean, nullable=False, default=True),
    Column("sortorder", Integer, nullable=False, default=0),
    Column("timecreated", BigInteger, nullable=False),
    Column("timemodified", BigInteger, nullable=False),
    UniqueConstraint("kind", "idnumber", name="uq_hierarchy_frameworks_kind_idnumber"),
)

hierarchy_types = Table(
    "hierarchy_types",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("idnumber", String(100), nullable=False),
    Column("fullname", String(1024), nullable=False),
    Column("shortname", String(100), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("timecreated", BigInteger, nullable=False),
    Column("timemodified", BigInteger, nullable=False),
    UniqueConstraint("kind", "idnumber", name="uq_hierarchy_types_kind_idnumber"),
)

hierarchy_items = Table(
    "hierarchy_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column(
        "framework_id",
        Integer,
        ForeignKey("hierarchy_frameworks.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("parent_id", Integer, ForeignKey("hierarchy_items.id"), nullable=True),
    Column("type_id", Integer, ForeignKey("hierarchy_types.id"), nullable=True),
    Column("fullname", String(1024), nullable=False),
    Column("shortname", String(100), nullable=False, default=""),
    # "" when the source of record gives none; otherwise unique per kind (checked by services)
    Column("idnumber", String(100), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    # ids from the top of the tree down to this item, e.g. "/1/4/6"
    Column("path", String(1024), nullable=False, default=""),
    Column("depth", Integer, nullable=False, default=1),
    Column("visible", Boolean, nullable=False, default=True),
    Column("timecreated", BigInteger, nullable=False),
    Column("timemodified", BigInteger, nullable=False),
    Index("ix_hierarchy_items_kind_idnumber", "kind", "idnumber"),
    Index("ix_hierarchy_items_parent", "parent_id"),
    Index("ix_hierarchy_items_framework", "framework_id"),
    Index("ix_hierarchy_items_kind_timemodified", "kind", "timemodified"),
)

job_assignments = Table(
    "job_assignments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("idnumber", String(100), nullable=False),
    Column("fullname", String(255), nullable=True),
    Column("shortname", String(100), nullable=True),
    Column("description", Text, nullable=True),
    Column("startdate", BigInteger, nullable=True),
    Column("enddate", BigInteger, nullable=True),
    Column("position_id", Integer, ForeignKey("hierarchy_items.id"), nullable=True),
    Column("positionassignmentdate", BigInteger, nullable=True),
    Column("organisation_id", Integer, ForeignKey("hierarchy_items.id"), nullable=True),
    Column("manager_ja_id", Integer, ForeignKey("job_assignments.id"), nullable=True),
    Column("temp_manager_ja_id", Integer, ForeignKey("job_assignments.id"), nullable=True),
    Column("temp_manager_expiry", BigInteger, nullable=True),
    Column("appraiser_id", Integer, ForeignKey("users.id"), nullable=True),
    Column("sortorder", Integer, nullable=False, default=1),
    Column("timecreated", BigInteger, nullable=False),
    Column("timemodified", BigInteger, nullable=False),
    UniqueConstraint("user_id", "idnumber", name="uq_job_assignments_user_idnumber"),
    Index("ix_job_assignments_manager", "manager_ja_id"),
    Index("ix_job_assignments_temp_manager", "temp_manager_ja_id"),
    Index("ix_job_assignments_position", "position_id"),
    Index("ix_job_assignments_organisation", "organisation_id"),
    Index("ix_job_assignments_appraiser", "appraiser_id"),
    Index("ix_job_assignments_timemodified", "timemodified"),
)

# Job assignments in manager order, as the list sorts them (revision 0009).
Index(
    "ix_job_assignments_manager_order",
    func.coalesce(job_assignments.c.manager_ja_id, 0),
    job_assignments.c.id,
)

# One row per GraphQL HTTP request made with a valid token (a batch is one row). Written in
# batches by each worker's request log, pruned by age; see extapi/requestlog/.
api_request_log = Table(
    "api_request_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("client_id", Integer, ForeignKey("api_clients.id", ondelete="CASCADE"), nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("operations", String(255), nullable=False),
    Column("complexity", Integer, nullable=False),
    Column("status", SmallInteger, nullable=False),
    # "success", "error" (the response carried GraphQL errors), "rate_limited" or
    # "ip_not_allowed" (the address is not in the client's IP allow-list)
    Column("outcome", String(16), nullable=False),
    Column("duration_ms", Float, nullable=False),
    # The X-Request-Id the request was answered with (see extapi.ops.request_id).
    Column("request_id", String(128), nullable=True),
    # JSON text, capped (see extapi.requestlog.details): the variables sent, secret-looking
    # values masked; the errors answered, with their debug messages where the client got them.
    Column("variables", Text, nullable=True),
    Column("errors", Text, nullable=True),
    # Also serves "latest requests first" without a sort: (client, time, id) descending.
    Index("ix_api_request_log_client_time", "client_id", "time", "id"),
    Index("ix_api_request_log_time", "time"),
    # The log's outcome filters all pick unsuccessful requests, a small share of the rows:
    # partial indexes serve them without costing a successful request's row anything.
    Index(
        "ix_api_request_log_client_failed",
        "client_id",
        "time",
        "id",
        sqlite_where=text(FAILED),
        postgresql_where=text(FAILED),
    ),
    Index(
        "ix_api_request_log_failed",
        "time",
        "id",
        sqlite_where=text(FAILED),
        postgresql_where=text(FAILED),
    ),
)

# Each client's traffic per minute, summed from the request log as it is flushed, so that the
# admin pages read at most 60 rows for an hour however busy the client is.
api_usage_minutes = Table(
    "api_usage_minutes",
    metadata,
    Column(
        "client_id", Integer, ForeignKey("api_clients.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("minute", BigInteger, primary_key=True),  # unix time // 60
    Column("points", BigInteger, nullable=False),  # refused (429) requests not counted
    Column("requests", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("rate_limited", Integer, nullable=False),
    # The client's per-minute budget in force in that minute (the lowest, if it changed);
    # None for minutes logged before it was kept.
    Column("budget", BigInteger, nullable=True),
)

# Failed web sign-ins per key ("user:<name>" and "ip:<address>"), for lock-out with back-off.
signin_throttle = Table(
    "signin_throttle",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure", BigInteger, nullable=False),
    Column("locked_until", BigInteger, nullable=False),
)

# When each user last signed out of the web pages: sessions (signed cookies) that started
# earlier are no longer accepted, so a copied cookie dies with the sign-out.
web_signouts = Table(
    "web_signouts",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("time", BigInteger, nullable=False),
)
