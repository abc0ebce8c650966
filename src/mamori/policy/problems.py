"""Plain sentences for what is wrong with a policy file.

A privacy officer edits the policy file, so every problem must read as a
sentence that names the purpose, category or field in question, never as a
pydantic error dump. This module turns pydantic's errors into such sentences;
it never reads files and never decides what is valid (the schemas and the
loader do).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from mamori.policy.schemas import KEY_PATTERN, Policy, Text
from mamori.policy.taxonomy import Finding, Loc, suggest

SECTIONS = {
    "purposes": "purpose",
    "data_categories": "category",
    "channels": "channel",
    "subject_kinds": "subject kind",
    "roles": "role",
    "recipients": "recipient",
    "joint_uses": "joint use",
    "processors": "processor",
}
_LANGUAGES = {"ja": "Japanese", "en": "English"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a policy file, with the line it is on when known."""

    line: int | None
    path: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form: line, path and message."""
        return {"line": self.line, "path": self.path, "message": self.message}

    def __str__(self) -> str:
        parts = [f"line {self.line}"] if self.line is not None else []
        if self.path:
            parts.append(self.path)
        return ": ".join([*parts, self.message])


def path_text(loc: Loc) -> str:
    """``('purposes', 3, 'categories', 1)`` → ``purposes[3].categories[1]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def describe_errors(errors: list[ErrorDetails], data: object) -> list[Finding]:
    """One sentence per pydantic error, each with the location it is about."""
    return [(tuple(error["loc"]), _sentence(error, data)) for error in errors]


def owner_name(loc: Loc, data: object) -> tuple[str, Loc]:
    """Who a location belongs to ("purpose 'newsletter'") and the rest of the path."""
    if len(loc) >= 2 and loc[0] in SECTIONS and isinstance(loc[1], int):
        noun = SECTIONS[str(loc[0])]
        key = _dig(data, (*loc[:2], "key"))
        if isinstance(key, str) and 0 < len(key) <= 60:
            return f"{noun} '{key}'", loc[2:]
        return f"{noun} #{loc[1] + 1}", loc[2:]
    if loc[:1] == ("company",):
        return "the company", loc[1:]
    return "the policy", loc


def _dig(data: object, loc: Loc) -> object:
    for part in loc:
        if isinstance(data, list) and isinstance(part, int):
            data = data[part] if 0 <= part < len(data) else None
        elif isinstance(data, Mapping):
            data = data.get(part)
        else:
            return None
    return data


def _sentence(error: ErrorDetails, data: object) -> str:
    loc: Loc = tuple(error["loc"])
    owner, rest = owner_name(loc, data)
    kind = error["type"]
    if kind == "missing":
        return _missing(owner, rest, loc)
    if kind == "extra_forbidden":
        return _unknown_field(owner, loc)
    if kind == "invalid_key":
        return f"{owner} has a field named {_plain(loc[-1])}, but field names must be text"
    subject = f"{owner}: field '{path_text(rest)}'" if rest else owner
    explain = _REQUIREMENTS.get(kind)
    requirement = explain(error) if explain else _lower_first(error["msg"])
    return f"{subject} {requirement}{_found(error)}"


def _missing(owner: str, rest: Loc, loc: Loc) -> str:
    name = rest[-1] if rest else loc[-1]
    if name in _LANGUAGES and len(rest) >= 2:
        return f"{owner} has no {_LANGUAGES[str(name)]} {_words(rest[:-1])}"
    if annotation_at(loc) is Text:
        return f"{owner} has no {_words(rest)} (a Japanese 'ja' and an English 'en' text)"
    if len(loc) == 1:
        return f"the policy has no '{name}' section"
    return f"{owner} has no field '{path_text(rest)}'"


def _unknown_field(owner: str, loc: Loc) -> str:
    name = str(loc[-1])
    model = annotation_at(loc[:-1])
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return f"{owner} has an unknown field '{name}'"
    allowed = set(model.model_fields)
    hint = suggest(name, allowed) or f" (allowed here: {', '.join(model.model_fields)})"
    return f"{owner} has an unknown field '{name}'{hint}"


