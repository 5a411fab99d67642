"""The project's own promises: CI runs the README's test command, and nothing reads the reference folder."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    quickstart = ROOT.joinpath("README.md").read_text().split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", quickstart)


def test_quickstart_has_exactly_two_commands_and_ci_runs_the_second() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[1] in ROOT.joinpath(".ci", "run").read_text().splitlines()


def test_nothing_reads_the_reference_folder() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in tracked.split():
        if name.endswith((".py", ".sh", ".toml", ".cfg")) or name.startswith(".ci/"):
            text = ROOT.joinpath(name).read_text(errors="replace")
            # Spelled in two parts so that this check does not find itself.
            assert "../" "shared" not in text and "/shared/" "jellyfin" not in text, name
