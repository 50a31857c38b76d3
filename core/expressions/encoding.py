"""Encoding, hashing and signing filters: base64 (standard and URL-safe), hex, percent-encoding, SHA-1/256/512
and MD5 digests, HMAC, and name-based (version 5) UUIDs.

Text goes in and comes out as UTF-8; bytes are shown as text in the encoding asked for (`hex`, `base64`,
`base64url`), and a decoded value that is not UTF-8 text is an error saying so, never mojibake. Each filter
is pure and deterministic (expressions run inside the Temporal workflow, where replay must see the same
values): there is no random UUID here, and a UUID unique to a run is derived from `execution.id`. An
output that grows with its input (base64, hex, percent-encoding) is checked against the size budget before
it is built, and every text argument (an HMAC key) is counted in the step budget like the piped value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import jinja2
import jinja2.filters

from core.expressions.bounds import _fits, _spend
from core.expressions.strict import fail_if_strict

DIGESTS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
BINARY_FORMS = ("hex", "base64", "base64url")
# RFC 3986's unreserved characters, which percent-encoding leaves as they are
UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
UUID_NAMESPACES = {
    "dns": uuid.NAMESPACE_DNS,
    "url": uuid.NAMESPACE_URL,
    "oid": uuid.NAMESPACE_OID,
    "x500": uuid.NAMESPACE_X500,
}


def _text(value: Any, filter_name: str, what: str = "its input") -> str:
    """The text a filter works on: strings as they are, whole numbers written out; anything else is
    refused rather than guessed (a mapping's `str()` is Python's, not JSON: use `tojson` first)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if value is None or isinstance(value, jinja2.Undefined):
        fail_if_strict(value)
        raise ValueError(f"{filter_name}: {what} is missing (null)")
    raise TypeError(f"{filter_name}: {what} must be text, not {_kind(value)} (use `| tojson` first)")


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _utf8(value: Any, filter_name: str, what: str = "its input") -> bytes:
    return _text(value, filter_name, what).encode("utf-8", "surrogatepass")


def _shown(raw: bytes, form: Any, filter_name: str) -> str:
    """Bytes as text: `text` (UTF-8), `hex`, `base64` or `base64url` (unpadded, as JWTs and most
    URL-safe uses want it)."""
    if form == "text":
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{filter_name}: the decoded bytes are not UTF-8 text (byte {exc.start}); "
                f"read them as hex or base64 with |{filter_name}('hex') or |{filter_name}('base64')"
            ) from None
    if form == "hex":
        _fits(2 * len(raw), f"the result of |{filter_name}")
        return raw.hex()
    if form == "base64":
        _fits(_base64_length(len(raw)), f"the result of |{filter_name}")
        return base64.b64encode(raw).decode("ascii")
    if form == "base64url":
        _fits(_base64_length(len(raw)), f"the result of |{filter_name}")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    choices = ", ".join(repr(f) for f in ("text", *BINARY_FORMS))
    raise ValueError(f"{filter_name}: unknown encoding {form!r}; use one of {choices}")


