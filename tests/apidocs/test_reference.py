"""The documentation model built from a schema: what it lists, hides, links and caches."""

from __future__ import annotations

from graphql import GraphQLObjectType
from graphql import build_schema as build_sdl

from extapi.apidocs import DEFAULT_HIDDEN, build_reference, describe, reference_for
from extapi.apidocs.reference import BUILT_IN_SCALARS
from extapi.graphql.schema import build_schema

SMALL_SDL = """
"Entry point."
type Query {
  "A thing."
  thing(
    "Which one."
    id: ID!
    "Old way to pick one."
    key: String @deprecated(reason: "Use `id`.")
    "How many."
    size: Int = 3
  ): thing
  "Superseded."
  old_thing: thing @deprecated(reason: "Use `thing` instead.")
  "Something to search."
  found: result
}

"Entry point for changes."
type Mutation {
  "Make a thing."
  make(input: thing_input!): thing!
}

"Anything with a name."
interface named {
  "Its name."
  name: String!
}

"A thing."
type thing implements named {
  "Its name."
  name: String!
  "Its colour."
  colour: colour
  "Kept for old clients."
  legacy: String @deprecated(reason: "Nobody reads this.")
}

"Another thing."
type other implements named {
  "Its name."
  name: String!
}

"Either kind."
union result = thing | other

"Colours."
enum colour {
  "Red."
  RED
  "Blue, no longer used."
  BLUE @deprecated(reason: "Use RED.")
}

"What a new thing needs."
input thing_input {
  "Its name."
  name: String!
  "Its colour."
  colour: colour = RED
  "Ignored."
  hue: String @deprecated(reason: "Use colour.")
}
"""


def _small():
    return build_reference(build_sdl(SMALL_SDL))


def test_every_query_and_mutation_of_the_live_schema_is_an_operation_in_name_order():
    # given the live schema
    schema = build_schema()
    # when its reference is built
    reference = build_reference(schema)
    # then each root field but Totara's reserved placeholders is an operation, sorted by name
    assert schema.query_type is not None and schema.mutation_type is not None
    queries = set(schema.query_type.fields) - {"placeholder_query"}
    mutations = set(schema.mutation_type.fields) - {"placeholder_mutation"}
    assert [op.name for op in reference.queries] == sorted(queries)
    assert [op.name for op in reference.mutations] == sorted(mutations)
    assert {op.anchor for op in reference.queries} >= {"query-core_user_users"}
    assert {op.anchor for op in reference.mutations} >= {"mutation-core_user_create_user"}


def test_every_named_type_is_documented_except_roots_introspection_and_hidden_ones():
    schema = build_schema()
    reference = build_reference(schema)
    names = {t.name for t in reference.types}
    expected = {
        name
        for name in schema.type_map
        if not name.startswith("__")
        and name not in ("Query", "Mutation")
        and name not in DEFAULT_HIDDEN.types
    }
    assert names == expected
    assert "core_user_card_display" not in names
    assert "core_user_card_display_field" not in names


def test_hidden_field_is_left_out_of_its_type():
    reference = build_reference(build_schema())
    core_user = reference.type_named("core_user")
    assert core_user is not None
    field_names = [f.name for f in core_user.fields]
    assert "card_display" not in field_names
    assert "email" in field_names
    assert "card_display" not in reference.links


def test_types_are_grouped_by_kind_in_page_order():
    reference = _small()
    groups = {kind: [t.name for t in types] for kind, _, types in reference.groups()}
    assert list(groups) == ["object", "interface", "union", "input", "enum", "scalar"]
    assert groups["object"] == ["other", "thing"]
    assert groups["interface"] == ["named"]
    assert groups["union"] == ["result"]
    assert groups["scalar"] == ["Boolean", "ID", "Int", "String"]


def test_arguments_show_types_defaults_and_whether_they_are_required():
    thing = next(op for op in _small().queries if op.name == "thing")
    args = {a.name: a for a in thing.field.args}
    assert args["id"].type.text == "ID!" and args["id"].required
    assert args["size"].default == "3" and not args["size"].required
    assert args["key"].default is None and not args["key"].required


