"""Rows and items: CSV (the standard library's reader and writer) and XLSX (openpyxl, read-only and
write-only modes: a sheet streams rather than building the whole workbook's object tree).

Reading: the header row names the columns (a missing or repeated name becomes `column_N`); `types: auto`
turns numbers, true/false and empty cells into JSON numbers, booleans and null. Writing: rows are objects
(columns from their keys, in the order first seen, or `columns`) or lists; nested values are written as JSON.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable
from typing import Any, Literal

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils.exceptions import IllegalCharacterError
from pydantic import BaseModel, Field

from integrations.context import ActionContext
from integrations.data.common import (
    Deadline,
    Limits,
    Made,
    MakesBinary,
    Output,
    Source,
    TextSource,
    computed,
    data_action,
    invalid,
    make,
    parser_action,
    plain,
    read_text,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")


class Table(BaseModel):
    columns: list[str] = Field(description="The column names, in order")
    rows: list[Any] = Field(description="One object per row (a list when header is false)")
    count: int = Field(description="How many rows")


class CsvReadInput(TextSource):
    delimiter: str = Field(default=",", description='One character, or "auto" to detect it (, ; tab |)')
    header: bool = Field(default=True, description="The first row names the columns")
    types: Literal["text", "auto"] = Field(
        default="text", description="auto: numbers, true/false and empty cells as numbers, booleans and null"
    )


def _typed(value: Any, types: str) -> Any:
    if types != "auto" or not isinstance(value, str):
        return plain(value)
    text = value.strip()
    if text == "":
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if NUMBER.fullmatch(text):
        number = float(text)
        return int(text) if number.is_integer() and "." not in text and "e" not in text.lower() else number
    return value


def _columns(first: list[Any]) -> list[str]:
    names: list[str] = []
    for index, value in enumerate(first, start=1):
        name = "" if value is None else str(value).strip()
        names.append(name if name and name not in names else f"column_{index}")
    return names


def rows_of(
    records: Iterable[list[Any]], header: bool, types: str, limits: Limits, deadline: Deadline
) -> Table:
    """A table from raw rows (CSV's or a sheet's): objects under the header's names, or lists."""
    found = iter(records)
    columns: list[str] = []
    if header:
        first = next(found, None)
        columns = _columns(list(first)) if first is not None else []
    rows: list[Any] = []
    for record in found:
        deadline.check()
        if len(rows) >= limits.max_rows:
            raise limits.too_many("rows")
        values = [_typed(v, types) for v in record]
        if not header:
            rows.append(values)
            continue
        if len(values) > len(columns):
            columns += [f"column_{i}" for i in range(len(columns) + 1, len(values) + 1)]
        rows.append({name: values[i] if i < len(values) else None for i, name in enumerate(columns)})
    if not header:
        columns = [f"column_{i}" for i in range(1, max((len(r) for r in rows), default=0) + 1)]
    return Table(columns=columns, rows=rows, count=len(rows))


@data_action(
    "csv_read",
    "Read CSV",
    "Read CSV into rows: one object per row under the header's column names",
)
async def csv_read(data_in: CsvReadInput, ctx: ActionContext) -> Table:
    text = await read_text(data_in, ctx, "the CSV")
    limits = Limits.of(ctx)
    delimiter = data_in.delimiter
    if delimiter == "auto":
        try:
            delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    elif len(delimiter) != 1:
        raise invalid('delimiter must be one character or "auto"')

    def work(deadline: Deadline) -> Table:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            return rows_of(reader, data_in.header, data_in.types, limits, deadline)
        except csv.Error as exc:
            raise invalid(f"the CSV is malformed at line {reader.line_num}: {exc}") from exc

    return await computed(ctx, "reading the CSV", work)


class WriteInput(BaseModel):
    rows: list[Any] = Field(description="Objects (their keys are the columns) or lists of values")
    columns: list[str] | None = Field(
        default=None,
        description="The columns and their order (default: every key of the objects; a run's values "
        "keep no key order, so give columns to choose it)",
    )
    header: bool = Field(default=True, description="Write the column names first")
    file_name: str | None = Field(default=None, alias="fileName", description="output file: its name")


class CsvWriteInput(WriteInput):
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    output: Output = Field(default="text", description="text, base64, or file (a new file of the run)")
    escape_formulas: bool = Field(
        default=False,
        alias="escapeFormulas",
        description="Text starting with = + - @ (or a tab or CR) gets a leading ' so a spreadsheet opening "
        "the file shows it rather than computing it (OWASP's CSV injection advice)",
    )


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _escaped(value: Any) -> Any:
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


class Written(Made):
    count: int = Field(description="Rows written")