def _base64_length(size: int) -> int:
    return 4 * ((size + 2) // 3)


def _padded(text: str) -> str:
    # Unpadded base64 is common (JWTs, URL-safe tokens): accept it by restoring the padding.
    return text + "=" * (-len(text) % 4)


def _from_base64(value: Any, filter_name: str, *, urlsafe: bool) -> bytes:
    text = "".join(_text(value, filter_name).split())  # line-wrapped base64 (MIME, PEM) is still base64
    alphabet = b"-_" if urlsafe else b"+/"
    try:
        return base64.b64decode(_padded(text).encode("ascii"), altchars=alphabet, validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        kind = "URL-safe base64" if urlsafe else "base64"
        raise ValueError(f"{filter_name}: the text is not {kind} ({exc})") from None


def b64encode(value: Any) -> str:
    """`{{ 'foobar' | b64encode }}` is `Zm9vYmFy` (RFC 4648, padded with `=`)."""
    raw = _utf8(value, "b64encode")
    _fits(_base64_length(len(raw)), "the result of |b64encode")
    return base64.b64encode(raw).decode("ascii")


def b64url_encode(value: Any, padding: bool = False) -> str:
    """The URL- and filename-safe alphabet (`-` and `_`), unpadded unless `padding` (JWTs leave it out)."""
    raw = _utf8(value, "b64url_encode")
    _fits(_base64_length(len(raw)), "the result of |b64url_encode")
    encoded = base64.urlsafe_b64encode(raw).decode("ascii")
    return encoded if padding else encoded.rstrip("=")


def b64decode(value: Any, encoding: str = "text") -> str:
    return _shown(_from_base64(value, "b64decode", urlsafe=False), encoding, "b64decode")


def b64url_decode(value: Any, encoding: str = "text") -> str:
    return _shown(_from_base64(value, "b64url_decode", urlsafe=True), encoding, "b64url_decode")


def hex_encode(value: Any) -> str:
    """Base 16 of the UTF-8 bytes, lowercase: `{{ 'foo' | hex_encode }}` is `666f6f`."""
    raw = _utf8(value, "hex_encode")
    _fits(2 * len(raw), "the result of |hex_encode")
    return raw.hex()


def hex_decode(value: Any, encoding: str = "text") -> str:
    text = _text(value, "hex_decode")
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise ValueError(f"hex_decode: the text is not hexadecimal ({exc})") from None
    return _shown(raw, encoding, "hex_decode")


def quote_filter(value: Any, safe: str = "") -> str:
    """Percent-encodes all but RFC 3986's unreserved characters (and `safe`): a query value or a path
    segment. `/` is encoded too unless `safe='/'`."""
    raw, kept = _utf8(value, "quote"), _text(safe, "quote", "safe")
    escaped = len(raw.translate(None, delete=UNRESERVED + kept.encode("utf-8", "surrogatepass")))
    _fits(len(raw) + 2 * escaped, "the result of |quote")
    return quote(raw, safe=kept)


def unquote_filter(value: Any) -> str:
    """Percent-decoding; a `+` stays a `+` (use `urldecode` for form data)."""
    return _percent_decoded(_text(value, "unquote"), "unquote")


def urldecode(value: Any) -> str:
    """Form decoding (`application/x-www-form-urlencoded`): `+` is a space, then percent-decoding."""
    return _percent_decoded(_text(value, "urldecode").replace("+", " "), "urldecode")


def _percent_decoded(text: str, filter_name: str) -> str:
    if "%" not in text:
        return text
    return _shown(unquote_to_bytes(text), "text", filter_name)


def urlencode(value: Any) -> str:
    """Jinja's `urlencode`: text percent-encoded (keeping `/`), an object or list of pairs as a query
    string (`a=1&b=x+y`)."""
    if isinstance(value, Mapping) or (isinstance(value, list | tuple) and not isinstance(value, str)):
        pairs = value.items() if isinstance(value, Mapping) else value
        size = sum(len(str(k).encode()) + len(str(v).encode()) + 2 for k, v in pairs)
        _fits(3 * size, "the result of |urlencode")
    else:
        _fits(3 * len(_utf8(value, "urlencode")), "the result of |urlencode")
    return str(jinja2.filters.do_urlencode(value))


def _digest_filter(algorithm: str) -> Callable[..., str]:
    def digest(value: Any, encoding: str = "hex") -> str:
        if encoding not in BINARY_FORMS:
            raise ValueError(
                f"{algorithm}: unknown encoding {encoding!r}; use 'hex', 'base64' or 'base64url'"
            )
        return _shown(hashlib.new(algorithm, _utf8(value, algorithm)).digest(), encoding, algorithm)

    digest.__name__ = algorithm
    digest.__doc__ = f"The {algorithm.upper()} digest of the UTF-8 text, as hex (or `base64`, `base64url`)."
    return digest


def hmac_filter(
    value: Any, key: Any, algorithm: str = "sha256", encoding: str = "hex", key_encoding: str = "text"
) -> str:
    """`{{ body | hmac(secret) }}`: the HMAC-SHA256 of the text, hex. `key_encoding` reads a key given as
    `hex` or `base64` (as some services hand them out) instead of as UTF-8 text."""
    if algorithm not in DIGESTS:
        raise ValueError(f"hmac: unknown algorithm {algorithm!r}; use one of {', '.join(DIGESTS)}")
    if encoding not in BINARY_FORMS:
        raise ValueError(f"hmac: unknown encoding {encoding!r}; use 'hex', 'base64' or 'base64url'")
    key_text = _text(key, "hmac", "the key")
    _spend(len(key_text))
    if key_encoding == "text":
        secret = key_text.encode("utf-8", "surrogatepass")
    elif key_encoding == "hex":
        try:
            secret = bytes.fromhex(key_text)
        except ValueError as exc:
            raise ValueError(f"hmac: the key is not hexadecimal ({exc})") from None
    elif key_encoding in ("base64", "base64url"):
        secret = _from_base64(key_text, "hmac", urlsafe=key_encoding == "base64url")
    else:
        raise ValueError(f"hmac: unknown key_encoding {key_encoding!r}; use 'text', 'hex' or 'base64'")
    signature = hmac.new(secret, _utf8(value, "hmac"), algorithm).digest()
    return _shown(signature, encoding, "hmac")


def uuid5(value: Any, namespace: Any) -> str:
    """The name-based UUID (RFC 4122 version 5) of the text in `namespace`: `dns`, `url`, `oid`, `x500`
    or any UUID (`execution.id` gives ids unique to the run and the same on every replay of it)."""
    name = _text(value, "uuid5", "the name")
    space = _text(namespace, "uuid5", "the namespace")
    known = UUID_NAMESPACES.get(space.lower())
    if known is None:
        try:
            known = uuid.UUID(space)
        except ValueError:
            raise ValueError(
                f"uuid5: the namespace {space!r} is not 'dns', 'url', 'oid', 'x500' or a UUID"
            ) from None
    return str(uuid.uuid5(known, name))


ENCODING_FILTERS: dict[str, Callable[..., Any]] = {
    "b64encode": b64encode,
    "b64decode": b64decode,
    "b64url_encode": b64url_encode,
    "b64url_decode": b64url_decode,
    "hex_encode": hex_encode,
    "hex_decode": hex_decode,
    "urlencode": urlencode,
    "urldecode": urldecode,
    "quote": quote_filter,
    "unquote": unquote_filter,
    **{name: _digest_filter(name) for name in ("md5", "sha1", "sha256", "sha512")},
    "hmac": hmac_filter,
    "uuid5": uuid5,
}
