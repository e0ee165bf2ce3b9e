"""The Totara 19.0 hierarchy services, for organisations and positions alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, insert, select, update

from extapi.access import roles
from extapi.db.tables import hierarchy_items, job_assignments
from extapi.org.hierarchy import KIND_INFO, Kind, add_framework, add_type
from extapi.runtime import Runtime
from tests.factories import fetch_token, graphql, make_api_client, make_user

ITEM = "id fullname shortname idnumber description path parentid frameworkid typeid visible"


@dataclass
class Api:
    """Runs a kind's five services as one client; ``r`` aliases each root field."""

    kind: Kind
    run: Callable[..., dict[str, Any]]
    engine: Any = None

    def _doc(self, template: str) -> str:
        return template.replace("KIND", self.kind.name).replace("PLURAL", self.kind.plural)

    def create(self, **fields: Any) -> dict[str, Any]:
        doc = self._doc(
            "mutation($i: hierarchy_KIND_create_KIND_input!) "
            f"{{ r: hierarchy_KIND_create_KIND(input: $i) {{ KIND {{ {ITEM} }} }} }}"
        )
        return self.run(doc, i=fields)

    def update(self, ref: dict[str, Any], **fields: Any) -> dict[str, Any]:
        doc = self._doc(
            "mutation($ref: totara_hierarchy_KIND_reference!, "
            "$i: hierarchy_KIND_update_KIND_input!) "
            "{ r: hierarchy_KIND_update_KIND(reference: $ref, input: $i) "
            f"{{ KIND {{ {ITEM} }} }} }}"
        )
        return self.run(doc, ref=ref, i=fields)

    def delete(self, ref: dict[str, Any]) -> dict[str, Any]:
        doc = self._doc(
            "mutation($ref: totara_hierarchy_KIND_reference!) "
            "{ r: hierarchy_KIND_delete_KIND(reference: $ref) { KIND_id } }"
        )
        return self.run(doc, ref=ref)

    def one(self, ref: dict[str, Any], fields: str = ITEM) -> dict[str, Any]:
        doc = self._doc(
            "query($ref: totara_hierarchy_KIND_reference!) "
            f"{{ r: hierarchy_KIND_KIND(reference: $ref) {{ found KIND {{ {fields} }} }} }}"
        )
        return self.run(doc, ref=ref)

    def many(self, **query: Any) -> dict[str, Any]:
        doc = self._doc(
            "query($q: hierarchy_KIND_PLURAL_query) "
            "{ r: hierarchy_KIND_PLURAL(query: $q) { items { id fullname } total next_cursor } }"
        )
        return self.run(doc, q=query)

    def item(self, answer: dict[str, Any]) -> dict[str, Any]:
        assert "errors" not in answer, answer
        return dict(answer["data"]["r"][self.kind.name])

    def add(self, fullname: str, **fields: Any) -> dict[str, Any]:
        return self.item(self.create(fullname=fullname, framework={"idnumber": "FW"}, **fields))


def error(answer: dict[str, Any]) -> str:
    return str(answer["errors"][0]["debugMessage"])


def _runner(http: Any, token: str) -> Callable[..., dict[str, Any]]:
    def run(document: str, **variables: Any) -> dict[str, Any]:
        body = {"query": document, "variables": variables}
        return dict(graphql(http, token, body).json())

    return run


@pytest.fixture(params=list(KIND_INFO))
def kind(request: pytest.FixtureRequest) -> Kind:
    return KIND_INFO[request.param]


@pytest.fixture
def api(runtime: Runtime, http: Any, kind: Kind) -> Api:
    """An API User client, with frameworks FW and FW2 and type T1 of the kind."""
    with runtime.engine.begin() as conn:
        add_framework(conn, kind, "FW", "Main framework")
        add_framework(conn, kind, "FW2", "Other framework")
        add_type(conn, kind, "T1", "First type")
    token = fetch_token(http, make_api_client(runtime))
    return Api(kind, _runner(http, token), runtime.engine)