async def written(
    raw: bytes,
    spec: CsvWriteInput | XlsxWriteInput,
    ctx: ActionContext,
    kind: tuple[str, str, str],
    count: int,
) -> Written:
    """What a writer made, as its `output` asks; `kind`: the default file name, the media type, what it is."""
    name, content_type, what = kind
    made = await make(
        raw, spec.output, ctx, name=spec.file_name or name, content_type=content_type, what=what
    )
    return Written(**made.model_dump(by_alias=True, exclude_none=True), count=count)


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def table_of(spec: WriteInput, limits: Limits) -> tuple[list[str], list[list[Any]]]:
    """The columns and the rows as lists of cells."""
    if len(spec.rows) > limits.max_rows:
        raise limits.too_many("rows")
    columns = list(spec.columns or [])
    if spec.columns is None:
        for row in spec.rows:
            if isinstance(row, dict):
                columns += [str(k) for k in row if str(k) not in columns]
    lines = []
    for index, row in enumerate(spec.rows):
        if isinstance(row, dict):
            lines.append([_cell(row.get(name)) for name in columns])
        elif isinstance(row, list):
            lines.append([_cell(v) for v in row])
        else:
            raise invalid(f"rows[{index}] must be an object or a list, not {type(row).__name__}")
    return columns, lines


@data_action(
    "csv_write",
    "Write CSV",
    "Write rows (objects or lists) as CSV: text, base64 or a new file",
)
async def csv_write(data_in: CsvWriteInput, ctx: ActionContext) -> Written:
    columns, lines = table_of(data_in, Limits.of(ctx))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=data_in.delimiter, lineterminator="\r\n")
    if data_in.header and columns:
        writer.writerow(columns)
    writer.writerows(([_escaped(v) for v in line] for line in lines) if data_in.escape_formulas else lines)
    return await written(
        buffer.getvalue().encode(), data_in, ctx, ("data.csv", "text/csv", "the CSV"), len(lines)
    )


class XlsxReadInput(Source):
    sheet: str | None = Field(default=None, description="The sheet's name (default: the first)")
    header: bool = Field(default=True, description="The first row names the columns")


class Sheet(Table):
    sheets: list[str] = Field(description="Every sheet's name")


def _workbook_bytes_within(raw: bytes, limits: Limits, what: str) -> None:
    """An XLSX is a zip: its parts' declared sizes must fit, and reading checks the true ones."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            if sum(info.file_size for info in archive.infolist()) > limits.max_bytes:
                raise limits.too_large(f"{what}, uncompressed,")
    except zipfile.BadZipFile as exc:
        raise invalid(f"{what} is not an XLSX file ({exc})") from exc


def _sheet(spec: XlsxReadInput, raw: bytes, limits: Limits, deadline: Deadline) -> Sheet:
    _workbook_bytes_within(raw, limits, "the workbook")
    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises whatever its parsers do on a damaged file
        raise invalid(f"the workbook cannot be read ({type(exc).__name__}: {exc})") from exc
    try:
        names = list(book.sheetnames)
        if spec.sheet is not None and spec.sheet not in names:
            raise invalid(f"sheet {spec.sheet!r} is not in the workbook (it has {', '.join(names)})")
        sheet = book[spec.sheet or names[0]]
        rows = (list(r) for r in sheet.iter_rows(values_only=True))
        table = rows_of(rows, spec.header, "text", limits, deadline)
    finally:
        book.close()
    return Sheet(**table.model_dump(), sheets=names)


xlsx_read = parser_action(
    "xlsx_read",
    "Read XLSX",
    "Read a sheet of an Excel workbook (XLSX) into rows; cached values of formulas, dates as ISO",
    "reading the workbook",
    _sheet,
)


class XlsxWriteInput(WriteInput, MakesBinary):
    sheet: str = Field(default="Sheet1", min_length=1, max_length=31, description="The sheet's name")


@data_action(
    "xlsx_write",
    "Write XLSX",
    "Write rows (objects or lists) as an Excel workbook (XLSX) of one sheet: a file or base64",
)
async def xlsx_write(data_in: XlsxWriteInput, ctx: ActionContext) -> Written:

    columns, lines = table_of(data_in, Limits.of(ctx))

    def work(deadline: Deadline) -> bytes:
        book = openpyxl.Workbook(write_only=True)
        try:
            sheet = book.create_sheet(title=data_in.sheet)
        except ValueError as exc:
            raise invalid(f"sheet: {exc}") from exc

        def literal(value: Any) -> Any:
            # text is text: "=HYPERLINK(...)" from a webhook must not become a formula in someone's Excel
            if isinstance(value, str) and value.startswith("="):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                return cell
            return value

        try:
            if data_in.header and columns:
                sheet.append([literal(c) for c in columns])
            for line in lines:
                deadline.check()
                sheet.append([literal(v) for v in line])
        except IllegalCharacterError as exc:
            raise invalid("a value holds a control character, which XLSX cannot store") from exc
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    raw = await computed(ctx, "writing the workbook", work)
    return await written(raw, data_in, ctx, ("data.xlsx", XLSX, "the workbook"), len(lines))
