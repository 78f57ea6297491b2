"""Dependencies follow the layers: the dlt source and the load layer install and run without
Dagster, FastAPI or uvicorn (`pip install hubspot-deals`); the extras add the programs around
them, and the CLI names the extra a command needs."""

import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from hubspot_deals.cli import COMMAND_EXTRAS
from hubspot_sandbox import SandboxServer

REPO = Path(__file__).resolve().parents[1]
# What the extras install and the lower layers must never load.
EXTRA_ONLY = ("dagster", "dagster_dlt", "fastapi", "starlette", "uvicorn")
LOWER_LAYERS = ("hubspot_deals.source", "hubspot_deals.load", "hubspot_deals.scan")

# Every module of the lower layers, and the top-level ones they use, imported in a fresh process.
IMPORT_LOWER_LAYERS = """
import importlib, pkgutil, sys
import hubspot_deals.source, hubspot_deals.load, hubspot_deals.scan
modules = ["hubspot_deals.settings", "hubspot_deals.crypto"]
for package in (hubspot_deals.source, hubspot_deals.load):
    modules += [m.name for m in pkgutil.iter_modules(package.__path__, package.__name__ + ".")]
for name in modules:
    importlib.import_module(name)
"""

# The extras' packages as if they were not installed: importing one raises ImportError.
UNIMPORTABLE = """
import sys

class Unimportable:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (not installed)", name=name)
        return None

sys.meta_path.insert(0, Unimportable())
"""


def run_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def test_the_source_load_layer_and_contract_load_neither_dagster_nor_fastapi() -> None:
    code = IMPORT_LOWER_LAYERS + (
        f"print(sorted(m for m in {EXTRA_ONLY!r} if m in sys.modules)); "
        "print(len(modules), 'hubspot_deals.load.failures' in sys.modules)"
    )
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    loaded, counted = out.stdout.strip().splitlines()[-2:]
    assert loaded == "[]"
    imported, classification = counted.split()
    assert classification == "True"
    layer_files = [p for d in ("source", "load") for p in (REPO / "hubspot_deals" / d).glob("*.py")]
    assert int(imported) == len([p for p in layer_files if p.name != "__init__.py"]) + 2


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(deals=20, seed=7, tokens=["layers-token-0123456789"]) as server:
        yield server


