"""The README documents every setting the code reads, and every CLI command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_environment_variable_is_documented():
    settings = (ROOT / "src/medtutor/settings.py").read_text()
    read = set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', settings)) | set(re.findall(r'_env_bool\("([A-Z_]+)"', settings))
    readme = (ROOT / "README.md").read_text()
    assert read and {name for name in read if f"`{name}`" not in readme} == set()


def test_every_cli_command_is_documented():
    from typer.main import get_command

    from medtutor.cli import app

    readme = (ROOT / "README.md").read_text()
    root = get_command(app)
    missing = []
    for name, command in root.commands.items():
        subcommands = getattr(command, "commands", None)
        for full in ([f"{name} {sub}" for sub in subcommands] if subcommands else [name]):
            if f"medtutor {full}" not in readme:
                missing.append(full)
    assert missing == []


def test_the_deployment_files_match_the_code():
    """compose.yaml sets only settings the code reads, runs real commands; the Dockerfile copies real paths."""
    import yaml

    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    settings = (ROOT / "src/medtutor/settings.py").read_text()
    app_env = compose["x-medtutor-env"]
    assert {name for name in app_env if f'"{name}"' not in settings} == set()
    assert {"app", "db", "redis", "migrate", "scheduler"} <= set(compose["services"])
    readme = (ROOT / "README.md").read_text()
    for service in compose["services"].values():
        command = service.get("command")
        if command and command[0] == "medtutor":
            assert f"medtutor {' '.join(command[1:3])}".split(" --")[0] in readme
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
