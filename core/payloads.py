"""Baton's JSON payload converter for Temporal: the SDK's `json/plain` converter on orjson, with each
dataclass's field types read once.

The SDK's converter encodes with the standard library (`dataclasses.asdict` and `json.dumps`) and, on every
decode of a dataclass, calls `typing.get_type_hints` on it, which re-evaluates every annotation of the
class (our modules use `from __future__ import annotations`): a run's input, each activity's input and
output. Measured under sync-webhook load, that decoding was ~7% of the worker's CPU. orjson (a well-kept,
widely used C JSON library) encodes dataclasses natively.

The bytes are the SDK's: the same encoding name, keys sorted (a dataclass's too), compact separators, so a
payload written by either converter is read by the other, and recorded histories replay unchanged. What
orjson refuses (an integer beyond 64 bits; a `NaN` the SDK wrote) falls back to the standard library, so
nothing the SDK took is refused. One difference: a float NaN or infinity, which JSON cannot write, is
written `null` (as JavaScript's JSON.stringify does) where the SDK wrote a bare `NaN` that only Python
reads."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, get_type_hints

import orjson
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    AdvancedJSONEncoder,
    BinaryNullPayloadConverter,
    BinaryPlainPayloadConverter,
    BinaryProtoPayloadConverter,
    CompositePayloadConverter,
    JSONPlainPayloadConverter,
    JSONProtoPayloadConverter,
    JSONTypeConverter,
    value_to_type,
)

# dataclasses pass through `_default`, which gives their fields as a dict, so their keys are sorted too
ENCODE_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS
PLAN = "__baton_payload_fields__"  # a dataclass's decoding plan, kept on the class (it dies with it)
NAMES = "__baton_payload_names__"  # and the names of its fields, for encoding

# hints whose decoded JSON is already the value: no walk over it
AS_IS: frozenset[Any] = frozenset({Any, object, dict, list, dict[str, Any], list[Any], dict[Any, Any]})


def _default(value: Any) -> Any:
    """A dataclass's fields (orjson encodes the values, nested dataclasses coming back here), and what
    orjson does not encode itself (a set, a pydantic v1 model...) as the SDK's encoder would."""
    names: tuple[str, ...] | None = vars(type(value)).get(NAMES)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = tuple(f.name for f in dataclasses.fields(value))
        setattr(type(value), NAMES, names)
    if names is not None:
        return {name: getattr(value, name) for name in names}
    return AdvancedJSONEncoder().default(value)


class DataclassFields(JSONTypeConverter):
    """Decodes dataclasses as the SDK does (unknown keys ignored, `init=False` fields restored), with the
    field types resolved once per class instead of on every payload."""

    def to_typed_value(self, hint: type, value: Any) -> Any:
        if not (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
            return JSONTypeConverter.Unhandled
        plan: list[tuple[str, Any, bool]] | None = vars(hint).get(PLAN)
        if plan is None:
            hints = get_type_hints(hint)
            plan = [(f.name, hints[f.name], f.init) for f in dataclasses.fields(hint)]
            setattr(hint, PLAN, plan)
        if not isinstance(value, dict):
            raise TypeError(f"Cannot convert to dataclass {hint}, value is {type(value)} not dict")
        given: dict[str, Any] = {}
        later: dict[str, Any] = {}
        for name, field_hint, init in plan:
            if name not in value:
                continue  # a missing required field fails in the constructor, as in the SDK
            field_value = value[name]
            if field_hint not in AS_IS:
                try:
                    field_value = value_to_type(field_hint, field_value, CONVERTERS)
                except Exception as err:
                    raise TypeError(f"Failed converting field {name} on dataclass {hint}") from err
            (given if init else later)[name] = field_value
        made = hint(**given)
        for name, field_value in later.items():
            object.__setattr__(made, name, field_value)
        return made


CONVERTERS: list[JSONTypeConverter] = [DataclassFields()]


class FastJSONPayloadConverter(JSONPlainPayloadConverter):
    """`json/plain` on orjson (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(custom_type_converters=CONVERTERS)

    def to_payload(self, value: Any) -> Payload | None:
        try:
            data = orjson.dumps(value, default=_default, option=ENCODE_OPTIONS)
        except TypeError:  # beyond what orjson encodes (a 65-bit integer): the SDK's way
            data = json.dumps(value, cls=AdvancedJSONEncoder, separators=(",", ":"), sort_keys=True).encode()
        return Payload(metadata={"encoding": b"json/plain"}, data=data)

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        try:
            decoded = orjson.loads(payload.data)
        except orjson.JSONDecodeError:  # NaN, Infinity: the standard library reads them
            try:
                decoded = json.loads(payload.data)
            except json.JSONDecodeError as err:
                raise RuntimeError("Failed parsing") from err
        if type_hint is None or type_hint in AS_IS:
            return decoded
        return value_to_type(type_hint, decoded, CONVERTERS)


class BatonPayloadConverter(CompositePayloadConverter):
    """The SDK's default converters in their order, with `json/plain` on orjson."""

    def __init__(self) -> None:
        super().__init__(
            BinaryNullPayloadConverter(),
            BinaryPlainPayloadConverter(),
            JSONProtoPayloadConverter(),
            BinaryProtoPayloadConverter(),
            FastJSONPayloadConverter(),  # last: it takes anything, as the SDK's JSON converter does
        )
