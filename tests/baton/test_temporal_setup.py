"""`baton setup-temporal` registers the search attributes the Web UI filters runs by."""

from __future__ import annotations

import uuid

from google.protobuf.duration_pb2 import Duration
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client

from baton.temporal_setup import register_search_attributes
from core.temporal import SEARCH_ATTRIBUTES
from tests.baton.cli import baton


async def test_registering_adds_the_missing_attributes_once(temporal_client: Client) -> None:
    namespace = f"setup-{uuid.uuid4().hex[:8]}"

    await temporal_client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    client = await Client.connect(temporal_client.service_client.config.target_host, namespace=namespace)
    assert await register_search_attributes(client) == sorted(SEARCH_ATTRIBUTES)
    assert await register_search_attributes(client) == []
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    assert set(SEARCH_ATTRIBUTES) <= set(listed.custom_attributes)


def test_baton_setup_temporal_says_when_there_is_nothing_to_do(temporal_address: str) -> None:
    result = baton("setup-temporal", timeout=60, TEMPORAL_ADDRESS=temporal_address)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Search attributes already registered."
