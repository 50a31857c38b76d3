"""Bodies of the console's session endpoints (`/auth/session`)."""

from __future__ import annotations

from pydantic import Field

from api.schemas.accounts import UserOut
from api.schemas.base import ApiModel


class SessionOut(ApiModel):
    """Who signed in, and the CSRF token (also in the `baton_csrf` cookie) to send as `X-CSRF-Token`."""

    user: UserOut
    csrf_token: str = Field(description="Send it as X-CSRF-Token with every request that changes something")
    expires_in: int = Field(description="Seconds until the session ends")
