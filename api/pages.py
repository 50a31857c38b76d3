"""The few HTML pages Baton serves outside the console (signed approval links, hosted forms): plain HTML,
no script, a policy under which nothing loads or runs and a form posts only back to Baton."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from fastapi.responses import HTMLResponse

from core.forms import Form, FormField

# Nothing loads or runs, and a form (ours or one slipped into the page) posts only back to Baton. The one
# inline style sheet is ours (a hash would do too; nothing else is inline).
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
STYLE = (
    "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;"
    "color:#1a1a1a}"
    "label{display:block;font-weight:600;margin-top:1rem}input,select,textarea{font:inherit;width:100%;"
    "padding:.4rem;box-sizing:border-box}input[type=checkbox]{width:auto}.help{color:#555;margin:.2rem 0}"
    ".error{color:#a00000;font-weight:600;margin:.2rem 0}[aria-invalid=true]{border:2px solid #a00000}"
    "button{font:inherit;margin-top:1.5rem;padding:.5rem 1.2rem}</style>"
)


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title>{STYLE}</head><body><main><h1>{html.escape(title)}</h1>{body}"
        "</main></body></html>",
        status_code=status,
        headers={"Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-store"},
    )


def form_page(
    form: Form,
    action: str,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The form as a page: a label for every field, its help and its error tied to it (aria-describedby),
    and a summary of the errors first, each a link to its field."""
    values, errors = values or {}, errors or {}
    parts = [f"<p>{html.escape(form.description)}</p>"] if form.description else []
    if errors:
        items = "".join(
            f"<li><a href='#f-{html.escape(name)}'>{html.escape(_label(form, name))}: "
            f"{html.escape(error)}</a></li>"
            for name, error in errors.items()
        )
        parts.append(f"<div role=alert><h2>Some answers need a look</h2><ul>{items}</ul></div>")
    encoding = " enctype=multipart/form-data" if form.takes_files else ""
    fields = "".join(
        field_html(field, values.get(field.name), errors.get(field.name)) for field in form.fields
    )
    parts.append(
        f"<form method=post action='{html.escape(action)}'{encoding} novalidate>{fields}"
        f"<button type=submit>{html.escape(form.submit_label)}</button></form>"
    )
    return page(form.title or "Form", "".join(parts), status)


def _label(form: Form, name: str) -> str:
    return next((f.shown_label for f in form.fields if f.name == name), name)


def field_html(field: FormField, value: Any, error: str | None) -> str:
    name = html.escape(field.name)
    ident = f"f-{name}"
    described = []
    extra = ""
    if field.help:
        described.append(f"{ident}-help")
        extra += f"<p class=help id={ident}-help>{html.escape(field.help)}</p>"
    if error:
        described.append(f"{ident}-error")
        extra += f"<p class=error id={ident}-error>{html.escape(error)}</p>"
    attrs = f" id={ident} name={name}"
    if described:
        attrs += f" aria-describedby='{' '.join(described)}'"
    if error:
        attrs += " aria-invalid=true"
    if field.required:
        attrs += " required aria-required=true"
    if field.placeholder:
        attrs += f" placeholder='{html.escape(field.placeholder)}'"
    label = html.escape(field.shown_label) + (" <span aria-hidden=true>*</span>" if field.required else "")
    shown = "" if value is None else html.escape(str(value))
    if field.type == "textarea":
        control = f"<textarea{attrs} rows=5>{shown}</textarea>"
    elif field.type == "select":
        options = "".join(
            f"<option value='{html.escape(o)}'{' selected' if str(value) == o else ''}>"
            f"{html.escape(o)}</option>"
            for o in field.options or []
        )
        control = f"<select{attrs}><option value=''>Choose…</option>{options}</select>"
    elif field.type == "checkbox":
        checked = " checked" if value is True else ""
        return f"<div><label><input type=checkbox{attrs} value=on{checked}> {label}</label>{extra}</div>"
    else:
        kind = {"number": "number", "email": "email", "date": "date", "file": "file"}.get(field.type, "text")
        numeric = ""
        if field.type == "number":
            numeric = " step=any" + (f" min={field.min:g}" if field.min is not None else "")
            numeric += f" max={field.max:g}" if field.max is not None else ""
        length = f" maxlength={field.max_length}" if field.max_length else ""
        kept = f" value='{shown}'" if shown and field.type != "file" else ""
        control = f"<input type={kind}{attrs}{numeric}{length}{kept}>"
    return f"<div><label for={ident}>{label}</label>{control}{extra}</div>"
