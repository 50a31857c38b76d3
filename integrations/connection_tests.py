"""Testing a connection (`POST .../connections/{id}/test`): its credentials read as a step reads them (an
OAuth2 token about to expire is refreshed first), checked against what the integration expects, then the
integration's own test hook when it has one.

The answer is in Baton's own words only: the remote server's (a banner, an error page) are logged, not
answered. The route records the outcome on the connection and audits it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from core import connections as store
from core.credentials import ConnectionCredentials, CredentialsError
from core.outbound import outbound_client, policy_for
from core.settings import Settings
from integrations.catalogue import get_integration
from integrations.context import FAILURE_KINDS, credentials_failure_kind, failure_kind
from integrations.sdk import ActionError

logger = logging.getLogger("baton.connections")


@dataclass(frozen=True)
class ConnectionChecked:
    ok: bool
    detail: str
    failure: str | None = None  # one of FAILURE_KINDS when not ok


async def check_connection(
    connection_id: str,
    workspace_id: str,
    integration_id: str,
    credentials: Callable[[httpx.AsyncClient], ConnectionCredentials],
    settings: Settings,
) -> ConnectionChecked:
    """Whether the integration takes the connection's credentials (`credentials` reads them over the
    client it is given, so a refresh goes through the same egress guard as the test)."""
    integration = get_integration(integration_id)
    try:
        async with outbound_client(policy_for(settings), timeout=15) as http:
            loaded = await credentials(http).connection(connection_id, workspace_id, disabled_too=True)
            store.check_credentials(
                integration.credentials_model if integration else None, loaded.credentials
            )
            if integration is not None and integration.test is not None:
                await integration.test(
                    integration.context(
                        loaded.credentials, http, logger, base_urls=settings.integration_base_urls
                    )
                )
    except ActionError as exc:
        logger.info("connection test of %s failed: %s", connection_id, exc.type)
        kind = failure_kind(exc)
        return ConnectionChecked(False, FAILURE_KINDS[kind], kind)
    except CredentialsError as exc:
        logger.info("connection test of %s failed: %s", connection_id, exc.type)
        kind = credentials_failure_kind(exc.type)
        return ConnectionChecked(False, FAILURE_KINDS[kind], kind)
    except (store.InvalidCredentials, ValueError):
        return ConnectionChecked(False, FAILURE_KINDS["credentials"], "credentials")
    if integration is not None and integration.test is not None:
        return ConnectionChecked(True, f"{integration.name} accepted the credentials")
    return ConnectionChecked(
        True, "the credentials are readable and well-formed (this integration has no live test)"
    )