def _limited_api(runtime: Runtime, http: Any, kind: Kind, *actions: str) -> Api:
    """A client whose role holds only the kind's capabilities for ``actions``."""
    with runtime.engine.begin() as conn:
        roles.create_role(conn, "limited", "Limited")
        for action in actions:
            roles.set_permission(conn, "limited", kind.capability(action), roles.ALLOW)
    client = make_api_client(runtime, role="limited")
    return Api(kind, _runner(http, fetch_token(http, client)))


# --- create -----------------------------------------------------------------------------------
def test_create_places_items_in_the_tree(api: Api) -> None:
    # given a top-level item
    top = api.add("Top", idnumber="TOP", shortname="T", description="<b>Hi</b>")
    # when a child is created below it, with a type
    child = api.add("Child", parent={"idnumber": "TOP"}, type={"idnumber": "T1"}, visible=False)
    # then both carry their place in the tree and their details
    assert top["path"] == f"/{top['id']}" and top["parentid"] is None
    assert (top["shortname"], top["idnumber"], top["description"]) == ("T", "TOP", "<b>Hi</b>")
    assert child["path"] == f"/{top['id']}/{child['id']}"
    assert child["parentid"] == top["id"] and child["frameworkid"] == top["frameworkid"]
    assert child["typeid"] is not None and child["visible"] is False


def test_create_refuses_bad_input(api: Api, kind: Kind) -> None:
    # given an item in framework FW with idnumber TAKEN
    api.add("Existing", idnumber="TAKEN")
    name = kind.name
    cases: list[tuple[dict[str, Any], str]] = [
        ({"fullname": "  "}, "The fullname can not be blank."),
        (
            {"framework": {"idnumber": "NOPE"}},
            f"The {name} framework does not exist or you do not have permissions to view it.",
        ),
        (
            {"type": {"idnumber": "NOPE"}},
            f"The {name} type does not exist or you do not have permissions to view it.",
        ),
        (
            {"parent": {"idnumber": "NOPE"}},
            f"The parent {name} does not exist or you do not have permissions to view it.",
        ),
        (
            {"parent": {"idnumber": "TAKEN"}, "framework": {"idnumber": "FW2"}},
            f"The parent {name} belongs to a different framework.",
        ),
        ({"idnumber": "TAKEN"}, f"The idnumber is utilised by an existing {name}."),
    ]
    for fields, message in cases:
        # when an item is created with the bad field
        answer = api.create(**{"fullname": "New", "framework": {"idnumber": "FW"}, **fields})
        # then the reason comes back
        assert error(answer) == message, fields


def test_empty_idnumbers_may_repeat(api: Api) -> None:
    api.add("One")
    api.add("Two", idnumber="")
    assert api.many()["data"]["r"]["total"] == 2


# --- update and move --------------------------------------------------------------------------
def test_update_changes_only_given_fields(api: Api) -> None:
    item = api.add("Old name", idnumber="A", shortname="S", type={"idnumber": "T1"})
    changed = api.item(api.update({"idnumber": "A"}, fullname="New name", type=None))
    assert changed["fullname"] == "New name" and changed["typeid"] is None
    assert changed["shortname"] == "S" and changed["path"] == item["path"]


def test_moving_rewrites_path_and_depth_of_the_subtree(api: Api, runtime: Runtime) -> None:
    # given A > B > C and a separate top item D
    a = api.add("A", idnumber="A")
    b = api.add("B", idnumber="B", parent={"idnumber": "A"})
    c = api.add("C", idnumber="C", parent={"idnumber": "B"})
    d = api.add("D", idnumber="D")
    # when B moves under D
    moved = api.item(api.update({"idnumber": "B"}, parent={"idnumber": "D"}))
    # then B and its child C follow, with the right depth
    assert moved["path"] == f"/{d['id']}/{b['id']}" and moved["parentid"] == d["id"]
    assert _placement(runtime, c["id"]) == (f"/{d['id']}/{b['id']}/{c['id']}", 3)
    # and when B moves to the top, C follows again
    api.item(api.update({"idnumber": "B"}, parent=None))
    assert _placement(runtime, b["id"]) == (f"/{b['id']}", 1)
    assert _placement(runtime, c["id"]) == (f"/{b['id']}/{c['id']}", 2)
    assert _placement(runtime, a["id"]) == (f"/{a['id']}", 1)