def test_enum_defaults_print_as_graphql_literals():
    core_user = build_reference(build_schema()).type_named("core_user")
    assert core_user is not None
    username = next(f for f in core_user.fields if f.name == "username")
    assert [(a.name, a.default) for a in username.args] == [("format", "PLAIN")]


def test_type_references_split_around_the_linked_name():
    users = build_reference(build_schema()).type_named("core_user_users_result")
    assert users is not None
    items = next(f for f in users.fields if f.name == "items")
    assert (items.type.prefix, items.type.name, items.type.suffix) == ("[", "core_user", "!]!")
    assert items.type.anchor == "type-core_user"
    assert items.type.non_null


def test_deprecations_are_kept_on_operations_fields_arguments_values_and_inputs():
    reference = _small()
    old = next(op for op in reference.queries if op.name == "old_thing")
    assert old.field.deprecation == "Use `thing` instead."
    thing = reference.type_named("thing")
    colour = reference.type_named("colour")
    thing_input = reference.type_named("thing_input")
    assert thing is not None and colour is not None and thing_input is not None
    assert {f.name: f.deprecation for f in thing.fields}["legacy"] == "Nobody reads this."
    assert {v.name: v.deprecation for v in colour.values} == {"RED": None, "BLUE": "Use RED."}
    assert {f.name: f.deprecation for f in thing_input.input_fields}["hue"] == "Use colour."
    query = next(op for op in reference.queries if op.name == "thing")
    assert {a.name: a.deprecation for a in query.field.args}["key"] == "Use `id`."


def test_interfaces_and_unions_list_their_members():
    reference = _small()
    named = reference.type_named("named")
    thing = reference.type_named("thing")
    result = reference.type_named("result")
    assert named is not None and thing is not None and result is not None
    assert named.members == ("other", "thing")
    assert thing.interfaces == ("named",)
    assert result.members == ("other", "thing")


def test_live_interface_lists_its_implementations():
    pageable = build_reference(build_schema()).type_named("core_pageable_result")
    assert pageable is not None
    assert "core_user_users_result" in pageable.members
    assert "totara_job_job_assignments_result" in pageable.members


def test_built_in_scalars_carry_our_own_descriptions():
    reference = _small()
    string = reference.type_named("String")
    assert string is not None and string.description == BUILT_IN_SCALARS["String"]


def test_links_cover_every_type_and_operation():
    reference = _small()
    assert reference.links["colour"] == "type-colour"
    assert reference.links["thing"] == "query-thing"  # an operation wins over its namesake type
    assert reference.links["make"] == "mutation-make"
    assert reference.links["old_thing"] == "query-old_thing"


def test_the_model_is_built_once_per_schema_object():
    # given two schema objects
    first = build_sdl(SMALL_SDL)
    second = build_sdl(SMALL_SDL)
    # then each has its own model, reused on later calls
    assert reference_for(first) is reference_for(first)
    assert reference_for(first) is not reference_for(second)


def test_a_schema_without_mutations_has_no_mutations_section():
    schema = build_sdl('"Root." type Query { "Ping." ping: String }')
    reference = build_reference(schema)
    assert [op.name for op in reference.queries] == ["ping"]
    assert reference.mutations == ()
    assert isinstance(schema.query_type, GraphQLObjectType)


def test_descriptions_become_escaped_paragraphs_with_linked_code():
    links = {"core_user": "type-core_user"}
    html = describe("Returns a `core_user` or `nothing`.\n\nNever <b>bold</b> & safe.", links)
    assert html == (
        '<p>Returns a <a href="#type-core_user"><code>core_user</code></a> or '
        "<code>nothing</code>.</p><p>Never &lt;b&gt;bold&lt;/b&gt; &amp; safe.</p>"
    )
    assert describe("two\nlines", {}, block=False) == "two lines"
    assert describe("", links) == ""
    assert describe("`<img src=x>`", {}) == "<p><code>&lt;img src=x&gt;</code></p>"
