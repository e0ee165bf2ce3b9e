"""The capabilities extapi knows, where each is checked, and the API User role's defaults."""

from __future__ import annotations

from typing import Final

__all__ = ["CAPABILITIES", "APIUSER_DEFAULTS", "SYSTEM", "TENANT", "USER"]

SYSTEM: Final = "system"
TENANT: Final = "tenant"
USER: Final = "user"

# name -> the narrowest context it is granted in. Totara grants its API capabilities at the
# course-category level so that a tenant's category can hold them; extapi's tenant context
# plays that part.
CAPABILITIES: Final[dict[str, str]] = {
    "moodle/site:config": SYSTEM,
    "moodle/site:viewfullnames": TENANT,
    "moodle/user:create": SYSTEM,
    "moodle/user:delete": USER,
    "moodle/user:update": USER,
    "moodle/user:managelogin": USER,
    "moodle/user:viewdetails": USER,
    "moodle/user:viewalldetails": USER,
    "moodle/user:viewhiddendetails": TENANT,
    "moodle/user:editprofile": USER,
    "moodle/course:useremail": TENANT,
    "totara/api:manageclients": TENANT,
    "totara/api:managesettings": TENANT,
    "totara/api:viewdocumentation": TENANT,
    "totara/core:delegateusersmanager": USER,
    "totara/hierarchy:assignuserposition": USER,
    "totara/hierarchy:assignselfposition": USER,
    "totara/job:managejobs": USER,
    "totara/tenant:usercreate": TENANT,
    "totara/tenant:viewparticipants": TENANT,
    "totara/tenant:manageparticipants": SYSTEM,
    "totara/hierarchy:createorganisation": SYSTEM,
    "totara/hierarchy:createposition": SYSTEM,
    "totara/hierarchy:deleteorganisation": SYSTEM,
    "totara/hierarchy:deleteposition": SYSTEM,
    "totara/hierarchy:updateorganisation": SYSTEM,
    "totara/hierarchy:updateposition": SYSTEM,
    "totara/hierarchy:vieworganisation": SYSTEM,
    "totara/hierarchy:viewposition": SYSTEM,
    "totara/hierarchy:vieworganisationframeworks": SYSTEM,
    "totara/hierarchy:viewpositionframeworks": SYSTEM,
}

# Totara 17.3's archetype for the "API User" role, plus the hierarchy capabilities that 19.0
# added for new installs (extapi serves the 19 hierarchy services).
APIUSER_DEFAULTS: Final[tuple[str, ...]] = (
    "moodle/site:viewfullnames",
    "moodle/user:create",
    "moodle/user:delete",
    "moodle/user:update",
    "moodle/user:managelogin",
    "moodle/user:viewdetails",
    "moodle/user:viewalldetails",
    "moodle/user:viewhiddendetails",
    "moodle/user:editprofile",
    "moodle/course:useremail",
    "totara/api:viewdocumentation",
    "totara/core:delegateusersmanager",
    "totara/hierarchy:assignuserposition",
    "totara/job:managejobs",
    "totara/tenant:usercreate",
    "totara/hierarchy:createorganisation",
    "totara/hierarchy:createposition",
    "totara/hierarchy:deleteorganisation",
    "totara/hierarchy:deleteposition",
    "totara/hierarchy:updateorganisation",
    "totara/hierarchy:updateposition",
    "totara/hierarchy:vieworganisation",
    "totara/hierarchy:viewposition",
    "totara/hierarchy:vieworganisationframeworks",
    "totara/hierarchy:viewpositionframeworks",
)
