"""The data actions (integrations/data) run by a real worker on the `cpu` profile's queue: CSV and XLSX both
ways and through files of the run, a PDF's text and metadata, XML and HTML parsed safely (a billion-laughs
document and XXE documents neither expand nor fetch anything), gzip and zip both ways, and the bounds (size,
rows, time), each failing with the name of its setting."""

from __future__ import annotations

import base64
import gzip
import io
import json
import logging
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError

from core.definition.validation import validate_definition
from core.settings import Settings
from integrations.catalogue import action_input_schema
from integrations.context import ActionContext, ActionError
from integrations.data import data
from integrations.data.tables import CsvReadInput, csv_read
from tests.engine import Engine, output
from tests.http_server import Reply, ScriptedServer

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={
            "blob_store_url": f"file://{tmp_path}/blobs",
            "data_max_bytes": MAX_BYTES,
            "data_max_rows": MAX_ROWS,
        }
    )


@pytest.fixture
def spy() -> Iterator[ScriptedServer]:
    """Where the XXE documents point: it must never be asked anything."""
    server = ScriptedServer()
    server.script("/secret", Reply(200, "THE-SECRET"))
    yield server
    server.close()


def act(step_id: str, action: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": step_id,
        "type": "action",
        "action": f"data.{action}",
        "input": data,
        "retry": {"maxAttempts": 1},
    }


async def run(engine: Engine, *steps: dict[str, Any]) -> dict[str, Any]:
    """Every step's output by id."""
    handle = await engine.start(list(steps))
    result = await handle.result()
    assert result.status == "SUCCESS", result.error
    return {step_id: output(row) for step_id, row in (await engine.step_rows(handle)).items()}


async def failure(engine: Engine, *steps: dict[str, Any]) -> str:
    with pytest.raises(WorkflowFailureError) as caught:
        await engine.run(list(steps))
    return str(caught.value.cause)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def test_csv_is_read_typed_written_as_a_file_and_read_back_from_it_on_the_cpu_queue(
    engine_worker: Engine,
) -> None:
    text = "id;name;price;active;note\r\n1;Ada;12.5;true;\r\n2;Grace, H.;-3;false;x\r\n"
    handle = await engine_worker.start(
        [
            act("read", "csv_read", {"content": text, "delimiter": "auto", "types": "auto"}),
            act(
                "write",
                "csv_write",
                {"rows": "{{ steps.read.output.rows }}", "output": "file", "fileName": "out.csv"},
            ),
            act("again", "csv_read", {"file": "{{ steps.write.output.file }}"}),
        ]
    )
    result = await handle.result()
    assert result.status == "SUCCESS", result.error
    outputs = {k: output(v) for k, v in (await engine_worker.step_rows(handle)).items()}
    assert outputs["read"]["columns"] == ["id", "name", "price", "active", "note"]
    assert outputs["read"]["rows"] == [
        {"id": 1, "name": "Ada", "price": 12.5, "active": True, "note": None},
        {"id": 2, "name": "Grace, H.", "price": -3, "active": False, "note": "x"},
    ]
    written = outputs["write"]
    assert (written["count"], written["file"]["name"], written["file"]["contentType"]) == (
        2,
        "out.csv",
        "text/csv",
    )
    assert outputs["again"]["rows"][1] == {
        "id": "2",
        "name": "Grace, H.",
        "price": "-3",
        "active": "false",
        "note": "x",
    }
    history = await handle.fetch_history()
    queues = {
        event.activity_task_scheduled_event_attributes.task_queue.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and event.activity_task_scheduled_event_attributes.activity_type.name.startswith("data.")
    }
    assert queues == {f"{engine_worker.task_queue}-cpu"}


