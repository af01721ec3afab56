"""The runbook catalog: one YAML file per runbook, scripts beside them.

A malformed entry fails at load with the file and the field named, so a bad catalog is
caught by the tests and at cold start, never half-way through a remediation.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from opslink.config_files import safe_yaml
from opslink.errors import ConfigurationError
from opslink.remediation_models import Risk, RunbookSpec


@dataclass(frozen=True)
class Runbook:
    spec: RunbookSpec
    script_path: Path

    @property
    def name(self) -> str:
        return self.spec.name

    def script(self) -> str:
        return self.script_path.read_text(encoding="utf-8")


def _check(spec: RunbookSpec, origin: str, root: Path) -> Path:
    for name, param in spec.parameters.items():
        if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,63}", name):
            raise ConfigurationError(
                f"{origin}: parameters.{name}: names are environment variables (A-Z, 0-9, _)"
            )
        try:
            pattern = re.compile(param.pattern)
        except re.error as exc:
            raise ConfigurationError(f"{origin}: parameters.{name}.pattern: {exc}") from None
        default = str(param.default).lower() if isinstance(param.default, bool) else param.default
        if default is not None and not pattern.fullmatch(str(default)):
            raise ConfigurationError(
                f"{origin}: parameters.{name}.default {param.default!r} does not match its pattern"
            )
        if param.required and param.default is None and not param.source:
            raise ConfigurationError(
                f"{origin}: parameters.{name}: required without a default or a 'from' source"
            )
        if param.allowed == "values" and not param.values:
            raise ConfigurationError(f"{origin}: parameters.{name}: allowed: values needs `values`")
        for value in param.values:
            if not pattern.fullmatch(value):
                raise ConfigurationError(
                    f"{origin}: parameters.{name}.values: {value!r} does not match its pattern"
                )
    if spec.max_targets > 1 and not spec.max_targets_reason.strip():
        raise ConfigurationError(
            f"{origin}: max_targets {spec.max_targets}: say why in max_targets_reason "
            "(a runbook touches one host unless the catalog says why more)"
        )
    if spec.min_approvers > 1 and spec.risk is not Risk.APPROVAL:
        raise ConfigurationError(
            f"{origin}: min_approvers {spec.min_approvers} needs risk: approval "
            "(only a runbook that waits for approval can wait for several)"
        )
    script = (root / spec.script).resolve()
    if root.resolve() not in script.parents:
        raise ConfigurationError(f"{origin}: script: {spec.script!r} is outside the catalog")
    if not script.is_file():
        raise ConfigurationError(f"{origin}: script: {spec.script} not found")
    return script


def parse_runbook(text: str, origin: str, root: Path) -> Runbook:
    try:
        doc = safe_yaml(text)
        spec = RunbookSpec.model_validate(doc)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{origin}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(document)"
        raise ConfigurationError(f"{origin}: field {where!r}: {first['msg']}") from None
    return Runbook(spec, _check(spec, origin, root))


@lru_cache(maxsize=4)
def load_catalog(path: str) -> tuple[Runbook, ...]:
    root = Path(path)
    if not root.is_dir():
        raise ConfigurationError(f"runbook catalog {path}: directory not found")
    runbooks = []
    seen: dict[str, str] = {}
    for file in sorted(root.glob("*.yaml")):
        runbook = parse_runbook(file.read_text(encoding="utf-8"), str(file), root)
        if runbook.name in seen:
            raise ConfigurationError(
                f"{file}: name {runbook.name!r} already used by {seen[runbook.name]}"
            )
        seen[runbook.name] = str(file)
        runbooks.append(runbook)
    return tuple(runbooks)


def fingerprint(catalog: tuple[Runbook, ...]) -> dict[str, str]:
    """Each runbook's content hash (its spec and its script): what the audit trail records
    when a new catalog is loaded, so a changed runbook shows who-knows-what changed."""
    out = {}
    for rb in catalog:
        body = rb.spec.model_dump_json() + "\n" + rb.script()
        out[rb.name] = hashlib.sha256(body.encode()).hexdigest()[:12]
    return out
