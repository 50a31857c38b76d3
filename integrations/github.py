"""GitHub (REST API, version 2022-11-28): open issues, comment on them, and a trigger on new issues.

A personal access token (classic or fine-grained) authenticates; `baseUrl` points at GitHub Enterprise
Server (`https://HOST/api/v3`). GitHub reports its rate limit in `x-ratelimit-*` headers (kept in
integration_usage) and refuses with 403 or 429 once it is spent: both are retried at `x-ratelimit-reset`.
https://docs.github.com/en/rest
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

from core.models import AuthType, TriggerType
from integrations.context import ActionContext, ActionError
from integrations.sdk import Integration, PolledItem, PollResult, RateLimit

github = Integration(
    id="github",
    name="GitHub",
    description="Open and comment on issues, and react to new ones",
    icon="/static/icons/github.svg",
    category="developer",
    auth_type=AuthType.API_KEY,
    is_popular=True,
    docs_url="https://docs.github.com/en/rest",
    website_url="https://github.com",
    base_url="https://api.github.com",
    # 5,000 requests an hour for a token; content-creating requests have a secondary limit of 80 a minute.
    rate_limit=RateLimit(80, 60),
)


class GitHubCredentials(BaseModel):
    token: str = Field(min_length=1, description="A personal access token (ghp_... or github_pat_...)")
    baseUrl: str | None = Field(  # noqa: N815
        default=None, description="GitHub Enterprise Server: https://HOST/api/v3"
    )


github.credentials_model = GitHubCredentials


async def call(ctx: ActionContext, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {
        **ctx.bearer("token"),
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    try:
        return await ctx.request(method, path, headers=headers, **kwargs)
    except ActionError as exc:
        limit = ctx.rate_limit
        if exc.type in {"HTTP403", "HTTP429"} and limit is not None and limit.remaining == 0:
            # Spent primary rate limit: wait for GitHub's reset rather than failing the step.
            wait = (limit.reset - datetime.now(UTC)).total_seconds() if limit.reset else 60
            raise ActionError(
                f"GitHub's rate limit for this token is spent until {limit.reset}",
                type="GitHub.RateLimited",
                retry_after=max(1.0, wait),
            ) from exc
        if exc.type == "HTTP404":
            exc.message += " (or the token cannot see this repository)"
        raise


async def test_connection(ctx: ActionContext) -> None:
    await call(ctx, "GET", "user")


github.test = test_connection


class Repository(BaseModel):
    owner: str = Field(description="User or organisation", examples=["octocat"])
    repo: str = Field(examples=["hello-world"])


class CreateIssueInput(Repository):
    title: str = Field(min_length=1)
    body: str | None = None
    labels: list[str] = Field(default_factory=list)
    assignees: list[str] = Field(default_factory=list)


class IssueOutput(BaseModel):
    id: int
    number: int
    title: str
    state: str
    html_url: str
    user: str | None = None


def issue_output(issue: dict[str, Any]) -> IssueOutput:
    return IssueOutput(
        id=issue["id"],
        number=issue["number"],
        title=issue["title"],
        state=issue["state"],
        html_url=issue["html_url"],
        user=(issue.get("user") or {}).get("login"),
    )


@github.action("create_issue", name="Create Issue", description="Open an issue in a repository")
async def create_issue(data: CreateIssueInput, ctx: ActionContext) -> IssueOutput:
    payload = data.model_dump(include={"title", "body", "labels", "assignees"}, exclude_none=True)
    response = await call(ctx, "POST", f"repos/{data.owner}/{data.repo}/issues", json=payload)
    return issue_output(response.json())


class AddCommentInput(Repository):
    issue_number: int = Field(ge=1, description="Issue or pull request number")
    body: str = Field(min_length=1)


class CommentOutput(BaseModel):
    id: int
    html_url: str
    body: str


@github.action("add_comment", name="Add Comment", description="Comment on an issue or a pull request")
async def add_comment(data: AddCommentInput, ctx: ActionContext) -> CommentOutput:
    response = await call(
        ctx,
        "POST",
        f"repos/{data.owner}/{data.repo}/issues/{data.issue_number}/comments",
        json={"body": data.body},
    )
    comment = response.json()
    return CommentOutput(id=comment["id"], html_url=comment["html_url"], body=comment["body"])


class NewIssueConfig(Repository):
    state: Literal["open", "all"] = "open"
    labels: str | None = Field(default=None, description="Comma-separated labels the issue must have")


async def poll_issues(config: NewIssueConfig, ctx: ActionContext, cursor: dict[str, Any]) -> PollResult:
    params: dict[str, Any] = {"state": config.state, "sort": "created", "direction": "desc", "per_page": 50}
    if config.labels:
        params["labels"] = config.labels
    response = await call(ctx, "GET", f"repos/{config.owner}/{config.repo}/issues", params=params)
    # The issues endpoint lists pull requests too; they carry a `pull_request` key.
    issues = [i for i in response.json() if "pull_request" not in i]
    issues.sort(key=lambda i: i["created_at"])
    return PollResult(
        items=[
            PolledItem(
                id=str(i["id"]),
                data={
                    **issue_output(i).model_dump(),
                    "body": i.get("body"),
                    "labels": [label["name"] for label in i.get("labels", [])],
                    "created_at": i["created_at"],
                },
            )
            for i in issues
        ],
        cursor=cursor,
    )


github.trigger(
    "new_issue",
    name="New Issue",
    description="Triggers when an issue is opened in a repository",
    trigger_type=TriggerType.POLLING,
    config_model=NewIssueConfig,
    polling_interval=120,
    poll=poll_issues,
)