async def test_csv_writes_text_with_columns_in_order_and_nested_values_as_json(engine_worker: Engine) -> None:
    rows = [{"b": 1, "a": {"x": [1, 2]}}, {"a": 'q"uote', "c": None, "b": True}]
    ordered = await run(engine_worker, act("w", "csv_write", {"rows": rows, "columns": ["b", "a", "c"]}))
    assert ordered["w"]["content"] == 'b,a,c\r\n1,"{""x"":[1,2]}",\r\ntrue,"q""uote",\r\n'
    keys = await run(engine_worker, act("w", "csv_write", {"rows": rows}))
    assert keys["w"]["content"].startswith("a,b,c\r\n")  # a run's values keep no key order
    headless = await run(
        engine_worker, act("w", "csv_write", {"rows": [[1, 2], [3]], "header": False, "delimiter": "\t"})
    )
    assert headless["w"]["content"] == "1\t2\r\n3\r\n"
    risky = [["=HYPERLINK(1)", "-2", "@SUM", 5, "ok"]]
    escaped = await run(
        engine_worker, act("w", "csv_write", {"rows": risky, "header": False, "escapeFormulas": True})
    )
    assert escaped["w"]["content"] == "'=HYPERLINK(1),'-2,'@SUM,5,ok\r\n"