def annotation_at(loc: Loc) -> Any:
    """The type a policy file expects at ``loc``, or None when no field is there."""
    current: Any = Policy
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = get_args(current) if get_origin(current) is list else ()
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            current = field.annotation if field else None
        else:
            return None
    return _unwrap(current)


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        else:
            return annotation


def _one_of(error: ErrorDetails) -> str:
    annotation = annotation_at(tuple(error["loc"]))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "must be one of " + ", ".join(str(m.value) for m in annotation)
    expected = str(error.get("ctx", {}).get("expected", "")).replace("'", "")
    return f"must be one of {expected}"


def _pattern(error: ErrorDetails) -> str:
    if error.get("ctx", {}).get("pattern") == KEY_PATTERN:
        return (
            "must be a key of lower-case letters, digits and underscores, "
            "in parts joined by dots (like user.contact.email)"
        )
    return "must be a time of day like '09:00'"


def _text(error: ErrorDetails) -> str:
    field = error["loc"][-1] if error["loc"] else ""
    if field in ("open", "close") and isinstance(error["input"], int):
        return "must be a time in quotes like '18:00' (unquoted, YAML reads 18:00 as a number)"
    return "must be text"


def _at_most(error: ErrorDetails) -> str:
    limit = error.get("ctx", {}).get("le")
    weekday = (
        " (weekdays go from 0 for Monday to 6 for Sunday)" if "weekdays" in error["loc"] else ""
    )
    return f"must be at most {limit}{weekday}"


def _mapping(error: ErrorDetails) -> str:
    if annotation_at(tuple(error["loc"])) is Text:
        return "must have a Japanese 'ja' and an English 'en' text"
    return "must be a mapping of fields (name: value lines), not a single value or a list"


def _value_error(error: ErrorDetails) -> str:
    return str(error.get("ctx", {}).get("error", error["msg"]))


def _ctx(template: str) -> Callable[[ErrorDetails], str]:
    return lambda error: template.format(**error.get("ctx", {}))


_DATE = "must be a date like 2026-06-01"
_REQUIREMENTS: dict[str, Callable[[ErrorDetails], str]] = {
    "enum": _one_of,
    "string_pattern_mismatch": _pattern,
    "string_type": _text,
    "string_too_short": _ctx("must not be empty"),
    "string_too_long": _ctx("must be at most {max_length} characters long"),
    "bool_type": _ctx("must be true or false"),
    "bool_parsing": _ctx("must be true or false"),
    "int_type": _ctx("must be a whole number"),
    "int_parsing": _ctx("must be a whole number"),
    "int_from_float": _ctx("must be a whole number"),
    "greater_than_equal": _ctx("must be at least {ge}"),
    "less_than_equal": _at_most,
    "list_type": _ctx("must be a list"),
    "model_type": _mapping,
    "model_attributes_type": _mapping,
    "dict_type": _mapping,
    "date_type": _ctx(_DATE),
    "date_parsing": _ctx(_DATE),
    "date_from_datetime_parsing": _ctx(_DATE),
    "date_from_datetime_inexact": _ctx(_DATE + ", without a time"),
    "value_error": _value_error,
}


def _found(error: ErrorDetails) -> str:
    if error["type"] in ("value_error", "missing"):
        return ""
    return f" (found {_plain(error.get('input'))})"


def _plain(value: object) -> str:
    """A short, safe rendering of a value found in the file."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "nothing"}[value]
    if isinstance(value, str):
        return f"'{value[:40]}…'" if len(value) > 40 else f"'{value}'"
    if isinstance(value, int | float):
        return str(value) if abs(value) < 1e15 else "a very large number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return "a " + type(value).__name__


def _words(loc: Loc) -> str:
    return " ".join(str(part).replace("_", " ") for part in loc if isinstance(part, str))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
