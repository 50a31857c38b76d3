"""Documents: a PDF's text and metadata (pypdf), XML as JSON (defusedxml), and HTML queried with a CSS
selector (lxml and cssselect).

Safety: XML is parsed by defusedxml, which refuses entity declarations (the billion laughs and its kin)
and external entities and DTDs (XXE: no file read, no URL fetched); HTML is parsed by libxml2's HTML
parser with the network off and entities never resolved from outside. Both bounded by DATA_MAX_BYTES,
DATA_MAX_ROWS (elements, matches, pages) and DATA_MAX_SECONDS, and XML nesting by MAX_DEPTH.
"""

from __future__ import annotations

import io
from typing import Any

import lxml.etree
import lxml.html
from cssselect import SelectorError
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from lxml.cssselect import CSSSelector
from pydantic import BaseModel, Field
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from integrations.context import ActionContext, ActionError
from integrations.data.common import (
    Deadline,
    Limits,
    Source,
    TextSource,
    computed,
    data_action,
    invalid,
    parser_action,
    plain,
    read_text,
)

MAX_DEPTH = 200


class PdfInput(Source):
    max_pages: int | None = Field(default=None, ge=1, alias="maxPages", description="Read at most this many")
    password: str | None = Field(default=None, description="For an encrypted PDF")


class PdfOutput(BaseModel):
    text: str = Field(description="The pages' text, pages separated by a form feed")
    pages: list[str] = Field(description="Each page's text")
    page_count: int = Field(alias="pageCount", description="Pages in the document (all, read or not)")
    metadata: dict[str, Any] = Field(
        description="title, author, subject, creator, producer, dates (ISO 8601)"
    )


def _pdf_metadata(reader: Any) -> dict[str, Any]:
    info = reader.metadata
    if info is None:
        return {}
    found = {
        "title": info.title,
        "author": info.author,
        "subject": info.subject,
        "creator": info.creator,
        "producer": info.producer,
    }
    for name, attribute in (("created", "creation_date"), ("modified", "modification_date")):
        try:
            found[name] = plain(getattr(info, attribute))
        except (ValueError, TypeError):  # a date pypdf cannot read
            found[name] = None
    return {k: plain(v) for k, v in found.items() if v is not None}


def _pdf(spec: PdfInput, raw: bytes, limits: Limits, deadline: Deadline) -> PdfOutput:
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(spec.password or ""):
            raise invalid("the PDF is encrypted: give its `password`")
        count = len(reader.pages)
        wanted = min(count, spec.max_pages or count, limits.max_rows)
        pages = []
        for page in reader.pages[:wanted]:
            deadline.check()
            pages.append(page.extract_text() or "")
        metadata = _pdf_metadata(reader)
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise invalid(f"the PDF cannot be read ({type(exc).__name__}: {exc})") from exc
    return PdfOutput(text="\f".join(pages), pages=pages, pageCount=count, metadata=metadata)


pdf_text = parser_action(
    "pdf_text",
    "Extract PDF Text",
    "Extract the text of a PDF, page by page, and its metadata (title, author, dates)",
    "reading the PDF",
    _pdf,
)


class XmlInput(Source):
    strip_namespaces: bool = Field(
        default=True, alias="stripNamespaces", description="Names without their {namespace} prefix"
    )


class XmlOutput(BaseModel):
    root: str = Field(description="The root element's name")
    value: Any = Field(
        description="The root as JSON: attributes as `@name`, text as `#text` (or the text alone when an "
        "element has nothing else), repeated children as lists"
    )


def _name(tag: Any, strip: bool) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1] if strip else text


def _element(
    node: Any, strip: bool, budget: list[int], deadline: Deadline, depth: int, limits: Limits
) -> Any:
    if depth > MAX_DEPTH:
        raise invalid(f"the XML nests deeper than {MAX_DEPTH} elements")
    budget[0] += 1
    if budget[0] > limits.max_rows:
        raise limits.too_many("elements")
    deadline.check()
    value: dict[str, Any] = {f"@{_name(k, strip)}": v for k, v in node.attrib.items()}
    for child in node:
        name = _name(child.tag, strip)
        converted = _element(child, strip, budget, deadline, depth + 1, limits)
        if name in value:
            earlier = value[name]
            value[name] = [*earlier, converted] if isinstance(earlier, list) else [earlier, converted]
        else:
            value[name] = converted
    text = (node.text or "").strip()
    if not value:
        return text or None
    if text:
        value["#text"] = text
    return value


def _xml(spec: XmlInput, raw: bytes, limits: Limits, deadline: Deadline) -> XmlOutput:
    try:
        root = fromstring(raw, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ActionError(
            f"the XML was refused: {exc} (entity declarations and external references are not allowed)",
            type="UnsafeXml",
            retryable=False,
        ) from exc
    except ParseError as exc:
        raise invalid(f"the XML is malformed: {exc}") from exc
    value = _element(root, spec.strip_namespaces, [0], deadline, 0, limits)
    return XmlOutput(root=_name(root.tag, spec.strip_namespaces), value=value)


xml_parse = parser_action(
    "xml_parse",
    "Parse XML",
    "Parse XML into JSON, safely: entity declarations, external entities and DTDs refused",
    "parsing the XML",
    _xml,
)


class HtmlInput(TextSource):
    selector: str = Field(
        min_length=1, max_length=1000, description="A CSS selector", examples=["table.prices tr"]
    )
    attribute: str | None = Field(
        default=None, description="Also answer this attribute's value of each match"
    )
    html: bool = Field(default=False, description="Also answer each match's outer HTML")


class HtmlOutput(BaseModel):
    matches: list[dict[str, Any]] = Field(
        description="Each match: `text`, `attributes`, `tag`, and `value` (the attribute asked) or `html`"
    )
    count: int
    title: str | None = Field(default=None, description="The document's <title>")


@data_action(
    "html_select",
    "Query HTML",
    "Select elements of an HTML page with a CSS selector: their text, attributes or HTML",
)
async def html_select(data_in: HtmlInput, ctx: ActionContext) -> HtmlOutput:

    text = await read_text(data_in, ctx, "the HTML")
    limits = Limits.of(ctx)
    try:
        select = CSSSelector(data_in.selector)
    except SelectorError as exc:
        raise invalid(f"selector: {exc}") from exc

    def work(deadline: Deadline) -> HtmlOutput:
        parser = lxml.html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True)
        try:
            document = lxml.html.document_fromstring(text, parser=parser)
        except (lxml.etree.ParserError, ValueError) as exc:
            raise invalid(f"the HTML cannot be parsed: {exc}") from exc
        matches: list[dict[str, Any]] = []
        for element in select(document):
            deadline.check()
            if len(matches) >= limits.max_rows:
                raise limits.too_many("matches")
            match: dict[str, Any] = {
                "tag": element.tag if isinstance(element.tag, str) else None,
                "text": " ".join(element.text_content().split()),
                "attributes": dict(element.attrib),
            }
            if data_in.attribute is not None:
                match["value"] = element.get(data_in.attribute)
            if data_in.html:
                match["html"] = lxml.html.tostring(element, encoding="unicode", with_tail=False)
            matches.append(match)
        title = document.findtext(".//title")
        return HtmlOutput(
            matches=matches, count=len(matches), title=" ".join(title.split()) if title else None
        )

    return await computed(ctx, "querying the HTML", work)
