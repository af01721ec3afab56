"""The docs a newcomer follows: every document they point to exists, every parameter of
the template has exactly one row in the README's reference, nothing machine-specific."""

from __future__ import annotations

import re

from opslink_cli.emulator.template import load_template
from tests.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "runbooks" / "README.md"]


def test_referenced_documents_exist() -> None:
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"
        for name in re.findall(r"\b((?:docs/)?[A-Z][A-Z_]+\.md)\b", text):
            where = ROOT / name if name.startswith("docs/") else doc.parent / name
            assert where.exists() or (ROOT / "docs" / name).exists(), f"{doc.name}: {name}"


def test_every_parameter_has_one_row_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    for name in load_template(ROOT / "template.yaml")["Parameters"]:
        count = sum(1 for row in rows if f"`{name}`" in row.split("|")[1])
        assert count == 1, f"{name}: {count} rows in the configuration reference"


def test_readme_says_nothing_machine_specific() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "PYENV_VERSION" not in readme
    assert not re.search(r"\b3\.1[0-9]\.[0-9]+\b", readme)  # no interpreter patch versions
