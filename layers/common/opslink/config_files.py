"""Configuration files the functions read once: a path given by the deployment, or the
default the layer ships under opslink/data/."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from opslink.errors import ConfigurationError


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
