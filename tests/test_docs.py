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
