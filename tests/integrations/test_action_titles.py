"""An action keeps the title it was declared with: checking its execution profiles once overwrote it with the
last profile's name (http.request was titled "long" in docs/integrations.md and the catalogue)."""

from __future__ import annotations

from pydantic import BaseModel

from core.execution_profiles import PROFILES
from core.models import AuthType
from integrations.catalogue import INTEGRATIONS
from integrations.context import ActionContext
from integrations.sdk import Integration


class Page(BaseModel):
    url: str = ""


def test_an_action_with_other_profiles_keeps_its_title() -> None:
    demo = Integration("demo", "Demo", "d", "", "developer", AuthType.NONE)

    @demo.action(
        "fetch", name="Fetch Pages", description="d", profile_when={"long": lambda raw: "url" in raw}
    )
    async def fetch(data: Page, ctx: ActionContext) -> Page:
        return data.model_copy(update={"url": ctx.base_url})

    assert demo.actions["fetch"].name == "Fetch Pages"
    assert INTEGRATIONS["http"].actions["request"].name == "HTTP Request"


def test_no_action_is_titled_by_a_profile_name() -> None:
    titled = [a.id for i in INTEGRATIONS.values() for a in i.actions.values() if a.name.lower() in PROFILES]
    assert titled == []
