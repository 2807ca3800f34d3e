"""The README's "From one laptop to a cluster" names every command and setting the deploy
files use, so an operator can follow it without reading the manifests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def _section() -> str:
    text = (REPO / "README.md").read_text()
    start = text.index("## From one laptop to a cluster")
    end = text.index("\n## ", start + 1)
    # Line breaks inside a sentence or a code span are not part of a name.
    return " ".join(text[start:end].split())


def _manifest_commands() -> list[str]:
    commands = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "Deployment":
                for container in doc["spec"]["template"]["spec"]["containers"]:
                    commands.append(" ".join(container["command"]))
    return commands


def _image_cmd() -> str:
    (line,) = [ln for ln in (REPO / "Dockerfile").read_text().splitlines() if ln.startswith("CMD ")]
    return " ".join(json.loads(line.removeprefix("CMD ")))


def _config_map_keys() -> list[str]:
    doc = yaml.safe_load((DEPLOY / "k8s" / "config.yaml").read_text())
    return sorted(doc["data"])


def _instance_env_vars() -> list[str]:
    return sorted(set(re.findall(r"\{env: (\w+)\}", (DEPLOY / "dagster.yaml").read_text())))


@pytest.mark.parametrize("command", [*_manifest_commands(), _image_cmd()])
def test_the_section_names_each_server_command(command: str) -> None:
    assert f"`{command}`" in _section()


@pytest.mark.parametrize("name", [*_config_map_keys(), *_instance_env_vars()])
def test_the_section_names_each_setting_the_deployment_sets(name: str) -> None:
    assert f"`{name}" in _section()


def test_the_section_names_the_helm_install_and_the_manifests() -> None:
    section = _section()
    assert (
        "helm upgrade --install dagster dagster/dagster --version 1.13.27 -n sophia "
        "-f deploy/helm/values.yaml"
    ) in section
    assert "kubectl apply -f deploy/k8s/" in section
    assert "sh deploy/install.sh" in section
    for unit_command in ("dagster-daemon run", "dagster-webserver", "dagster code-server start"):
        assert unit_command in section