async def test_xlsx_round_trip_through_a_file_keeps_text_that_looks_like_a_formula_as_text(
    engine_worker: Engine,
) -> None:
    rows = [
        {"sku": "A-1", "qty": 3, "price": 9.99, "note": '=HYPERLINK("http://evil.example","click")'},
        {"sku": "B-2", "qty": 0, "price": None, "note": "plain"},
    ]
    outputs = await run(
        engine_worker,
        act("write", "xlsx_write", {"rows": rows, "sheet": "Orders", "fileName": "orders.xlsx"}),
        act("read", "xlsx_read", {"file": "{{ steps.write.output.file }}", "sheet": "Orders"}),
    )
    assert outputs["write"]["file"]["name"] == "orders.xlsx"
    assert outputs["read"]["sheets"] == ["Orders"]
    assert outputs["read"]["rows"] == rows
    raw = base64.b64decode(
        (await run(engine_worker, act("w", "xlsx_write", {"rows": rows, "output": "base64"})))["w"][
            "contentBase64"
        ]
    )
    sheet = zipfile.ZipFile(io.BytesIO(raw)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no formula cell at all
    missing = await failure(
        engine_worker, act("r", "xlsx_read", {"contentBase64": b64(raw), "sheet": "Nope"})
    )
    assert "sheet 'Nope' is not in the workbook" in missing


def a_pdf(pages: list[str], title: str) -> bytes:
    """A small, valid PDF with one line of text per page and an Info dictionary."""
    count = len(pages)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{4 + 2 * i} 0 R".encode() for i in range(count))
        + f"] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {5 + 2 * i} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(f"<< /Title ({title}) /Author (Baton) /CreationDate (D:20260102030405Z) >>".encode())
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n".encode())
    out.write(f"startxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


async def test_a_pdfs_text_and_metadata(engine_worker: Engine) -> None:
    raw = a_pdf(["Invoice 42", "Total due: 99 EUR"], "Invoice")
    outputs = await run(engine_worker, act("pdf", "pdf_text", {"contentBase64": b64(raw)}))
    found = outputs["pdf"]
    assert [page.strip() for page in found["pages"]] == ["Invoice 42", "Total due: 99 EUR"]
    assert found["pageCount"] == 2
    assert found["metadata"]["title"] == "Invoice"
    assert found["metadata"]["author"] == "Baton"
    assert found["metadata"]["created"].startswith("2026-01-02T03:04:05")
    first = await run(engine_worker, act("pdf", "pdf_text", {"contentBase64": b64(raw), "maxPages": 1}))
    assert (len(first["pdf"]["pages"]), first["pdf"]["pageCount"]) == (1, 2)
    broken = await failure(engine_worker, act("pdf", "pdf_text", {"content": "not a pdf"}))
    assert "the PDF cannot be read" in broken


async def test_a_downloaded_pdfs_text(engine_worker: Engine, http_server: ScriptedServer) -> None:
    """The most asked-for automation: download a PDF, extract its text."""
    url = http_server.script(
        "/invoices/42.pdf", Reply(200, a_pdf(["Invoice 42"], "Invoice"), {"content-type": "application/pdf"})
    )
    outputs = await run(
        engine_worker,
        {
            "id": "fetch",
            "type": "action",
            "action": "http.request",
            "input": {"url": url, "responseFormat": "file"},
        },
        act("pdf", "pdf_text", {"file": "{{ steps.fetch.output.file }}"}),
    )
    assert outputs["fetch"]["file"]["name"] == "42.pdf"
    assert outputs["pdf"]["pages"][0].strip() == "Invoice 42"


async def test_xml_becomes_json(engine_worker: Engine) -> None:
    xml = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>News</title>'
        '<entry id="1"><title>One</title></entry><entry id="2"><title lang="en">Two</title></entry></feed>'
    )
    outputs = await run(engine_worker, act("x", "xml_parse", {"content": xml}))
    assert outputs["x"] == {
        "root": "feed",
        "value": {
            "title": "News",
            "entry": [{"@id": "1", "title": "One"}, {"@id": "2", "title": {"@lang": "en", "#text": "Two"}}],
        },
    }


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""


def xxe(target: str) -> str:
    return f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{target}">]><r>&x;</r>'


async def test_a_billion_laughs_and_xxe_documents_are_refused_without_expanding_or_fetching(
    engine_worker: Engine, spy: ScriptedServer
) -> None:
    laughs = await failure(engine_worker, act("x", "xml_parse", {"content": BILLION_LAUGHS}))
    assert "the XML was refused" in laughs
    for target in ("file:///etc/passwd", f"{spy.base_url}/secret"):
        refused = await failure(engine_worker, act("x", "xml_parse", {"content": xxe(target)}))
        assert "the XML was refused" in refused
        assert "root:" not in refused
    external_dtd = f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "{spy.base_url}/secret"><r>ok</r>'
    parsed = await run(engine_worker, act("x", "xml_parse", {"content": external_dtd}))
    assert parsed["x"] == {"root": "r", "value": "ok"}  # the DTD named, never read
    assert spy.requests == []


async def test_html_is_queried_with_a_css_selector_and_never_loads_anything(
    engine_worker: Engine, spy: ScriptedServer
) -> None:
    entities = f'<!ENTITY x SYSTEM "file:///etc/passwd"><!ENTITY y SYSTEM "{spy.base_url}/secret">'
    page = f"""<!DOCTYPE html [{entities}]>
<html><head><title> Prices </title><link rel="stylesheet" href="{spy.base_url}/secret"></head>
<body><ul class="items"><li><a href="/a">Apple  <b>1.20</b></a></li><li><a href="/b">Pear</a></li></ul>
<p>&x;&y;</p><img src="{spy.base_url}/secret"></body></html>"""
    outputs = await run(
        engine_worker,
        act("h", "html_select", {"content": page, "selector": "ul.items a", "attribute": "href"}),
    )
    found = outputs["h"]
    assert found["title"] == "Prices"
    assert [(m["text"], m["value"], m["tag"]) for m in found["matches"]] == [
        ("Apple 1.20", "/a", "a"),
        ("Pear", "/b", "a"),
    ]
    body = await run(engine_worker, act("h", "html_select", {"content": page, "selector": "p", "html": True}))
    assert "root:" not in str(body)
    assert "THE-SECRET" not in str(body)
    assert spy.requests == []
    bad = await failure(engine_worker, act("h", "html_select", {"content": page, "selector": "ul[["}))
    assert "selector:" in bad


async def test_gzip_and_zip_both_ways(engine_worker: Engine) -> None:
    made = await run(
        engine_worker,
        act("gz", "compress", {"content": "hello " * 1000, "output": "base64"}),
        act("back", "decompress", {"contentBase64": "{{ steps.gz.output.contentBase64 }}", "output": "text"}),
        act("gz_file", "compress", {"content": "in a file", "fileName": "note.txt.gz"}),
        act(
            "zip",
            "compress",
            {
                "format": "zip",
                "entries": [
                    {"name": "a.txt", "content": "A"},
                    {"name": "../../etc/b.bin", "contentBase64": b64(b"\x00\x01")},
                    {"name": "note.txt.gz", "file": "{{ steps.gz_file.output.file }}"},
                ],
            },
        ),
        act("unzip", "decompress", {"file": "{{ steps.zip.output.file }}", "output": "file"}),
    )
    assert gzip.decompress(base64.b64decode(made["gz"]["contentBase64"])) == b"hello " * 1000
    assert made["back"]["entries"] == [{"content": "hello " * 1000, "name": "data", "size": 6000}]
    assert made["gz_file"]["file"]["name"] == "note.txt.gz"
    entries = made["unzip"]["entries"]
    assert [(e["name"], e["size"], e["file"]["name"]) for e in entries] == [
        ("a.txt", 1, "a.txt"),
        ("../../etc/b.bin", 2, "b.bin"),  # a name only: the file made from it is named by its last segment
        ("note.txt.gz", made["gz_file"]["file"]["size"], "note.txt.gz"),
    ]


async def test_bombs_and_large_inputs_stop_at_the_size_limit(engine_worker: Engine) -> None:
    bomb = gzip.compress(b"\0" * (MAX_BYTES + 1))
    assert len(bomb) < 10_000
    said = await failure(
        engine_worker, act("d", "decompress", {"contentBase64": b64(bomb), "output": "base64"})
    )
    assert "(DATA_MAX_BYTES)" in said
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for i in range(3):
            z.writestr(f"zeros{i}", b"\0" * (MAX_BYTES // 2))
    said = await failure(engine_worker, act("d", "decompress", {"contentBase64": b64(archive.getvalue())}))
    assert "the decompressed entries is larger than" in said
    assert "(DATA_MAX_BYTES)" in said


async def test_too_many_rows_and_one_input_of_three(engine_worker: Engine) -> None:
    rows = "n\n" + "1\n" * (MAX_ROWS + 1)
    said = await failure(engine_worker, act("r", "csv_read", {"content": rows}))
    assert f"more than {MAX_ROWS:,} rows" in said
    assert "(DATA_MAX_ROWS)" in said
    both = await failure(engine_worker, act("r", "csv_read", {"content": "a", "contentBase64": b64(b"a")}))
    assert "give exactly one of content, contentBase64 and file" in both


async def test_computing_past_the_time_limit_fails_naming_it(settings: Settings) -> None:
    limited = settings.model_copy(update={"data_max_seconds": 0.001, "data_max_rows": 10_000_000})
    async with httpx.AsyncClient() as http:
        ctx = ActionContext(credentials={}, http=http, logger=logging.getLogger("test"), settings=limited)
        with pytest.raises(ActionError) as caught:
            await csv_read(CsvReadInput(content="a,b\n" + "1,2\n" * 200_000), ctx)
    assert caught.value.type == "Timeout"
    assert "longer than 0.001 s, this installation's limit (DATA_MAX_SECONDS)" in caught.value.message


def test_the_examples_on_the_integrations_page_are_valid_steps() -> None:
    """docs/integrations.md shows data.example (tests/integrations/test_docs.py keeps the page in step)."""
    blocks = re.findall(r"```json\n(.*?)```", data.example, re.S)
    assert len(blocks) >= 2
    steps = [json.loads(block) for block in blocks]  # in order: a later one reads an earlier one
    validate_definition(
        {"triggerType": "WEBHOOK", "triggerConfig": {}, "steps": steps}, action_schema=action_input_schema
    )
    assert {step["action"] for step in steps} <= {f"data.{key}" for key in data.actions}
