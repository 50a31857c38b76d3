"""How the API is served: uvicorn with httptools, whose parser reads request lines and headers of any size.
`BoundedHeaders` refuses a request whose URL and headers pass MAX_HEADER_BYTES (400, connection closed)
before they pile up in memory; `baton api`, `baton serve` and the tests' server all use it (`HTTP`)."""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEADER_BYTES = 64 * 1024


class HeadersTooLarge(Exception):  # noqa: N818
    """Raised in a parser callback: httptools turns it into the parser error uvicorn answers 400 to."""


class BoundedHeaders(HttpToolsProtocol):
    _header_bytes = 0

    def on_message_begin(self) -> None:
        self._header_bytes = 0
        super().on_message_begin()

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > MAX_HEADER_BYTES:
            raise HeadersTooLarge(f"request line and headers over {MAX_HEADER_BYTES} bytes")

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)


HTTP = "api.server:BoundedHeaders"  # uvicorn's `http` option
