"""RSS and Atom feeds: `rss.new_item`, the reference polling trigger (parsed with feedparser).

Each poll is a conditional GET (ETag / Last-Modified kept in the cursor), so an unchanged feed costs the
publisher a 304. Items are identified by their guid/id, else their link, else a hash of their content; the
poller fires one run per new id, oldest first.
"""

from __future__ import annotations

import calendar
import hashlib
import warnings
from datetime import UTC, datetime
from typing import Any

import feedparser
from pydantic import BaseModel, Field

from core.models import AuthType, TriggerType
from integrations.sdk import ActionContext, ActionError, Integration, PolledItem, PollResult

rss = Integration(
    id="rss",
    name="RSS",
    description="Follow RSS and Atom feeds",
    icon="/static/icons/rss.svg",
    category="content",
    auth_type=AuthType.NONE,
    is_popular=True,
    docs_url="https://www.rssboard.org/rss-specification",
    website_url="https://www.rssboard.org",
)


class NewItemConfig(BaseModel):
    url: str = Field(
        pattern=r"^https?://",
        description="The feed's address (RSS 0.9x/1.0/2.0 or Atom)",
        examples=["https://blog.example.com/feed.xml"],
    )


def _time(entry: Any, name: str) -> str | None:
    parsed = entry.get(f"{name}_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC).isoformat()


def item_id(entry: Any) -> str:
    for key in ("id", "guid", "link"):
        value = entry.get(key)
        if value:
            return str(value)
    content = f"{entry.get('title', '')}\n{entry.get('summary', '')}"
    return "sha256:" + hashlib.sha256(content.encode()).hexdigest()


def item_data(entry: Any, feed: Any) -> dict[str, Any]:
    return {
        "id": item_id(entry),
        "title": entry.get("title"),
        "link": entry.get("link"),
        "summary": entry.get("summary"),
        "author": entry.get("author"),
        "published": _time(entry, "published"),
        "updated": _time(entry, "updated"),
        "categories": [tag.get("term") for tag in entry.get("tags", []) if tag.get("term")],
        "feed": {"title": feed.get("title"), "link": feed.get("link")},
    }


async def poll_new_items(config: NewItemConfig, ctx: ActionContext, cursor: dict[str, Any]) -> PollResult:
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"}
    if cursor.get("etag"):
        headers["If-None-Match"] = str(cursor["etag"])
    if cursor.get("modified"):
        headers["If-Modified-Since"] = str(cursor["modified"])
    # ctx.request classifies transport errors and a blocked address like every other integration's calls
    response = await ctx.request("GET", config.url, headers=headers, timeout=30, check_status=False)
    if response.status_code == 304:
        return PollResult([], cursor)
    if response.status_code >= 400:
        raise ActionError(
            f"the feed at {config.url} answered HTTP {response.status_code}",
            type="FeedUnavailable",
            retryable=response.status_code >= 500 or response.status_code == 429,
        )
    parsed = feedparser.parse(response.content)
    if parsed.bozo and not parsed.entries:
        raise ActionError(
            f"{config.url} is not a readable RSS or Atom feed ({parsed.get('bozo_exception')})",
            type="InvalidFeed",
            retryable=False,
        )
    with warnings.catch_warnings():
        # feedparser warns when `updated_parsed` falls back to `published_parsed`: that fallback is fine here
        warnings.simplefilter("ignore", DeprecationWarning)
        return _result(parsed, response.headers)


def _result(parsed: Any, headers: Any) -> PollResult:
    entries = list(parsed.entries)
    # Feeds list newest first; fire oldest first (by date when every entry has one).
    if entries and all(e.get("published_parsed") or e.get("updated_parsed") for e in entries):
        entries.sort(key=lambda e: tuple(e.get("published_parsed") or e.get("updated_parsed")))
    else:
        entries.reverse()
    next_cursor = {"etag": headers.get("etag"), "modified": headers.get("last-modified")}
    return PollResult(
        [PolledItem(item_id(entry), item_data(entry, parsed.feed)) for entry in entries],
        {k: v for k, v in next_cursor.items() if v},
    )


rss.trigger(
    "new_item",
    name="New Item in Feed",
    description="Triggers when a feed publishes a new item",
    trigger_type=TriggerType.POLLING,
    config_model=NewItemConfig,
    polling_interval=300,
    poll=poll_new_items,
)
