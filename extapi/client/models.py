"""Typed results of the operations in extapi's schema.

Each is a ``TypedDict`` with ``total=False``: a result holds exactly the fields that were
asked for, as the server sent them (ids are strings, dates unix seconds by default).
"""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = [
    "User",
    "CustomField",
    "JobAssignment",
    "Organisation",
    "Position",
    "Framework",
    "HierarchyType",
    "USER_FIELDS",
    "JOB_ASSIGNMENT_FIELDS",
    "ORGANISATION_FIELDS",
    "POSITION_FIELDS",
]


class CustomField(TypedDict, total=False):
    shortname: str
    data: str
    data_format: int | None
    data_type: str


class Framework(TypedDict, total=False):
    id: str
    fullname: str
    shortname: str | None
    idnumber: str | None
    description: str | None


class HierarchyType(Framework, total=False):
    pass


class Organisation(TypedDict, total=False):
    id: str
    fullname: str
    shortname: str | None
    idnumber: str | None
    description: str | None
    frameworkid: str | None
    framework: Framework | None
    parentid: str | None
    parent: Organisation | None
    children: list[Organisation]
    path: str
    visible: bool
    typeid: str | None
    type: HierarchyType | None


class Position(TypedDict, total=False):
    id: str
    fullname: str
    shortname: str | None
    idnumber: str | None
    description: str | None
    frameworkid: str | None
    framework: Framework | None
    parentid: str | None
    parent: Position | None
    children: list[Position]
    path: str
    visible: bool
    typeid: str | None
    type: HierarchyType | None


class User(TypedDict, total=False):
    id: str
    idnumber: str | None
    username: str | None
    fullname: str
    firstname: str | None
    lastname: str | None
    middlename: str | None
    alternatename: str | None
    firstnamephonetic: str | None
    lastnamephonetic: str | None
    email: str | None
    address: str | None
    phone1: str | None
    phone2: str | None
    department: str | None
    institution: str | None
    city: str | None
    country: str | None
    description: str | None
    descriptionformat: str | None
    profileimageurl: str | None
    profileimageurlsmall: str | None
    profileimagealt: str | None
    lang: str | None
    theme: str | None
    suspended: bool | None
    timezone: str | None
    interests: str | None
    firstaccess: int | str | None
    lastaccess: int | str | None
    url: str | None
    skype: str | None
    card_display: dict[str, Any]
    custom_fields: list[CustomField] | None
    job_assignments: list[JobAssignment]


class JobAssignment(TypedDict, total=False):
    id: str
    userid: str
    user: User
    fullname: str | None
    shortname: str | None
    idnumber: str
    description: str | None
    startdate: int | str | None
    enddate: int | str | None
    positionid: str | None
    position: Position | None
    organisationid: str | None
    organisation: Organisation | None
    managerjaid: str | None
    managerja: JobAssignment | None
    tempmanagerjaid: str | None
    tempmanagerja: JobAssignment | None
    tempmanagerexpirydate: int | str | None
    appraiserid: str | None
    appraiser: User | None
    staffcount: int
    tempstaffcount: int
    timemodified: int | str | None


def _fields(cls: type) -> frozenset[str]:
    return frozenset(cls.__annotations__)


USER_FIELDS = _fields(User)
JOB_ASSIGNMENT_FIELDS = _fields(JobAssignment)
ORGANISATION_FIELDS = _fields(Organisation)
POSITION_FIELDS = _fields(Position)
