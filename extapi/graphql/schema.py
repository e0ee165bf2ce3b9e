"""The external schema: SDL files per area, bound to resolvers and scalars at start-up."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema, build_ast_schema, parse

from extapi.graphql.resolvers import status
from extapi.graphql.scalars import bind_scalars

__all__ = ["build_schema", "schema_sdl", "RESOLVERS"]

# Order matters only in that core.graphqls declares the root types the others extend.
SDL_FILES = ("core.graphqls", "status.graphqls")

RESOLVERS: dict[str, Callable[..., Any]] = {}
RESOLVERS.update(status.RESOLVERS)  # each area module exports its own mapping


def schema_sdl() -> str:
    folder = resources.files("extapi.graphql") / "schema"
    return "\n".join((folder / name).read_text(encoding="utf-8") for name in SDL_FILES)


def _bind(schema: GraphQLSchema) -> None:
    for key, resolver in RESOLVERS.items():
        type_name, field_name = key.split(".")
        owner = schema.get_type(type_name)
        if not isinstance(owner, GraphQLObjectType) or field_name not in owner.fields:
            raise RuntimeError(f"Resolver bound to unknown field {key}")
        owner.fields[field_name].resolve = resolver


@lru_cache(maxsize=1)
def build_schema() -> GraphQLSchema:
    schema = build_ast_schema(parse(schema_sdl()), assume_valid_sdl=False)
    bind_scalars(schema)
    _bind(schema)
    return schema
