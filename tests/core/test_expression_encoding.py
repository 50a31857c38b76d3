"""Encoding, hashing and signing filters against published vectors, their errors, their budget, and the
examples docs/definition.md shows for them."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from core.expressions import MAX_SIZE, ExpressionError, compile_expression, evaluate
from tests.engine import Engine

SCOPE: dict[str, Any] = {"trigger": {}, "execution": {"id": "5b3d1bd4-73a5-4b86-8a2d-2a1bbf3e1d43"}}
DEFINITION_PAGE = Path(__file__).resolve().parents[2] / "docs" / "definition.md"

# RFC 4648 section 10
RFC4648 = [("", "", ""), ("f", "Zg==", "66"), ("fo", "Zm8=", "666F"), ("foo", "Zm9v", "666F6F"),
           ("foob", "Zm9vYg==", "666F6F62"), ("fooba", "Zm9vYmE=", "666F6F6261"),
           ("foobar", "Zm9vYmFy", "666F6F626172")]  # fmt: skip


def run(source: str, **data: Any) -> Any:
    return evaluate(source, {**SCOPE, "trigger": data})


@pytest.mark.parametrize(("text", "base64", "base16"), RFC4648)
def test_base64_and_hex_match_the_rfc_4648_vectors_both_ways(text: str, base64: str, base16: str) -> None:
    assert run("{{ trigger.t | b64encode }}", t=text) == base64
    assert run("{{ trigger.t | b64decode }}", t=base64) == text
    assert run("{{ trigger.t | b64url_encode(padding=true) }}", t=text) == base64
    assert run("{{ trigger.t | b64url_decode }}", t=base64.rstrip("=")) == text
    assert run("{{ trigger.t | hex_encode }}", t=text) == base16.lower()
    assert run("{{ trigger.t | hex_decode }}", t=base16) == text


def test_url_safe_base64_uses_its_own_alphabet_and_leaves_out_the_padding() -> None:
    assert run("{{ trigger.t | b64encode }}", t="\u00ff\u00fe?>") == "w7/Dvj8+"
    assert run("{{ trigger.t | b64url_encode }}", t="\u00ff\u00fe?>") == "w7_Dvj8-"
    assert run("{{ 'w7_Dvj8-' | b64url_decode }}") == "\u00ff\u00fe?>"
    assert run("{{ 'foob' | b64url_encode }}") == "Zm9vYg"


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [  # FIPS 180-2 appendix examples and RFC 1321's test suite, for "abc"
        ("sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("sha512", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                   "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
        ("md5", "900150983cd24fb0d6963f7d28e17f72"),
    ],
)  # fmt: skip
def test_digests_of_abc_match_the_published_vectors(algorithm: str, digest: str) -> None:
    assert run(f"{{{{ 'abc' | {algorithm} }}}}") == digest
    as_base64 = run(f"{{{{ 'abc' | {algorithm}('base64') }}}}")
    assert run("{{ trigger.d | b64decode('hex') }}", d=as_base64) == digest


@pytest.mark.parametrize(
    ("key", "key_encoding", "data", "sha256", "sha512"),
    [  # RFC 4231 test cases 1 and 2
        ("0b" * 20, "hex", "Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
         "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
         "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"),
        ("Jefe", "text", "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
         "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
         "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"),
    ],
)  # fmt: skip
def test_hmac_matches_the_rfc_4231_test_cases(
    key: str, key_encoding: str, data: str, sha256: str, sha512: str
) -> None:
    source = "{{ trigger.data | hmac(trigger.key, trigger.algorithm, key_encoding=trigger.ke) }}"
    assert run(source, data=data, key=key, ke=key_encoding, algorithm="sha256") == sha256
    assert run(source, data=data, key=key, ke=key_encoding, algorithm="sha512") == sha512
    signed = run("{{ trigger.data | hmac(trigger.key, 'sha256', 'base64') }}", data=data, key="Jefe")
    assert run("{{ trigger.s | b64decode('hex') }}", s=signed) == run(
        "{{ trigger.data | hmac('Jefe') }}", data=data
    )


def test_uuid5_matches_the_python_documentation_example_and_is_unique_per_run() -> None:
    assert run("{{ 'python.org' | uuid5('dns') }}") == "886313e1-3b8a-5372-9b90-0c9aee199e5d"
    per_run = run("{{ 'invoice' | uuid5(execution.id) }}")
    assert per_run == run("{{ 'invoice' | uuid5(execution.id) }}")  # replay sees the same id
    assert per_run != evaluate("{{ 'invoice' | uuid5(execution.id) }}", {"execution": {"id": "url"}})


def test_url_encoding_filters_quote_unquote_and_build_query_strings() -> None:
    assert run("{{ 'a b/c&d=é' | quote }}") == "a%20b%2Fc%26d%3D%C3%A9"
    assert run("{{ 'a b/c' | quote('/') }}") == "a%20b/c"
    assert run("{{ 'a%20b%2Fc+d%C3%A9' | unquote }}") == "a b/c+dé"
    assert run("{{ 'a+b%26c' | urldecode }}") == "a b&c"
    assert run("{{ {'q': 'x y', 'page': 2} | urlencode }}") == "q=x+y&page=2"
    assert run("{{ 'a b/c' | urlencode }}") == "a%20b/c"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 'not base64!' | b64decode }}", "b64decode: the text is not base64"),
        ("{{ '/w==' | b64decode }}", "not UTF-8 text (byte 0); read them as hex or base64"),
        ("{{ 'xyz' | hex_decode }}", "hex_decode: the text is not hexadecimal"),
        ("{{ '%ff' | unquote }}", "unquote: the decoded bytes are not UTF-8 text"),
        ("{{ trigger.missing | sha256 }}", "sha256: its input is missing (null)"),
        ("{{ {'a': 1} | sha256 }}", "must be text, not an object (use `| tojson` first)"),
        ("{{ 'x' | hmac('k', 'sha3') }}", "hmac: unknown algorithm 'sha3'"),
        ("{{ 'x' | sha1('binary') }}", "sha1: unknown encoding 'binary'"),
        ("{{ 'x' | uuid5('nowhere') }}", "not 'dns', 'url', 'oid', 'x500' or a UUID"),
    ],
)
def test_bad_input_fails_with_an_expression_error_saying_what_is_wrong(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        run(source)


def test_decoded_binary_can_be_read_as_hex_or_base64() -> None:
    assert run("{{ '/w==' | b64decode('hex') }}") == "ff"
    assert run("{{ 'ff00' | hex_decode('base64') }}") == "/wA="


def test_an_output_past_the_size_budget_is_refused_before_it_is_built() -> None:
    big = "x" * (MAX_SIZE * 3 // 4 + 3)  # fits the budget; its base64 does not
    for source in ("{{ trigger.big | b64encode }}", "{{ trigger.big | hex_encode }}",
                   "{{ trigger.big | b64url_encode }}", "{{ trigger.spaces | quote }}"):  # fmt: skip
        with pytest.raises(ExpressionError, match="larger than the size budget"):
            run(source, big=big, spaces=" " * (MAX_SIZE // 3 + 1))
    assert len(run("{{ trigger.big | quote }}", big=big)) == len(big)  # nothing to escape: same size
    with pytest.raises(ExpressionError, match="steps"):  # an input itself past the budget
        run("{{ trigger.big | sha256 }}", big="x" * (MAX_SIZE + 1))
    with pytest.raises(ExpressionError, match="steps"):  # and a key
        run("{{ 'x' | hmac(trigger.big) }}", big="k" * (MAX_SIZE + 1))


@pytest.mark.parametrize(
    "name",
    ["b64encode", "b64decode", "b64url_encode", "b64url_decode", "hex_encode", "hex_decode", "urlencode",
     "urldecode", "quote", "unquote", "sha1", "sha256", "sha512", "md5", "hmac", "uuid5"],
)  # fmt: skip
def test_the_filters_are_known_to_validation_on_save(name: str) -> None:
    compile_expression(f"{{{{ trigger.x | {name} }}}}")


def documented_examples() -> list[tuple[str, str]]:
    """The rows of docs/definition.md's encoding table: (example expression, what it gives)."""
    page = DEFINITION_PAGE.read_text()
    section = page.split("### Encoding, hashing and signing", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\|[^|]*\| `(\{\{.*?\}\})` \| `([^`]*)` \|$", section.replace("\\|", "|"), re.M)
    return [(source, gives) for source, gives in rows]


def test_the_documentation_has_an_example_of_every_encoding_filter() -> None:
    shown = " ".join(source for source, _ in documented_examples())
    for name in ("b64encode", "b64decode", "b64url_encode", "b64url_decode", "hex_encode", "hex_decode",
                 "urlencode", "urldecode", "quote", "unquote", "sha1", "sha256", "sha512", "md5", "hmac",
                 "uuid5"):  # fmt: skip
        assert f"| {name}" in shown, name


@pytest.mark.parametrize(("source", "gives"), documented_examples())
def test_each_documented_example_gives_what_the_page_says(source: str, gives: str) -> None:
    assert str(run(source)) == gives


async def test_every_filter_works_inside_a_workflow_run(engine_worker: Engine) -> None:
    values = {
        "b64": "{{ trigger.text | b64encode }}",
        "b64back": "{{ trigger.text | b64encode | b64decode }}",
        "b64url": "{{ trigger.text | b64url_encode }}",
        "b64urlback": "{{ trigger.text | b64url_encode | b64url_decode }}",
        "hex": "{{ trigger.text | hex_encode }}",
        "hexback": "{{ trigger.text | hex_encode | hex_decode }}",
        "query": "{{ {'q': trigger.text} | urlencode }}",
        "quoted": "{{ trigger.text | quote }}",
        "unquoted": "{{ trigger.text | quote | unquote }}",
        "form": "{{ 'a+b%3F' | urldecode }}",
        "sha1": "{{ 'abc' | sha1 }}",
        "sha256": "{{ 'abc' | sha256 }}",
        "sha512": "{{ 'abc' | sha512('base64url') }}",
        "md5": "{{ 'abc' | md5 }}",
        "hmac": "{{ 'what do ya want for nothing?' | hmac('Jefe') }}",
        "uuid": "{{ 'python.org' | uuid5('dns') }}",
        "run_uuid": "{{ 'invoice' | uuid5(execution.id) }}",
    }
    steps = [{"id": "encode", "type": "set", "values": values}]
    handle = await engine_worker.start(steps, {"text": "ÿþ?> a/b"})
    result = (await handle.result()).result
    assert result == {
        name: run(source, text="ÿþ?> a/b") for name, source in values.items() if name != "run_uuid"
    } | {"run_uuid": str(uuid.uuid5(uuid.UUID(handle.id.removeprefix("run-")), "invoice"))}
    assert result["uuid"] == "886313e1-3b8a-5372-9b90-0c9aee199e5d"
