"""Secrets are compared in constant time: no `==` / `!=` between two values named like secrets anywhere in
Baton's code (a comparison with a literal, such as a token's kind, is not a secret comparison), and the
comparisons that matter go through hmac.compare_digest, argon2's verify or a lookup by hash."""

from __future__ import annotations

import ast
import hmac
from pathlib import Path

import pytest

from core.security import stored_api_key
from core.triggers.signatures import SignatureRefused, hex_hmac, verify

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "api", "activities", "integrations", "worker", "baton")
SECRET_WORDS = ("secret", "signature", "digest", "password", "token", "hash", "hmac", "api_key", "verifier")


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id.lower()
    if isinstance(node, ast.Attribute):
        return node.attr.lower()
    if isinstance(node, ast.Call):
        return _name(node.func)
    if isinstance(node, ast.Subscript):
        return _name(node.value)
    return ""


def _column(node: ast.expr) -> bool:
    """`ApiKey.key`, `WEBHOOKS.c.token`: a SQL expression (a lookup in the database), not a comparison."""
    while isinstance(node, ast.Attribute):
        node = node.value
        if isinstance(node, ast.Attribute) and node.attr == "c":
            return True
    return isinstance(node, ast.Name) and node.id[:1].isupper()


def _secret_like(node: ast.expr) -> bool:
    name = _name(node)
    return any(word in name for word in SECRET_WORDS) and not name.endswith(("_type", "_at", "_url", "kind"))


def test_no_secret_is_compared_with_equality() -> None:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Compare):
                    continue
                operands = [node.left, *node.comparators]
                equality = any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops)
                literal = any(isinstance(operand, ast.Constant) for operand in operands)
                sql = any(_column(operand) for operand in operands)
                if equality and not literal and not sql and any(map(_secret_like, operands)):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert found == [], "\n".join(found)


def test_the_comparisons_that_matter_are_constant_time() -> None:
    source = (ROOT / "core" / "triggers" / "signatures.py").read_text()
    assert source.count("hmac.compare_digest(") >= 4  # one per way of comparing a signature
    body = b'{"order": 1}'
    good = "sha256=" + hmac.new(b"s3cret", body, "sha256").hexdigest()
    assert "sha256=" + hex_hmac("s3cret", body) == good
    assert verify("github", "s3cret", body, {"x-hub-signature-256": good}, 0) == "sig:" + good
    for wrong in ({"x-hub-signature-256": good[:-1] + ("0" if good[-1] != "0" else "1")}, {}):
        with pytest.raises(SignatureRefused):
            verify("github", "s3cret", body, wrong, 0)
    # API keys are found by their SHA-256 (an index lookup in SQL), never compared as text in Python
    stored = stored_api_key("bat_1a2b3c4d_example")
    assert stored.startswith("1a2b3c4d$")
    assert len(stored.split("$")[1]) == 64
    assert "example" not in stored
