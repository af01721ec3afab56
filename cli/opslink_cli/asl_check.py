"""Static checks of the state machines (cfn-lint does not read DefinitionUri files).

- the file is valid JSON as stored (no unquoted substitution) and every `Next`/`Default`/Catch target names a state;
- every state is reachable from StartAt;
- every Task has a Retry and a Catch, and a TimeoutSeconds when it invokes a Lambda
  function;
- every ${Substitution} is supplied by the template's DefinitionSubstitutions.

Usage: python -m opslink_cli.asl_check statemachine/*.asl.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from opslink_cli.emulator.template import load_template

_SUB = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def _targets(state: dict[str, Any]) -> list[str]:
    out = [state[k] for k in ("Next", "Default") if k in state]
    out += [c["Next"] for c in state.get("Choices", []) if "Next" in c]
    out += [c["Next"] for c in state.get("Catch", []) if "Next" in c]
    return out


def check_definition(text: str, substitutions: set[str], origin: str) -> list[str]:
    problems = [
        f"{origin}: substitution ${{{s}}} is not in DefinitionSubstitutions"
        for s in sorted(set(_SUB.findall(text)) - substitutions)
    ]
    try:
        # Valid JSON as stored, so editors, Workflow Studio and JSON tools can read it:
        # substitutions only inside strings (numbers go through *Path fields).
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return [*problems, f"{origin}: not valid JSON as stored: {exc}"]
    states: dict[str, Any] = doc.get("States", {})
    if doc.get("StartAt") not in states:
        problems.append(f"{origin}: StartAt {doc.get('StartAt')!r} is not a state")
    for name, state in states.items():
        for target in _targets(state):
            if target not in states:
                problems.append(f"{origin}: state {name} goes to unknown state {target!r}")
        if state.get("Type") == "Task":
            if not state.get("Retry"):
                problems.append(f"{origin}: Task {name} has no Retry")
            if not state.get("Catch"):
                problems.append(f"{origin}: Task {name} has no Catch")
            resource = str(state.get("Resource", ""))
            if ("lambda" in resource.lower() or "FunctionArn" in resource) and not (
                {"TimeoutSeconds", "TimeoutSecondsPath"} & set(state)
            ):
                problems.append(f"{origin}: Task {name} invokes Lambda without TimeoutSeconds")
        if (
            state.get("Type") not in ("Succeed", "Fail", "Choice")
            and "Next" not in state
            and not state.get("End")
        ):
            problems.append(f"{origin}: state {name} has neither Next nor End")
    seen, todo = set(), [doc.get("StartAt")]
    while todo:
        current = todo.pop()
        if current in seen or current not in states:
            continue
        seen.add(current)
        todo += _targets(states[current])
    for name in sorted(set(states) - seen):
        problems.append(f"{origin}: state {name} is unreachable")
    return problems


def check_files(paths: list[Path], template: Path) -> list[str]:
    resources = load_template(template)["Resources"]
    subs_by_uri = {
        res["Properties"]["DefinitionUri"]: set(
            res["Properties"].get("DefinitionSubstitutions", {})
        )
        for res in resources.values()
        if res["Type"] == "AWS::Serverless::StateMachine"
    }
    problems = []
    root = template.parent
    for path in paths:
        rel = path.resolve().relative_to(root.resolve()).as_posix()
        if rel not in subs_by_uri:
            problems.append(f"{rel}: no state machine in {template.name} uses this file")
            continue
        problems += check_definition(path.read_text(encoding="utf-8"), subs_by_uri[rel], rel)
    return problems


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted(Path("statemachine").glob("*.asl.json"))
    problems = check_files(paths, Path("template.yaml"))
    for p in problems:
        print(p)
    print(f"asl check: {len(paths)} file(s), {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
