"""Gmail and GitHub end to end in published workflows, against local servers speaking the Gmail API v1
and GitHub REST shapes: MIME messages sent raw, new emails by label and sender, issues opened and commented
on, new issues (not pull requests) firing once each."""

from __future__ import annotations

from tests.factories import action_step
from tests.fakes import GitHubAPI, GmailAPI
from tests.http_server import serving
from tests.integrations.conftest import Studio, eventually

GOOGLE_TOKEN = "ya29.valid-SECRET"
GITHUB_TOKEN = "ghp_valid_SECRET"


gmail_api = serving(lambda: GmailAPI({GOOGLE_TOKEN}))
github_api = serving(lambda: GitHubAPI({GITHUB_TOKEN}))


async def test_gmail_sends_a_multipart_mime_message(studio: Studio, gmail_api: GmailAPI) -> None:
    connection = await studio.connect("gmail", {"accessToken": GOOGLE_TOKEN, "baseUrl": gmail_api.base_url})
    execution = await studio.run_action(
        "mail",
        "gmail.send_email",
        connection,
        {
            "to": ["{{ trigger.email }}", "boss@example.com"],
            "cc": ["team@example.com"],
            "subject": "Welcome, {{ trigger.name }} ✓",
            "body": "Hello {{ trigger.name }}",
            "html": "<p>Hello <b>{{ trigger.name }}</b></p>",
        },
        {"email": "ada@example.com", "name": "Ada"},
    )
    assert execution["status"] == "SUCCESS", execution["error"]
    assert execution["steps"]["mail"]["output"]["messageId"] == "sent1"
    message = gmail_api.sent[0]
    assert message["To"] == "ada@example.com, boss@example.com"
    assert (message["Cc"], message["Subject"]) == ("team@example.com", "Welcome, Ada ✓")
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().strip() == "Hello Ada"
    assert "<b>Ada</b>" in message.get_body(("html",)).get_content()
    assert message["Message-ID"].endswith("@baton.local>")


async def test_gmail_new_email_fires_for_new_mail_with_the_label_and_sender(
    studio: Studio, gmail_api: GmailAPI
) -> None:
    connection = await studio.connect("gmail", {"accessToken": GOOGLE_TOKEN, "baseUrl": gmail_api.base_url})
    gmail_api.receive("billing@vendor.com", "Old invoice")
    workflow = await studio.poll(
        "gmail.new_email",
        {"label": "INBOX", "from": "billing@vendor.com"},
        connection,
        [{"id": "got", "type": "set", "values": {"subject": "{{ trigger.subject }}"}}],
    )

    async def polled() -> bool:
        return bool(gmail_api.hits("/gmail/v1/users/me/messages"))

    assert await eventually(polled)
    gmail_api.receive("friend@example.com", "Lunch?")
    gmail_api.receive("billing@vendor.com", "Invoice 42")
    gmail_api.receive("billing@vendor.com", "Spam folder", label="SPAM")

    async def subjects() -> list[str]:
        return [
            e["steps"]["got"]["output"]["subject"]
            for e in await studio.executions(workflow)
            if e["status"] == "SUCCESS"
        ]

    assert await eventually(subjects) == ["Invoice 42"]
    listed = gmail_api.hits("/gmail/v1/users/me/messages")[-1]
    assert (listed.query["q"], listed.query["labelIds"]) == (["from:billing@vendor.com"], ["INBOX"])


async def test_github_opens_an_issue_then_comments_on_it(studio: Studio, github_api: GitHubAPI) -> None:
    connection = await studio.connect("github", {"token": GITHUB_TOKEN, "baseUrl": github_api.base_url})
    workflow = await studio.publish(
        [
            action_step(
                "issue",
                "github.create_issue",
                {
                    "owner": "acme",
                    "repo": "shop",
                    "title": "Checkout down: {{ trigger.code }}",
                    "labels": ["incident"],
                },
                connection,
            ),
            action_step(
                "note",
                "github.add_comment",
                {
                    "owner": "acme",
                    "repo": "shop",
                    "issue_number": "{{ steps.issue.output.number }}",
                    "body": "Paged on-call for #{{ steps.issue.output.number }}",
                },
                connection,
            ),
        ]
    )
    execution = await studio.run(workflow, {"code": 503})
    assert execution["status"] == "SUCCESS", execution["error"]
    issue = github_api.issues["acme/shop"][0]
    assert (issue["title"], issue["labels"]) == ("Checkout down: 503", [{"name": "incident"}])
    assert github_api.comments[0]["body"] == "Paged on-call for #1"
    sent = github_api.hits("/repos/acme/shop/issues")[0]
    assert (sent.headers["Accept"], sent.headers["X-GitHub-Api-Version"]) == (
        "application/vnd.github+json",
        "2022-11-28",
    )
    usage = await studio.usage()
    assert [u["rate_limit"] is not None for u in usage] == [True, True]  # GitHub's x-ratelimit-* kept


async def test_github_errors_name_the_cause(studio: Studio, github_api: GitHubAPI) -> None:
    bad = await studio.connect("github", {"token": "ghp_wrong", "baseUrl": github_api.base_url})
    good = await studio.connect("github", {"token": GITHUB_TOKEN, "baseUrl": github_api.base_url})
    step = {
        "id": "note",
        "type": "action",
        "action": "github.add_comment",
        "input": {"owner": "acme", "repo": "shop", "issue_number": 99, "body": "hi"},
    }
    refused = await studio.run(await studio.publish([{**step, "connectionId": bad}]))
    assert refused["status"] == "FAILED"
    assert "Bad credentials" in refused["error"]
    assert "Reconnect" in refused["error"]
    missing = await studio.run(await studio.publish([{**step, "connectionId": good}]))
    assert "404" in missing["error"]
    assert "cannot see this repository" in missing["error"]
    assert len(github_api.hits("/repos/acme/shop/issues/99/comments")) == 2  # one call each: not retried


async def test_github_new_issue_fires_once_per_issue_and_skips_pull_requests(
    studio: Studio, github_api: GitHubAPI
) -> None:
    connection = await studio.connect("github", {"token": GITHUB_TOKEN, "baseUrl": github_api.base_url})
    github_api.open_issue("acme/shop", "Existing bug")
    workflow = await studio.poll(
        "github.new_issue",
        {"owner": "acme", "repo": "shop"},
        connection,
        [{"id": "got", "type": "set", "values": {"title": "{{ trigger.title }}"}}],
    )

    async def polled() -> bool:
        return len([h for h in github_api.hits("/repos/acme/shop/issues") if h.method == "GET"]) >= 1

    assert await eventually(polled)
    github_api.open_issue("acme/shop", "New bug")
    with github_api.lock:
        github_api.issues["acme/shop"].append(
            {
                **github_api.issues["acme/shop"][0],
                "id": 7,
                "title": "A PR",
                "created_at": "2026-11-25T11:00:00Z",
                "pull_request": {"url": "x"},
            }
        )

    async def titles() -> list[str]:
        return [
            e["steps"]["got"]["output"]["title"]
            for e in await studio.executions(workflow)
            if e["status"] == "SUCCESS"
        ]

    assert await eventually(titles) == ["New bug"]
