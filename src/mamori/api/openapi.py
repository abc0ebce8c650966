"""OpenAPI adjustments the route signatures cannot express.

``purpose`` is declared optional in the signatures so that a call without it
reaches Mamori's own answer (400, naming the purposes the caller may use)
instead of a generic validation error; the schema still tells integrators
the truth: every personal-data route requires it. Every route is also
documented as answering in problem documents on error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from mamori.api.deps import PURPOSE_DESCRIPTION
from mamori.api.problems import MEDIA_TYPE


def mark_purpose_required(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                _require_purpose(operation)
                _problem_media(operation)
        app.openapi_schema = schema
        return schema

    return openapi


def _require_purpose(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if (
            parameter.get("name") == "purpose"
            and parameter.get("in") == "query"
            and str(parameter.get("description", "")).startswith(PURPOSE_DESCRIPTION)
        ):
            parameter["required"] = True
            schema = parameter.get("schema", {})
            for option in schema.pop("anyOf", []):
                if option.get("type") == "string":
                    schema.update(option)


def _problem_media(operation: dict[str, Any]) -> None:
    for code, response in operation.get("responses", {}).items():
        if not str(code).startswith(("4", "5")):
            continue
        content = response.setdefault("content", {})
        json_schema = content.pop("application/json", {}).get("schema")
        if json_schema is not None:
            content.setdefault(MEDIA_TYPE, {})["schema"] = json_schema
