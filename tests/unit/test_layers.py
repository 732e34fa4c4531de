"""The layers stay apart: the gateway shares nothing with the services but messages and
``contracts``/``kit``; a service's domain imports neither nameko, SQLAlchemy nor another
service."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_the_gateway_imports_nothing_of_the_services():
    for path in (ROOT / "gateway").rglob("*.py"):
        services = {m for m in imports_of(path) if m.split(".")[0] == "services"}
        assert services == set(), path.relative_to(ROOT)


def test_a_services_domain_imports_no_framework_and_no_other_service():
    for service in ("intake", "ledger", "notify", "audit"):
        base = ROOT / "services" / service
        domain = [base / "domain.py"] if (base / "domain.py").exists() else []
        domain += list((base / "domain").rglob("*.py"))
        assert domain, service
        for path in domain:
            for module in imports_of(path):
                top = module.split(".")
                assert top[0] not in ("nameko", "sqlalchemy", "kombu", "eventlet"), (path, module)
                if top[0] == "services":
                    assert top[1] == service, (path, module)