def test_the_source_and_load_layer_run_with_the_extras_unimportable(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A dlt pipeline of the source's users and pipelines into DuckDB, the failure
    classification of a real refused connection, and a base command of the CLI, in a process
    where Dagster, FastAPI, Starlette and uvicorn cannot be imported."""
    for name in EXTRA_ONLY:  # installed here: only the hook keeps them out
        assert importlib.util.find_spec(name) is not None, name
    account = sandbox.account()
    code = (
        f"BLOCKED = {EXTRA_ONLY!r}\n"
        + UNIMPORTABLE
        + IMPORT_LOWER_LAYERS
        + f"""
import json
import psycopg2
from hubspot_deals.load.destination import make_pipeline
from hubspot_deals.load.failures import classify_failure
from hubspot_deals.load.reads import count_scan_rows
from hubspot_deals.source import hubspot_crm

source = hubspot_crm(access_token={sandbox.token!r}, api_base_url={sandbox.base_url!r},
                     scan_id="layers", organization_id="org")
make_pipeline("hubspot_scan_layers").run(
    source.with_resources("users", "pipelines", "pipeline_stages")
)
try:
    psycopg2.connect("postgresql://postgres@127.0.0.1:9/postgres", connect_timeout=10)
except psycopg2.OperationalError as exc:
    failure = classify_failure(exc)
from hubspot_deals.cli import main
encrypted = main(["encrypt-token"])
print(json.dumps({{
    "rows": {{t: count_scan_rows(t, "layers") for t in ("users", "pipelines", "pipeline_stages")}},
    "failure": [failure.category, failure.transient],
    "encrypted": encrypted,
    "loaded": sorted(m for m in BLOCKED if m in sys.modules),
}}))
"""
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input="pat-na1-0123456789abcdef\n",
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={
            **os.environ,
            "HUBSPOT_DEALS_HOME": str(tmp_path),
            "HUBSPOT_DEALS_DESTINATION": "duckdb",
        },
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    ciphertext, result = lines[-2], json.loads(lines[-1])
    users = len(account.owners(archived=False)) + len(account.owners(archived=True))
    pipelines = account.pipelines()
    assert result == {
        "rows": {
            "users": users,
            "pipelines": len(pipelines),
            "pipeline_stages": sum(len(p["stages"]) for p in pipelines),
        },
        "failure": ["destination_unavailable", True],
        "encrypted": 0,
        "loaded": [],
    }
    assert ciphertext.startswith("gAAAAA")  # a Fernet token


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["scan", "s1"],
            "hubspot-deals scan needs Dagster, which is not installed (no dagster, dagster_dlt): "
            "pip install 'hubspot-deals[dagster]'",
        ),
        (
            ["demo"],
            "hubspot-deals demo needs Dagster, the REST API and the sandbox, which is not "
            "installed (no dagster, dagster_webserver, dagster_dlt, fastapi, uvicorn): "
            "pip install 'hubspot-deals[all]'",
        ),
        (
            ["api", "--port", "1"],
            "hubspot-deals api needs the REST API's packages, which is not installed (no fastapi, "
            "uvicorn): pip install 'hubspot-deals[api]'",
        ),
        (
            ["sandbox"],
            "hubspot-deals sandbox needs the sandbox's server, which is not installed (no "
            "uvicorn): pip install 'hubspot-deals[sandbox]'",
        ),
    ],
)
def test_a_command_names_the_extra_it_needs_instead_of_a_traceback(
    argv: list[str], message: str, tmp_path: Path
) -> None:
    blocked = ("dagster", "dagster_webserver", "dagster_dlt", "fastapi", "starlette", "uvicorn")
    code = (
        f"BLOCKED = {blocked!r}\n"
        + UNIMPORTABLE
        + f"from hubspot_deals.cli import main; sys.exit(main({argv!r}))"
    )
    out = run_python(code, {"HUBSPOT_DEALS_HOME": str(tmp_path)})
    assert (out.returncode, out.stderr, out.stdout) == (2, f"error: {message}\n", "")


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def distribution(requirement: Requirement) -> str:
    return re.sub(r"[-_.]+", "-", requirement.name).lower()


def test_the_base_install_names_no_dagster_fastapi_nor_uvicorn_and_every_pin_is_one() -> None:
    meta = project()
    base = [Requirement(r) for r in meta["dependencies"]]
    extras = {k: [Requirement(r) for r in v] for k, v in meta["optional-dependencies"].items()}
    names = {distribution(r) for r in base}
    assert not {n for n in names if n.startswith(("dagster", "fastapi", "starlette", "uvicorn"))}
    assert {"dlt", "duckdb", "psycopg2-binary", "requests", "orjson"} <= names
    # The destinations' drivers, and pyarrow (parquet) for the source's typed batches.
    assert next(r for r in base if r.name == "dlt").extras == {"duckdb", "postgres", "parquet"}
    # Every requirement carries its version range, and a package that two of the layers' extras
    # name is pinned the same in both.
    layers = {"base": base, **{k: extras[k] for k in ("dagster", "api", "sandbox")}}
    specs: dict[str, set[str]] = {}
    for group, requirements in [("base", base), *extras.items()]:
        for r in requirements:
            if distribution(r) == "hubspot-deals":
                continue
            assert str(r.specifier), f"{group}: {r} has no version range"
    for requirements in layers.values():
        for r in requirements:
            specs.setdefault(distribution(r), set()).add(str(r.specifier))
    assert {n: s for n, s in specs.items() if len(s) > 1} == {}
    assert {distribution(r) for r in extras["dagster"]} >= {"dagster", "dagster-dlt"}
    assert {distribution(r) for r in extras["api"]} >= {"fastapi", "starlette", "uvicorn"}
    assert [str(r) for r in extras["all"]] == ["hubspot-deals[api,dagster,sandbox]"]
    assert "hubspot-deals[all]" in [str(r) for r in extras["test"]]


def test_the_cli_names_the_extra_that_installs_what_a_command_needs() -> None:
    """Each module a command needs comes from a distribution that the named extra lists."""
    extras = {
        k: {distribution(Requirement(r)) for r in v}
        for k, v in project()["optional-dependencies"].items()
    }
    extras["all"] = extras["dagster"] | extras["api"] | extras["sandbox"]
    providers = importlib.metadata.packages_distributions()
    for command, (extra, _, modules) in COMMAND_EXTRAS.items():
        for module in modules:
            dists = {re.sub(r"[-_.]+", "-", d).lower() for d in providers[module]}
            assert dists & extras[extra], (command, module, extra)
