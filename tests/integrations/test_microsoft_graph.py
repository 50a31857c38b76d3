"""Microsoft Graph end to end: a connection made through the OAuth2 authorize/callback flow (the microsoft
provider's entry: PKCE, offline_access and the Mail.Send and ChannelMessage.Send scopes) against a local
OAuth2 server; published steps send an Outlook mail and post in a Teams channel then reply in its thread,
against a local Graph server; Graph's 429 is waited out; an invalid recipient fails once in Graph's words."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from core.settings import Settings
from tests.factories import action_step
from tests.fakes import OAuthServer
from tests.http_server import serving
from tests.integrations import oauth_flow
from tests.integrations.conftest import Studio
from tests.integrations.graph_api import GraphAPI
from tests.integrations.page_examples import example_steps

TEAM = "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b"
CHANNEL = "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"

oauth_server = serving(OAuthServer)


@pytest.fixture
def graph_api(oauth_server: OAuthServer) -> Iterator[GraphAPI]:
    service = GraphAPI(oauth_server.valid_access, {(TEAM, CHANNEL)})
    yield service
    service.close()


@pytest.fixture
def settings(settings: Settings, oauth_server: OAuthServer, graph_api: GraphAPI) -> Settings:
    return oauth_flow.oauth_settings(
        settings, "microsoft_graph", oauth_server.base_url, f"{graph_api.base_url}/v1.0"
    )


async def connect(studio: Studio) -> str:
    connection, asked = await oauth_flow.authorized_connection(studio, "microsoft_graph")
    assert asked["scope"] == ["offline_access User.Read Mail.Send ChannelMessage.Send"]
    assert asked["code_challenge_method"] == ["S256"]
    return connection


async def test_a_mail_is_sent_and_a_channel_post_replied_to(studio: Studio, graph_api: GraphAPI) -> None:
    connection = await connect(studio)
    graph_api.throttled = 1
    where = {"team_id": TEAM, "channel_id": CHANNEL}
    workflow = await studio.publish(
        [
            action_step(
                "mail",
                "microsoft_graph.send_mail",
                {
                    "to": ["{{ trigger.email }}"],
                    "bcc": ["audit@acme.io"],
                    "subject": "Order {{ trigger.order }}",
                    "body": "<p>Ships today</p>",
                    "content_type": "HTML",
                },
                connection,
            ),
            action_step(
                "post",
                "microsoft_graph.send_channel_message",
                {**where, "content": "Order {{ trigger.order }} mailed", "subject": "Orders"},
                connection,
            ),
            action_step(
                "reply",
                "microsoft_graph.send_channel_message",
                {
                    **where,
                    "content": "and paid",
                    "content_type": "text",
                    "reply_to": "{{ steps.post.output.id }}",
                },
                connection,
            ),
        ]
    )
    execution = await studio.run(workflow, {"email": "ada@acme.io", "order": "A-9"})
    assert execution["status"] == "SUCCESS", execution["error"]
    (mail,) = graph_api.mails
    message = mail["message"]
    assert message["toRecipients"] == [{"emailAddress": {"address": "ada@acme.io"}}]
    assert message["bccRecipients"] == [{"emailAddress": {"address": "audit@acme.io"}}]
    assert (message["subject"], message["body"]) == (
        "Order A-9",
        {"contentType": "HTML", "content": "<p>Ships today</p>"},
    )
    assert mail["saveToSentItems"] is True
    assert execution["steps"]["mail"]["output"] == {"sent": True, "recipients": 2}
    post, reply = graph_api.posts[(TEAM, CHANNEL)]
    assert (post["subject"], post["body"]["content"]) == ("Orders", "Order A-9 mailed")
    assert (reply["replyToId"], reply["body"]) == (post["id"], {"contentType": "text", "content": "and paid"})
    assert "subject" not in reply
    assert execution["steps"]["reply"]["output"]["id"] == reply["id"]
    assert len(graph_api.hits("/v1.0/me/sendMail")) == 2  # the first was throttled, then waited out
    assert "access-1" not in json.dumps(execution)


async def test_an_invalid_recipient_fails_once_in_graphs_words(studio: Studio, graph_api: GraphAPI) -> None:
    connection = await connect(studio)
    workflow = await studio.publish(
        [
            action_step(
                "mail",
                "microsoft_graph.send_mail",
                {"to": ["nobody@bounces.example"], "subject": "s", "body": "b"},
                connection,
            )
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "At least one recipient is not valid" in execution["error"]
    assert len(graph_api.hits("/v1.0/me/sendMail")) == 1


def test_the_examples_on_the_integrations_page_are_valid_steps() -> None:
    assert [s["action"] for s in example_steps("microsoft_graph")] == [
        "microsoft_graph.send_mail",
        "microsoft_graph.send_channel_message",
    ]
