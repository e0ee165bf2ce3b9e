"""The external schema: SDL files per area, bound to resolvers and scalars at start-up."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema, build_ast_schema, parse

from extapi.graphql.resolvers import hierarchy, jobs, placeholders, status, users
from extapi.graphql.scalars import bind_scalars

__all__ = ["build_schema", "assemble_schema", "schema_sdl", "RESOLVERS"]

# Order matters only in that core.graphqls declares the root types the others extend.
SDL_FILES = (
    "core.graphqls",
    "status.graphqls",
    "user.graphqls",
    "hierarchy.graphqls",
    "job.graphqls",
    "hierarchy_services.graphqls",
    "job_services.graphqls",
)

RESOLVERS: dict[str, Callable[..., Any]] = {}
RESOLVERS.update(status.RESOLVERS)  # each area module exports its own mapping
RESOLVERS.update(users.RESOLVERS)
RESOLVERS.update(hierarchy.RESOLVERS)
RESOLVERS.update(jobs.RESOLVERS)
RESOLVERS.update(placeholders.RESOLVERS)


def schema_sdl() -> str:
    folder = resources.files("extapi.graphql") / "schema"
    return "\n".join((folder / name).read_text(encoding="utf-8") for name in SDL_FILES)


def _bind(schema: GraphQLSchema, resolvers: dict[str, Callable[..., Any]]) -> None:
    for key, resolver in resolvers.items():
        type_name, field_name = key.split(".")
        owner = schema.get_type(type_name)
        if not isinstance(owner, GraphQLObjectType) or field_name not in owner.fields:
            raise RuntimeError(f"Resolver bound to unknown field {key}")
        owner.fields[field_name].resolve = resolver


def assemble_schema(sdl: str, resolvers: dict[str, Callable[..., Any]]) -> GraphQLSchema:
    """Build a schema from SDL text and bind scalars and resolvers to it."""
    schema = build_ast_schema(parse(sdl))
    bind_scalars(schema)
    _bind(schema, resolvers)
    return schema


@lru_cache(maxsize=1)
def build_schema() -> GraphQLSchema:
    """The external schema, built once per process."""
    return assemble_schema(schema_sdl(), RESOLVERS)
