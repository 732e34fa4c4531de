"""Forms built from an action's specification (表单由操作规格生成).

``form_of(model)`` walks the action's pydantic input model (``SPECS[action].input``): each
field's type, constraints, default and description become an input; a nested model (the
plan) becomes a fieldset of its own fields; a tuple of models (milestones, evidence) a list
of such fieldsets with "add another". A field added to a spec appears in its form.

``parse(form)`` reads the posted names back into the nested shape the model validates
(``plan.milestones[0].title``: the names are ``contracts.actions.field_path`` of the loc
pydantic reports, so an error finds its input). ``field_errors`` turns a ``ValidationError``
into bilingual messages per input, with ``contracts.actions.reason_of``.
"""
from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any

import annotated_types
from pydantic import BaseModel, StringConstraints, ValidationError
from pydantic.fields import FieldInfo

from contracts.actions import field_path, reason_of
from gateway.workbench import labels

LONG_TEXT = 201          # a text this long or longer gets a textarea
RADIOS_UP_TO = 4         # an enum with this few choices gets radio buttons
EMPTY_ROWS = 1           # rows a required list shows when nothing was entered
UNIT_MARK = "单位代码"    # the spec's description of an organization code (``UnitCode``)
FILE_MARK = "文件摘要"    # the spec's description of a file's digest (``Sha256``): a file input


@dataclass
class Input:
    """One input (or fieldset, or list of fieldsets) of a form."""

    name: str                      # the field's name in its model
    key: str                       # dotted path without indices, for labels ("plan.deadline")
    kind: str                      # text textarea date number select radios unit file group list
    required: bool
    label: tuple[str, str]
    hint: tuple[str, str] | None = None
    description: str | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    default: Any = None
    choices: list[tuple[str, str, str]] = field(default_factory=list)  # value, zh, en
    children: list[Input] = field(default_factory=list)
    min_items: int = 0
    max_items: int | None = None


def _unwrap(annotation: Any) -> tuple[Any, list, bool]:
    """(base type, metadata found on the way, optional?) of an annotation."""
    metadata: list = []
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            metadata.extend(annotation.__metadata__)
            annotation = annotation.__origin__
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            if len(args) != 1:
                return annotation, metadata, optional
            annotation = args[0]
        else:
            return annotation, metadata, optional


def _constraints(metadata: list) -> dict:
    found: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, StringConstraints):
            found.update({k: v for k, v in (("max_length", item.max_length),
                                             ("min_length", item.min_length)) if v is not None})
        elif isinstance(item, annotated_types.MaxLen):
            found["max_length"] = item.max_length
        elif isinstance(item, annotated_types.MinLen):
            found["min_length"] = item.min_length
        elif isinstance(item, annotated_types.Ge):
            found["ge"] = item.ge
        elif isinstance(item, annotated_types.Le):
            found["le"] = item.le
        elif isinstance(item, FieldInfo):
            if item.description:
                found.setdefault("description", item.description)
            found.update({k: v for k, v in _constraints(item.metadata).items()
                          if k not in found})
    return found


def form_of(model: type[BaseModel], prefix: str = "") -> list[Input]:
    """The inputs of ``model``'s fields, in the model's order."""
    return [_input(name, info, prefix) for name, info in model.model_fields.items()]


def _input(name: str, info: FieldInfo, prefix: str) -> Input:
    base, metadata, optional = _unwrap(info.annotation)
    facts = _constraints([*info.metadata, *metadata])
    description = info.description or facts.get("description")
    key = f"{prefix}{name}"
    required = info.is_required() and not optional
    default = None if info.is_required() else info.default
    item = Input(name=name, key=key, kind="text", required=required,
                 label=labels.field_label(key, name, description),
                 hint=labels.field_hint(key, name, description), description=description,
                 max_length=facts.get("max_length"), minimum=facts.get("ge"),
                 maximum=facts.get("le"), default=default if default not in ((), None) else None)
    if isinstance(base, type) and issubclass(base, BaseModel):
        item.kind, item.children = "group", form_of(base, f"{key}.")
    elif typing.get_origin(base) in (tuple, list):
        inner, _, _ = _unwrap(typing.get_args(base)[0])
        item.kind, item.children = "list", form_of(inner, f"{key}.")
        item.min_items = facts.get("min_length", 0)
        item.max_items, item.max_length = facts.get("max_length"), None
        item.required = item.min_items > 0
    elif isinstance(base, type) and issubclass(base, Enum):
        item.choices = [(m.value, *labels.choice_label(base, m.value)) for m in base]
        item.kind = "radios" if len(item.choices) <= RADIOS_UP_TO else "select"
        if isinstance(item.default, Enum):
            item.default = item.default.value
    elif base is date:
        item.kind = "date"
    elif base is int:
        item.kind = "number"
    elif FILE_MARK in (description or "") or FILE_MARK in (facts.get("description") or ""):
        item.kind = "file"
    elif UNIT_MARK in (description or "") or UNIT_MARK in (facts.get("description") or ""):
        item.kind = "unit"
    elif (item.max_length or 0) >= LONG_TEXT:
        item.kind = "textarea"
    return item


