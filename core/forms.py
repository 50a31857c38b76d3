"""Forms Baton hosts: a declared list of fields, and the checks a submission passes before it starts a run
(a webhook trigger's `form`, served at `/forms/{token}` by api.routes.forms).

A form is data in the definition, never markup: the page is rendered by Baton from these fields (plain
HTML, no script), so a workflow's author cannot put anything on Baton's origin but labels and texts, which
are escaped. A submission arrives as text (a browser's `application/x-www-form-urlencoded` or
`multipart/form-data`); `check_submission` turns it into typed values (a number is a number, a checkbox a
boolean, a date `YYYY-MM-DD`) or names every field that is wrong, so the page can say so beside each.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

FIELD_NAME_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]{0,63}$"
FieldType = Literal["text", "textarea", "number", "email", "select", "date", "file", "checkbox"]
# Deliberately loose (one @, a dot after it, no spaces): the address is the sender's to get right; this
# only catches what is obviously not one.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_TEXT = 10_000


class FormModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class FormField(FormModel):
    """One field of a form: what the page shows, and what a value must be."""

    name: str = Field(pattern=FIELD_NAME_PATTERN, description="The key of its value (`trigger.body.<name>`)")
    label: str = Field(default="", max_length=200, description="What the page shows (default: the name)")
    type: FieldType = "text"
    required: bool = False
    options: list[str] | None = Field(
        default=None, max_length=200, description="`select`: the choices (a value must be one of them)"
    )
    placeholder: str = Field(default="", max_length=200)
    help: str = Field(default="", max_length=500, description="A line under the field")
    min: float | None = Field(default=None, description="`number`: the smallest value")
    max: float | None = Field(default=None, description="`number`: the largest value")
    max_length: int | None = Field(default=None, ge=1, le=MAX_TEXT, description="Text: the most characters")

    @model_validator(mode="after")
    def _options_for_selects(self) -> FormField:
        if self.type == "select" and not self.options:
            raise ValueError(f"field {self.name!r}: a select needs `options`")
        if self.type != "select" and self.options is not None:
            raise ValueError(f"field {self.name!r}: only a select has `options`")
        return self

    @property
    def shown_label(self) -> str:
        return self.label or self.name


class Form(FormModel):
    """A form a person fills in (a webhook trigger's page, or a human step's questions)."""

    title: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=2000)
    fields: list[FormField] = Field(min_length=1, max_length=100)
    submit_label: str = Field(default="Send", max_length=60)
    done_message: str = Field(
        default="Thank you: your answers were sent.", max_length=2000, description="Shown once it is sent"
    )

    @model_validator(mode="after")
    def _names_once(self) -> Form:
        names = [f.name for f in self.fields]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"two fields are named {twice[0]!r}")
        return self

    @property
    def takes_files(self) -> bool:
        return any(f.type == "file" for f in self.fields)

    def check(
        self, sent: Mapping[str, Any], files: Sequence[str] = ()
    ) -> tuple[dict[str, Any], dict[str, str]]:
        return check_submission(self.fields, sent, files)


def check_submission(
    fields: Sequence[FormField], sent: Mapping[str, Any], files: Sequence[str] = ()
) -> tuple[dict[str, Any], dict[str, str]]:
    """A submission's typed values and, per field, what is wrong with it (empty when it may go).

    `sent`: the text fields as parsed (a value or a list of values); `files`: the names of the file fields
    that came with a file (the files themselves are the run's, `trigger.files`). Fields the form does not
    declare are dropped: the run sees only what the form asks."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        raw = sent.get(field.name)
        if isinstance(raw, list):
            raw = raw[-1] if raw else None
        text = raw.strip() if isinstance(raw, str) else ""
        if field.type == "file":
            if field.required and field.name not in files:
                errors[field.name] = "Choose a file."
            continue
        if field.type == "checkbox":
            values[field.name] = text not in ("", "off", "false", "0")
            if field.required and not values[field.name]:
                errors[field.name] = "Tick this box to go on."
            continue
        if not text:
            if field.required:
                errors[field.name] = "Fill this in."
            else:
                values[field.name] = None
            continue
        value, error = _typed(field, text)
        if error:
            errors[field.name] = error
        else:
            values[field.name] = value
    return values, errors


def check_values(
    fields: Sequence[FormField], values: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """`check_submission` for values given as JSON (an API or CLI decision): the same rules, on their text."""
    sent: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, bool):
            sent[name] = "on" if value else ""
        elif value is not None:
            sent[name] = value if isinstance(value, str) else str(value)
    return check_submission(fields, sent)


def answer_problems(
    approved: bool,
    choice: str | None,
    values: Mapping[str, Any] | None,
    choices: Sequence[str] | None,
    fields: Sequence[FormField] | None,
) -> list[tuple[str, str]]:
    """What is wrong with a human step's answer, as (JSON path, sentence): approving a step with `choices`
    takes one of them; approving one with `fields` takes values that pass them. A rejection needs neither."""
    problems: list[tuple[str, str]] = []
    if choice is not None and not choices:
        problems.append(("choice", "this step offers no choices; approve or reject it"))
    if values is not None and not fields:
        problems.append(("values", "this step asks for no values"))
    if not approved:
        return problems
    if choices and choice not in choices:
        problems.append(("choice", f"choose one of: {', '.join(choices)}"))
    if fields:
        _, errors = check_values(fields, values or {})
        problems.extend((f"values.{name}", error) for name, error in errors.items())
    return problems


def _typed(field: FormField, text: str) -> tuple[Any, str]:
    limit = field.max_length or MAX_TEXT
    if len(text) > limit:
        return None, f"At most {limit} characters."
    if field.type == "number":
        try:
            number = float(text)
        except ValueError:
            return None, "Enter a number."
        if number != number or number in (float("inf"), float("-inf")):
            return None, "Enter a number."
        if field.min is not None and number < field.min:
            return None, f"At least {_plain(field.min)}."
        if field.max is not None and number > field.max:
            return None, f"At most {_plain(field.max)}."
        return (int(number) if number.is_integer() and "." not in text else number), ""
    if field.type == "email" and not EMAIL.match(text):
        return None, "Enter an email address, like name@example.com."
    if field.type == "select" and text not in (field.options or []):
        return None, "Choose one of the options."
    if field.type == "date":
        try:
            return date.fromisoformat(text).isoformat(), ""
        except ValueError:
            return None, "Enter a date as YYYY-MM-DD."
    return text, ""


def _plain(number: float) -> str:
    return str(int(number)) if number.is_integer() else str(number)
