"""Approval links (core.runs.approval_links): a token reads only as Baton wrote it, and a run holds stand-ins
that only an action sending a message turns into links, for its own run and only when Baton sealed them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.runs.approval_links import (
    LINK_PATH,
    ApprovalLink,
    InvalidLink,
    RunLinks,
    link_token,
    read_link,
    stand_in_pair,
)

SECRET = "a-secret-key-for-links-tests-0123456789"
BASE = "https://baton.example.com"


def a_token() -> str:
    return link_token(SECRET, ApprovalLink("exec-1", "approve", True, datetime.now(UTC) + timedelta(days=1)))


@pytest.mark.parametrize(
    "suffix",
    [
        '="><meta http-equiv=refresh content="0;url=https:evil.example">',
        "=<form action=https:evil.example>",
        "==",
        "=x",
        "A",
        "'",
        ".AAAA",
    ],
)
def test_a_valid_token_with_anything_appended_is_not_valid(suffix: str) -> None:
    token = a_token()
    assert read_link(SECRET, token).execution_id == "exec-1"
    with pytest.raises(InvalidLink):
        read_link(SECRET, token + suffix)


def test_a_token_spelled_another_way_than_baton_wrote_it_is_not_valid() -> None:
    token = a_token()
    encoded, signature = token.split(".")
    # the last character's unused low bits set: the same bytes to a lenient decoder
    last = signature[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    other = alphabet[alphabet.index(last) ^ 1]
    with pytest.raises(InvalidLink):
        read_link(SECRET, f"{encoded}.{signature[:-1]}{other}")
    with pytest.raises(InvalidLink):
        read_link(SECRET, encoded)  # no signature at all


def test_an_action_turns_its_own_runs_stand_ins_into_links_and_back() -> None:
    approve, reject, until = stand_in_pair(SECRET, "exec-1", "approve", None)
    assert approve.startswith("approval-link.approve.approve.")
    assert LINK_PATH not in approve
    links = RunLinks(SECRET, BASE, "exec-1", {})
    sent, links = links.reveal({"text": f"Refund? <{approve}|Yes> <{reject}|No>", "n": 1})
    url = sent["text"].split("<", 1)[1].split("|", 1)[0]
    assert url.startswith(f"{BASE}{LINK_PATH}")
    token = url.rsplit("/", 1)[1]
    read = read_link(SECRET, token)
    assert (read.execution_id, read.step_id, read.approved) == ("exec-1", "approve", True)
    assert read.expires_at == until
    echoed = {"message": {"text": sent["text"]}, "path": f"{LINK_PATH}{token}"}
    hidden = links.hide(echoed)
    assert hidden == {
        "message": {"text": f"Refund? <{approve}|Yes> <{reject}|No>"},
        "path": f"{LINK_PATH}{approve}",
    }
    assert token not in str(hidden)


def test_a_stand_in_of_another_run_or_a_forged_one_stays_as_it_is() -> None:
    approve, _, _ = stand_in_pair(SECRET, "exec-1", "approve", None)
    forged = approve[:-4] + ("AAAA" if not approve.endswith("AAAA") else "BBBB")
    made_up = "approval-link.approve.approve.4102444800.AAAAAAAAAAAAAAAAAAAAAA"
    for text in (approve, forged, made_up):
        other_run = RunLinks(SECRET, BASE, "exec-2", {})
        sent, seen = other_run.reveal({"text": text})
        same_run = RunLinks(SECRET, BASE, "exec-1", {})
        sent_here, _ = same_run.reveal({"text": text})
        assert sent == {"text": text}
        assert seen.shown == {}
        assert (LINK_PATH in sent_here["text"]) is (text == approve)