def _placement(runtime: Runtime, item_id: str) -> tuple[str, int]:
    query = select(hierarchy_items.c.path, hierarchy_items.c.depth).where(
        hierarchy_items.c.id == int(item_id)
    )
    with runtime.engine.connect() as conn:
        row = conn.execute(query).one()
    return str(row.path), int(row.depth)


def test_update_refuses_bad_input(api: Api, kind: Kind) -> None:
    # given A > B, an item X in another framework and an item with idnumber TAKEN
    api.add("A", idnumber="A")
    api.add("B", idnumber="B", parent={"idnumber": "A"})
    api.item(api.create(fullname="X", idnumber="X", framework={"idnumber": "FW2"}))
    api.add("Taken", idnumber="TAKEN")
    name = kind.name
    cases: list[tuple[dict[str, Any], dict[str, Any], str]] = [
        (
            {"idnumber": "NOPE"},
            {"fullname": "Z"},
            f"The {name} does not exist or you do not have permissions to view it.",
        ),
        ({"idnumber": "A"}, {"fullname": ""}, "The fullname can not be blank."),
        (
            {"idnumber": "A"},
            {"idnumber": "TAKEN"},
            f"The idnumber is utilised by an existing {name}.",
        ),
        (
            {"idnumber": "A"},
            {"parent": {"idnumber": "B"}},
            f"The {name} can not be moved under itself or one of its children.",
        ),
        (
            {"idnumber": "A"},
            {"parent": {"idnumber": "A"}},
            f"The {name} can not be moved under itself or one of its children.",
        ),
        (
            {"idnumber": "A"},
            {"parent": {"idnumber": "X"}},
            f"The parent {name} belongs to a different framework.",
        ),
        (
            {"idnumber": "A"},
            {"type": {"idnumber": "NOPE"}},
            f"The {name} type does not exist or you do not have permissions to view it.",
        ),
    ]
    for ref, fields, message in cases:
        assert error(api.update(ref, **fields)) == message, fields
    # and keeping its own idnumber is no clash
    assert api.item(api.update({"idnumber": "A"}, idnumber="A"))["idnumber"] == "A"


# --- delete -----------------------------------------------------------------------------------
def test_delete_removes_the_subtree_and_clears_job_assignments(
    api: Api, kind: Kind, runtime: Runtime
) -> None:
    # given A > B > C, a separate item D, and job assignments pointing at B, C and D
    a = api.add("A", idnumber="A")
    b = api.add("B", idnumber="B", parent={"idnumber": "A"})
    c = api.add("C", idnumber="C", parent={"idnumber": "B"})
    d = api.add("D", idnumber="D")
    user_id = make_user(runtime)
    link = f"{kind.name}_id"
    with runtime.engine.begin() as conn:
        for number, item in enumerate((b, c, d)):
            values = {"user_id": user_id, "idnumber": f"J{number}", link: int(item["id"])}
            conn.execute(insert(job_assignments).values(**values, timecreated=1, timemodified=1))
    # when B is deleted
    answer = api.delete({"id": b["id"]})
    # then B and C are gone, A and D stay, and only D is still referenced
    assert answer["data"]["r"] == {f"{kind.name}_id": b["id"]}
    remaining = [i["fullname"] for i in api.many()["data"]["r"]["items"]]
    assert remaining == ["A", "D"] and a["id"] != d["id"]
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(job_assignments.c[link]).order_by(job_assignments.c.idnumber))
        assert [r[0] for r in rows] == [None, None, int(d["id"])]
    assert api.one({"id": c["id"]})["data"]["r"] == {"found": False, kind.name: None}


def test_delete_of_a_missing_item(api: Api, kind: Kind) -> None:
    assert error(api.delete({"idnumber": "NOPE"})) == (
        f"The {kind.name} does not exist or you do not have permissions to view it."
    )