# --- reading a posted form back -------------------------------------------------------------

_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d{1,2})\]")


def path_of(name: str) -> list[str | int] | None:
    parts: list[str | int] = []
    for piece in name.split("."):
        consumed = 0
        for match in _TOKEN.finditer(piece):
            if match.start() != consumed:
                return None
            parts.append(match.group(1) if match.group(1) else int(match.group(2)))
            consumed = match.end()
        if consumed != len(piece) or not piece:
            return None
    return parts


def parse(pairs: list[tuple[str, str]], inputs: list[Input]) -> dict:
    """The nested data the posted ``pairs`` describe, keeping only names of ``inputs``;
    blank values are left out (a required one is then named as missing), blank list rows
    dropped, whole numbers read as numbers."""
    data: dict = {}
    known = {i.name: i for i in inputs}
    for name, value in pairs:
        path = path_of(name)
        if not path or path[0] not in known or not isinstance(value, str):
            continue
        value = value.strip()
        if value == "":
            continue
        _put(data, path, value)
    return _shape(data, known)


def _put(data: dict, path: list, value: str) -> None:
    node = data
    for step, nxt in zip(path, path[1:]):
        node = node.setdefault(step, {})  # lists are dicts by index until shaped
        if not isinstance(node, dict):
            return
    if isinstance(node, dict):
        node[path[-1]] = value


def _shape(data: dict, known: dict[str, Input]) -> dict:
    shaped = {}
    for name, value in data.items():
        spec = known.get(name)
        if spec is None:
            continue
        if spec.kind == "group" and isinstance(value, dict):
            shaped[name] = _shape({k: v for k, v in value.items() if isinstance(k, str)},
                                  {c.name: c for c in spec.children})
        elif spec.kind == "list" and isinstance(value, dict):
            rows = [value[i] for i in sorted(k for k in value if isinstance(k, int))]
            children = {c.name: c for c in spec.children}
            shaped[name] = [_shape({k: v for k, v in row.items() if isinstance(k, str)
                                    and k in children}, children)
                            for row in rows if isinstance(row, dict)]
            shaped[name] = [row for row in shaped[name] if row]
        elif spec.kind == "number" and isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value):
            shaped[name] = int(value)
        elif isinstance(value, str):
            shaped[name] = value
    return shaped


def rows_of(data: dict, name: str) -> int:
    value = data.get(name)
    return len(value) if isinstance(value, list) else 0


# --- errors ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldError:
    name: str                 # the input's form name, e.g. plan.milestones[0].title
    message_zh: str
    message_en: str


def field_errors(exc: ValidationError) -> list[FieldError]:
    """One bilingual error per input that pydantic refused, in the form's order."""
    found: dict[str, FieldError] = {}
    for error in exc.errors():
        loc = tuple(error.get("loc") or ())
        if error.get("type") == "extra_forbidden":
            continue  # names outside the form are dropped before validation anyway
        name = field_path(loc) or "_form"
        en, zh = reason_of(error)
        found.setdefault(name, FieldError(name, zh, en))
    return list(found.values())


def dom_id(name: str) -> str:
    """An element id for a form name: ``plan.milestones[0].title`` →
    ``f-plan-milestones-0-title``."""
    return "f-" + re.sub(r"[^A-Za-z0-9_]+", "-", name).strip("-")
