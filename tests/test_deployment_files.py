"""docker-compose.yml and the Dockerfile speak the same configuration as the code (no engine runs here,
so these files are kept exact by checking them against the code)."""

from __future__ import annotations

from pathlib import Path

import yaml

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_every_piece_of_the_production_stack() -> None:
    services = COMPOSE["services"]
    assert {
        "postgres",
        "redis",
        "mongo",
        "temporal",
        "temporal-postgresql",
        "temporal-ui",
        "migrate",
        "api",
        "worker",
    } <= set(services)
    assert "--appendonly" in services["redis"]["command"]
    assert services["temporal"]["environment"]["POSTGRES_SEEDS"] == "temporal-postgresql"
    assert services["migrate"]["command"][-1] == "baton migrate && baton seed && baton setup-temporal"
    for role in ("api", "worker"):
        assert services[role]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_every_variable_compose_gives_baton_is_a_setting_the_code_reads() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    for role in ("migrate", "api", "worker"):
        environment = COMPOSE["services"][role]["environment"]
        assert set(environment) <= fields, set(environment) - fields
        assert {"DATABASE_URL", "REDIS_URL", "MONGODB_URL", "TEMPORAL_ADDRESS", "SECRET_KEY"} <= set(
            environment
        )


def test_the_image_ships_every_package_the_code_is_made_of() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("core", "integrations", "activities", "worker", "api", "baton", "migrations"):
        assert f"COPY {package} ./{package}" in dockerfile