# --- single query -----------------------------------------------------------------------------
def test_single_query_found_and_not_found(api: Api, kind: Kind) -> None:
    # given A > B with a type
    a = api.add("A", idnumber="A", type={"idnumber": "T1"})
    b = api.add("B", idnumber="B", parent={"idnumber": "A"})
    fields = (
        "id path parentid parent { id } children { id fullname } "
        "framework { idnumber fullname } type { idnumber fullname(format: HTML) }"
    )
    # when A is asked for by id and idnumber
    found = api.one({"id": a["id"], "idnumber": "A"}, fields)["data"]["r"]
    # then it comes with its relations
    assert found["found"] is True
    item = found[kind.name]
    assert item["parentid"] is None and item["parent"] is None
    assert item["children"] == [{"id": b["id"], "fullname": "B"}]
    assert item["framework"] == {"idnumber": "FW", "fullname": "Main framework"}
    assert item["type"] == {"idnumber": "T1", "fullname": "First type"}
    # and B knows its parent
    assert api.one({"idnumber": "B"}, "parent { id }")["data"]["r"][kind.name] == {
        "parent": {"id": a["id"]}
    }
    # and a reference whose fields disagree finds nothing
    assert api.one({"id": a["id"], "idnumber": "B"})["data"]["r"] == {
        "found": False,
        kind.name: None,
    }


def test_kinds_do_not_mix(api: Api, kind: Kind, runtime: Runtime, http: Any) -> None:
    # given an item of this kind
    item = api.add("Mine", idnumber="MINE")
    # when the other kind's query looks for it
    other = next(k for k in KIND_INFO.values() if k != kind)
    answer = Api(other, api.run).one({"id": item["id"]})
    # then it is not found
    assert answer["data"]["r"]["found"] is False


# --- listing ----------------------------------------------------------------------------------
@pytest.fixture
def tree(api: Api, runtime: Runtime) -> dict[str, dict[str, Any]]:
    """beta > (alpha, Gamma) in FW with type T1 on alpha; delta in FW2."""
    beta = api.add("beta", idnumber="B")
    alpha = api.add("alpha", idnumber="A", parent={"idnumber": "B"}, type={"idnumber": "T1"})
    gamma = api.add("Gamma", idnumber="G", parent={"idnumber": "B"})
    delta = api.item(api.create(fullname="delta", framework={"idnumber": "FW2"}))
    with runtime.engine.begin() as conn:
        conn.execute(update(hierarchy_items).values(timemodified=1000))
        conn.execute(
            update(hierarchy_items)
            .where(hierarchy_items.c.id == int(gamma["id"]))
            .values(timemodified=5000)
        )
    return {"alpha": alpha, "beta": beta, "Gamma": gamma, "delta": delta}


def _statements(api: Api, doc: str) -> int:
    """How many statements the engine runs for one request of ``doc``."""
    engine = api.engine
    seen: list[str] = []

    def count(*_args: Any) -> None:
        seen.append("statement")

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert "errors" not in api.run(doc)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def _names(answer: dict[str, Any]) -> list[str]:
    assert "errors" not in answer, answer
    return [i["fullname"] for i in answer["data"]["r"]["items"]]


def test_listing_filters(api: Api, tree: dict[str, dict[str, Any]]) -> None:
    ids = {name: item["id"] for name, item in tree.items()}
    by_id = sorted(tree, key=lambda n: int(ids[n]))
    fw_id = tree["alpha"]["frameworkid"]
    type_id = tree["alpha"]["typeid"]
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({}, by_id),
        ({"parent_id": ids["beta"]}, ["alpha", "Gamma"]),
        ({"ids": [ids["delta"], ids["alpha"]]}, ["alpha", "delta"]),
        ({"name": "AMM"}, ["Gamma"]),
        ({"name": "%"}, []),
        ({"type_id": type_id}, ["alpha"]),
        ({"framework_id": fw_id}, ["beta", "alpha", "Gamma"]),
        ({"since_timemodified": 4000}, ["Gamma"]),
    ]
    for filters, expected in cases:
        answer = api.many(filters=filters, order_by="id")
        assert _names(answer) == expected, filters


