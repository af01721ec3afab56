"""The Lambda layers ship exactly their requirements files (the layers' Makefiles install
them with --no-deps): each list must be closed under the dependencies its packages declare
for Lambda's CPython on Linux, pinned to the versions the test suite runs, and keep the
runtime's own SDK (boto3, botocore) out."""

from __future__ import annotations

import re
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from opslink_cli.emulator.template import load_template

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("common", "teams")
RUNTIME = {"boto3", "botocore", "s3transfer"}  # the Lambda Python runtime's SDK
LAMBDA = {**default_environment(), "python_version": "3.12", "python_full_version": "3.12.0",
          "sys_platform": "linux", "platform_system": "Linux",
          "platform_python_implementation": "CPython", "implementation_name": "cpython"}  # fmt: skip


def pins(layer: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (ROOT / "layers" / layer / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier  # one exact pin per line
            assert spec.operator == "==", f"{layer}: {line!r} is not pinned with =="
            out[canonicalize_name(req.name)] = spec.version
    return out


def needed(name: str) -> set[str]:
    """What a package declares it needs on Lambda's Python (extras not asked for left out)."""
    out = set()
    for raw in metadata.requires(name) or []:
        req = Requirement(raw)
        if req.marker is None or req.marker.evaluate({**LAMBDA, "extra": ""}):
            out.add(canonicalize_name(req.name))
    return out


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_ships_every_dependency_of_what_it_ships(layer: str) -> None:
    listed = pins(layer)
    missing = {
        f"{name} needs {dep}"
        for name in listed
        for dep in needed(name)
        if dep not in listed and dep not in RUNTIME
    }
    assert not missing, f"layers/{layer}/requirements.txt is not closed: {sorted(missing)}"


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_ships_the_versions_the_tests_run_and_not_the_runtimes_sdk(layer: str) -> None:
    listed = pins(layer)
    assert not RUNTIME & set(listed), "the runtime's SDK would shadow its compiled copy"
    drift = {n: (v, metadata.version(n)) for n, v in listed.items() if metadata.version(n) != v}
    assert not drift, f"layers/{layer}: pinned vs installed for the tests: {drift}"


def test_the_layers_common_pins_agree_with_the_project() -> None:
    project = {
        canonicalize_name(Requirement(m.group(1)).name): Requirement(m.group(1))
        for m in re.finditer(r'^\s*"([^"]+==[^"]+)",', (ROOT / "pyproject.toml").read_text(), re.M)
    }
    for layer in LAYERS:
        for name, version in pins(layer).items():
            if name in project:
                assert project[name].specifier.contains(version), (layer, name, version)


def test_the_layers_are_built_by_their_makefiles_into_compiled_bytecode(tmp_path: Path) -> None:
    """What `sam build` runs for each layer (make's dry run, as SAM calls it): exactly the
    pinned list for Lambda's platform, then every module compiled for python3.12."""
    resources = load_template(ROOT / "template.yaml")["Resources"]
    for layer, logical in (("common", "CommonLayer"), ("teams", "TeamsLayer")):
        assert resources[logical]["Properties"]["ContentUri"] == f"layers/{layer}"
        assert resources[logical]["Metadata"]["BuildMethod"] == "makefile"
        plan = subprocess.run(
            ["make", "-n", f"build-{logical}", f"ARTIFACTS_DIR={tmp_path}"],
            cwd=ROOT / "layers" / layer, capture_output=True, text=True, check=True,
        ).stdout.replace("\\\n", " ")  # fmt: skip
        install = next(line for line in plan.splitlines() if " pip install " in line)
        for flag in ("--no-deps", "--only-binary=:all:", "--python-version 3.12",
                     "-r requirements.txt", f"--target {tmp_path}/python"):  # fmt: skip
            assert flag in install.replace('"', ""), (layer, flag, install)
        compile_ = next(line for line in plan.splitlines() if "compileall" in line)
        assert compile_.startswith("python3.12 ") and "unchecked-hash" in compile_
