"""docker-compose.yml against the Compose Specification's JSON schema, as check-jsonschema
ships it (its vendored ``compose-spec.json``): this machine has no Docker engine to ask
``docker compose config``. Also the files compose mounts exist, and the dashboards provider
points where compose mounts the dashboards."""
from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose_schema() -> dict:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(vendored.read_text(encoding="utf-8"))


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def problems(document: dict) -> list[str]:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(
        schema, format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(document)]


def test_the_compose_file_follows_the_compose_specification():
    assert compose_schema()["title"] == "Compose Specification"
    assert problems(compose()) == []


@pytest.mark.parametrize("break_it", [
    lambda d: d["services"]["rabbitmq"].update(portz=["5672:5672"]),
    lambda d: d["services"]["grafana"].update(volumes="not-a-list"),
    lambda d: d["services"]["ledger"].update(depends_on={"postgres": {"condition": "sometime"}}),
])
def test_the_schema_check_catches_a_broken_file(break_it):
    broken = copy.deepcopy(compose())
    break_it(broken)
    assert problems(broken)


def test_compose_runs_prometheus_grafana_and_the_brokers_own_metrics():
    services = compose()["services"]
    assert {"prometheus", "grafana", "rabbitmq"} <= set(services)
    assert any("15692" in p for p in services["rabbitmq"]["ports"])
    assert any("15672" in p for p in services["rabbitmq"]["ports"])
    plugins = (ROOT / "infra/rabbitmq/enabled_plugins").read_text()
    assert "rabbitmq_prometheus" in plugins and "rabbitmq_management" in plugins
    for name in ("intake", "ledger", "notify", "audit"):
        assert services[name]["environment"]["METRICS_PORT"] == "9100"


def test_every_file_compose_mounts_exists():
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is missing"


def test_grafana_loads_the_dashboards_from_where_compose_mounts_them():
    mounts = dict(v.split(":")[:2] for v in compose()["services"]["grafana"]["volumes"]
                  if v.startswith("./"))
    provider = yaml.safe_load((ROOT / "infra/grafana/provisioning/dashboards/"
                               "dashboards.yml").read_text())["providers"][0]
    assert mounts["./infra/grafana/dashboards"] == provider["options"]["path"]
    titles = {json.loads(p.read_text())["uid"]
              for p in (ROOT / "infra/grafana/dashboards").glob("*.json")}
    assert titles == {"platform-health", "message-flow", "campaign-progress"}
