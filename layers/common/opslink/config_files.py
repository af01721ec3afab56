"""Configuration files the functions read once: a path given by the deployment, or the
default the layer ships under opslink/data/."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from opslink.errors import ConfigurationError

# libyaml's safe loader where PyYAML has it (its Linux wheels do): the same documents,
# about ten times faster — the runbook catalog is parsed on every remediate cold start.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_yaml(text: str) -> Any:
    """The YAML document in `text`, safely loaded (yaml.YAMLError when it is not YAML)."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 (a safe loader)


def config_text(path: str | None, default: str, what: str) -> tuple[str, str]:
    """(text, origin) of the file at `path`, or of the layer's `data/<default>`; a missing
    file is named (`what` says which: "service map", "correlation rules")."""
    if path:
        file = Path(path)
        if not file.is_file():
            raise ConfigurationError(f"{what} {path}: file not found")
        return file.read_text(encoding="utf-8"), path
    text = resources.files("opslink").joinpath(f"data/{default}").read_text("utf-8")
    return text, f"opslink/data/{default}"
