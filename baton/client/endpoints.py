"""One description per endpoint: `@endpoint("POST", path, Answer, body=Model, query=(...))` on a method
whose signature is the public one and whose body is `...`; the call is made from the description.

Why a decorator and not hand-written calls: each method used to spell its path, its body (field by field)
and its parsing again. Here the arguments are bound to the signature and routed by name (a `{name}` of
the path, a query parameter listed in `query`, otherwise a field of the body, checked with the server's
own request model, so a field the API does not know fails before any call). This is the shape of
declarative HTTP clients such as uplink or Retrofit, kept to what Baton needs rather than a dependency.
The blocking client is derived from these signatures (baton/client/portal.py), and a test checks
every description against the server's routes, so an endpoint is written once on the client side.

Conventions the arguments follow (they are those of the public methods):
- UNSET is never sent; None is not sent either, except by a PATCH, where it clears the field;
- query names are camelCase, with `since`/`until` as `from`/`to` and `page_size` as `limit`;
- `idempotency_key` is the call's Idempotency-Key header (POSTs get a fresh one otherwise);
- `**kwargs` of the signature are body fields as given.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from baton.client.transport import UNSET, Http, body_of, query_params

F = TypeVar("F", bound=Callable[..., Any])
JSON: Any = object()  # an answer given back as parsed JSON, without a model
RAW = dict  # a body sent as given, for the endpoints without a request model
API = "/api/v1"
WS = API + "/workspaces/{workspace_id}"
QUERY_NAMES = {"since": "from", "until": "to", "page_size": "limit"}
Prepare = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Endpoint:
    """An endpoint as the client calls it: the HTTP method, the path template (API.md), what answers
    (a model, JSON, or None for 204), the request body's model, the arguments sent as query parameters,
    and, for `pages`, the item whose pages are followed."""

    method: str
    path: str
    answer: Any = None
    body: type[BaseModel] | type[dict[str, Any]] | None = None
    query: Sequence[str] = ()
    fixed_query: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    prepare: Prepare | None = None
    item: type[BaseModel] | None = None

    @property
    def path_names(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def request(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments of `Http.send` for a call with these (bound) arguments."""
        values = dict(self.prepare(dict(arguments)) if self.prepare else arguments)
        path = fill(self.path, **{name: values.pop(name) for name in self.path_names})
        key = values.pop("idempotency_key", None)
        query = {QUERY_NAMES.get(name, to_camel(name)): values.pop(name) for name in self.query}
        sent: dict[str, Any] = {"path": path, "params": query_params(**self.fixed_query, **query) or None}
        if self.headers:
            sent["headers"] = dict(self.headers)
        if key is not None:
            sent["idempotency_key"] = key
        fields = {
            self.names.get(name, name): value
            for name, value in values.items()
            if value is not UNSET and (value is not None or self.method == "PATCH")
        }
        if self.body is RAW:
            sent["json_body"] = fields
        elif self.body is not None and issubclass(self.body, BaseModel):
            sent["json_body"] = body_of(self.body, **fields)
        elif fields:
            raise TypeError(f"{self.method} {self.path} has no body for {sorted(fields)}")
        return sent

    async def call(self, http: Http, arguments: Mapping[str, Any]) -> Any:
        request = self.request(arguments)
        path = request.pop("path")
        if self.answer is JSON:
            return await http.json(self.method, path, **request)
        if self.answer is None:
            await http.send(self.method, path, **request)
            return None
        return await http.model(self.answer, self.method, path, **request)


def fill(template: str, **values: Any) -> str:
    """A path with its `{names}` replaced, each value quoted (an id cannot reach another path)."""
    return template.format(**{name: quote(str(value), safe="") for name, value in values.items()})


class Resource:
    """A group of endpoints (workflows, executions...) sharing the client's connection."""

    def __init__(self, http: Http) -> None:
        self.http = http


def _arguments(signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.pop("self")
    for name, parameter in signature.parameters.items():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            arguments.update(arguments.pop(name))
    return arguments


def endpoint(method: str, path: str, answer: Any = None, **description: Any) -> Callable[[F], F]:
    """The decorated method calls this endpoint with its arguments (see the module's conventions)."""
    described = Endpoint(method, path, answer, **description)

    def build(declared: F) -> F:
        signature = inspect.signature(declared)
        _check(described, signature, declared.__qualname__)

        @functools.wraps(declared)
        async def send(self: Resource, *args: Any, **kwargs: Any) -> Any:
            return await described.call(self.http, _arguments(signature, (self, *args), kwargs))

        send.endpoint = described  # type: ignore[attr-defined]
        return send  # type: ignore[return-value]

    return build


def pages(path: str, item: type[BaseModel], **description: Any) -> Callable[[F], F]:
    """The decorated method iterates every item of this paginated list, following `nextCursor`."""
    described = Endpoint("GET", path, item=item, **description)

    def build(declared: F) -> F:
        signature = inspect.signature(declared)
        _check(described, signature, declared.__qualname__)

        @functools.wraps(declared)
        def iterate(self: Resource, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            request = described.request(_arguments(signature, (self, *args), kwargs))
            return self.http.iterate(item, request["path"], request["params"] or {})

        iterate.endpoint = described  # type: ignore[attr-defined]
        return iterate  # type: ignore[return-value]

    return build


def _check(described: Endpoint, signature: inspect.Signature, name: str) -> None:
    """A description that cannot be called as declared fails at import, not on a user's first call."""
    parameters = set(signature.parameters) - {"self"}
    missing = (set(described.path_names) | set(described.query)) - parameters
    if missing:
        raise TypeError(f"{name}: {sorted(missing)} are in its endpoint but not in its signature")
    left = parameters - set(described.path_names) - set(described.query) - {"idempotency_key"}
    if left and described.body is None:
        raise TypeError(f"{name}: {sorted(left)} go nowhere (no path, query or body names them)")
