"""Thin admin views: parse a form, call one service, render a template.

Each module exports ``ROUTES``; they are gathered here.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from extapi.web.views import changelog, clients, docs, explorer, people, request_log, settings

__all__ = ["ROUTES"]

ROUTES: list[BaseRoute] = [
    *clients.ROUTES,
    *request_log.ROUTES,
    *settings.ROUTES,
    *people.ROUTES,
    *docs.ROUTES,
    *explorer.ROUTES,
    *changelog.ROUTES,
]
