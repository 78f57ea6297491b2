"""Running `hubspot-deals` as a user would, and reading its one-line errors."""

import os
import subprocess
from pathlib import Path

from hubspot_deals.stack import BIN


def run_cli(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`hubspot-deals ARGS` in `cwd`, with none of the caller's HUBSPOT_* or DAGSTER_* settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOT_", "DAGSTER_"))}
    return subprocess.run(
        [str(BIN / "hubspot-deals"), *args],
        env={**base, **(env or {})},
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )


def one_line_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The single stderr line of a command that failed with `code`."""
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and 'File "' not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]