def test_listing_order(api: Api, tree: dict[str, dict[str, Any]]) -> None:
    # fullname order follows the database collation: byte order or case-insensitive
    assert _names(api.many()) in (sorted(tree), sorted(tree, key=str.lower))
    assert _names(api.many(order_dir="DESC")) in (
        sorted(tree, reverse=True),
        sorted(tree, key=str.lower, reverse=True),
    )
    ids = [int(i["id"]) for i in api.many(order_by="id", order_dir="DESC")["data"]["r"]["items"]]
    assert ids == sorted(ids, reverse=True)
    assert error(api.many(order_by="idnumber")) == "Unknown sort column"


def test_listing_pages_to_the_end(api: Api, tree: dict[str, dict[str, Any]]) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        pagination: dict[str, Any] = {"cursor": cursor} if cursor else {"limit": 3}
        page = api.many(order_by="fullname", pagination=pagination)["data"]["r"]
        assert page["total"] == 4
        seen += [i["fullname"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(tree) and len(seen) == 4


def test_page_loads_relations_in_one_go(api: Api, tree: dict[str, dict[str, Any]]) -> None:
    doc = api._doc(
        "{ r: hierarchy_KIND_PLURAL { items { fullname parent { fullname } "
        "children { fullname } framework { idnumber } type { idnumber } } } }"
    )
    items = {i["fullname"]: i for i in api.run(doc)["data"]["r"]["items"]}
    assert items["alpha"]["parent"] == {"fullname": "beta"}
    # and the statements a page costs do not grow with the page
    small = _statements(api, doc)
    for number in range(4):
        api.add(f"more {number}", parent={"idnumber": "A"}, type={"idnumber": "T1"})
    assert _statements(api, doc) == small
    assert items["alpha"]["type"] == {"idnumber": "T1"}
    assert sorted(c["fullname"] for c in items["beta"]["children"]) == ["Gamma", "alpha"]
    assert items["delta"]["framework"] == {"idnumber": "FW2"}


# --- capabilities -----------------------------------------------------------------------------
def test_each_service_needs_its_capability(
    api: Api, kind: Kind, runtime: Runtime, http: Any
) -> None:
    # given an item and a client that may only view
    api.add("Item", idnumber="I")
    viewer = _limited_api(runtime, http, kind, "view")
    denied = "Sorry, but you do not currently have permissions to do that ({})"
    article = kind.article
    # then every write is refused with Totara's words
    create = viewer.create(fullname="X", framework={"idnumber": "FW"})
    assert error(create) == denied.format(f"Create {article} {kind.name}")
    update_answer = viewer.update({"idnumber": "I"}, fullname="Y")
    assert error(update_answer) == denied.format(f"Update {article} {kind.name}")
    assert error(viewer.delete({"idnumber": "I"})) == denied.format(f"Delete {article} {kind.name}")
    # and reading works
    assert viewer.one({"idnumber": "I"})["data"]["r"]["found"] is True


def test_reading_needs_the_view_capability(
    api: Api, kind: Kind, runtime: Runtime, http: Any
) -> None:
    writer = _limited_api(runtime, http, kind, "create")
    message = f"Sorry, but you do not currently have permissions to do that (View {kind.plural})"
    assert error(writer.many()) == message
    assert error(writer.one({"idnumber": "I"})) == message
    assert writer.item(writer.create(fullname="X", framework={"idnumber": "FW"}))["id"]


def test_position_framework_lists_its_positions(runtime: Runtime, http: Any) -> None:
    kind = KIND_INFO["position"]
    with runtime.engine.begin() as conn:
        add_framework(conn, kind, "FW", "Main framework")
    api = Api(kind, _runner(http, fetch_token(http, make_api_client(runtime))))
    api.add("Zed")
    api.add("Ann")
    answer = api.one({"idnumber": ""}, "id")
    assert answer["data"]["r"]["found"] is False
    listed = api.add("Bob")
    doc = (
        "query($ref: totara_hierarchy_position_reference!) { r: hierarchy_position_position("
        "reference: $ref) { position { framework { positions { fullname } } } } }"
    )
    framework = api.run(doc, ref={"id": listed["id"]})["data"]["r"]["position"]["framework"]
    assert [p["fullname"] for p in framework["positions"]] == ["Ann", "Bob", "Zed"]
