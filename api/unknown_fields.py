"""Names what is wrong with a request body field by field, and for a field the body's model does not know
(`triggerConfg`) the known one it most likely meant, found by difflib among the fields at that place."""

from __future__ import annotations

import difflib
from inspect import isclass
from typing import Any, get_args

from fastapi import Request
from pydantic import BaseModel


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, through `X | None`, `list[X]`, `Annotated[X, ...]`."""
    if isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        if (found := _model_in(argument)) is not None:
            return found
    return None


def _model_at(model: type[BaseModel], parts: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model of the object at `parts` (a pydantic location inside the body), if it is one."""
    for part in parts:
        if isinstance(part, int):  # a list's item: the same model
            continue
        field = next(
            (f for name, f in model.model_fields.items() if part in (name, f.alias)),
            None,
        )
        inner = _model_in(field.annotation) if field is not None else None
        if inner is None:
            return None
        model = inner
    return model


def _body_model(request: Request) -> type[BaseModel] | None:
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    params = getattr(dependant, "body_params", None) or []
    return _model_in(params[0].field_info.annotation) if len(params) == 1 else None


def suggestion(request: Request, location: tuple[Any, ...]) -> str | None:
    """The known field closest to the unknown one at `location` ("body", ..., name), if one is close."""
    model = _body_model(request)
    parent = _model_at(model, location[1:-1]) if model is not None and location[:1] == ("body",) else None
    if parent is None or not isinstance(location[-1], str):
        return None
    known = [field.alias or name for name, field in parent.model_fields.items()]
    close = difflib.get_close_matches(location[-1], known, n=1, cutoff=0.6)
    return close[0] if close else None


def body_message(request: Request, error: Any) -> str:
    """An error's message for the caller: an unknown field says so, with the name it likely meant."""
    if error.get("type") != "extra_forbidden":
        return str(error.get("msg", "invalid"))
    meant = suggestion(request, tuple(error.get("loc", ())))
    return "unknown field" + (f" (did you mean `{meant}`?)" if meant else "")
