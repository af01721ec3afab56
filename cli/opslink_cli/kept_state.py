"""The demo's state, kept on disk and reopened: `opslink demo` saves the local stack's
tables and its executions (with their histories) in `.opslink/demo-state`;
`opslink local serve --state .opslink/demo-state` stands a fresh local stack up with them,
so every command the demo suggests (`alerts list`, `executions show NAME`, `report`,
`audit`) works against it with `--endpoint-url`.

Step Functions executions cannot be recreated with their history on the emulator: they
are kept in a small table beside the stack (`opslink-kept-executions`), which the CLI
reads when the emulator does not know an execution (KeptExecutions)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

DEFAULT_DIR = Path(".opslink") / "demo-state"
KEPT_TABLE = "opslink-kept-executions"
MANIFEST = "manifest.json"


def _dates(doc: Any) -> Any:
    """ISO strings back to datetimes where the SDK gives datetimes (startDate, timestamp)."""
    if isinstance(doc, dict):
        out = {}
        for k, v in doc.items():
            if k in ("startDate", "stopDate", "timestamp") and isinstance(v, str):
                out[k] = datetime.fromisoformat(v)
            else:
                out[k] = _dates(v)
        return out
    if isinstance(doc, list):
        return [_dates(v) for v in doc]
    return doc


def save(stack: Any, folder: Path = DEFAULT_DIR) -> Path:
    """Write the stack's tables (DynamoDB JSON, one item per line) and its executions."""
    folder.mkdir(parents=True, exist_ok=True)
    ddb, sfn = stack.client("dynamodb"), stack.client("stepfunctions")
    tables = {k: v for k, v in stack.names.items() if k.endswith("Table")}
    for logical, physical in tables.items():
        with (folder / f"{logical}.jsonl").open("w", encoding="utf-8") as f:
            for page in ddb.get_paginator("scan").paginate(TableName=physical):
                for item in page.get("Items", []):
                    f.write(json.dumps(item) + "\n")
    machine = stack.arns["RemediationStateMachine"]
    kept = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine):
        for e in page.get("executions", []):
            described = sfn.describe_execution(executionArn=e["executionArn"])
            described.pop("ResponseMetadata", None)
            history = sfn.get_execution_history(executionArn=e["executionArn"], maxResults=1000)
            kept.append({"execution": described, "events": history["events"]})
    (folder / "executions.json").write_text(json.dumps(kept, default=str), encoding="utf-8")
    manifest = {
        "tables": sorted(tables),
        "executions": len(kept),
        "saved_at": datetime.now().isoformat(),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


def restore(stack: Any, folder: Path) -> dict[str, int]:
    """Load a kept state into a freshly started local stack; counts by table."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"{folder} holds no kept state ({MANIFEST} missing): run `opslink demo` first"
        )
    ddb = stack.client("dynamodb")
    counts: dict[str, int] = {}
    for logical in json.loads(manifest_path.read_text(encoding="utf-8"))["tables"]:
        items = [
            json.loads(line)
            for line in (folder / f"{logical}.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        for i in range(0, len(items), 25):
            batch = [{"PutRequest": {"Item": it}} for it in items[i : i + 25]]
            ddb.batch_write_item(RequestItems={stack.names[logical]: batch})
        counts[logical] = len(items)
    kept = json.loads((folder / "executions.json").read_text(encoding="utf-8"))
    ddb.create_table(
        TableName=KEPT_TABLE,
        AttributeDefinitions=[{"AttributeName": "name", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "name", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for doc in kept:
        name = doc["execution"]["name"]
        ddb.put_item(TableName=KEPT_TABLE,
                     Item={"name": {"S": name}, "doc": {"S": json.dumps(doc)}})  # fmt: skip
    counts["executions"] = len(kept)
    return counts


class KeptExecutions:
    """The emulator's Step Functions client, falling back to the kept executions for the
    ones it does not know (a reopened demo state). Everything else passes through."""

    def __init__(self, sfn: Any, ddb: Any) -> None:
        self._sfn, self._ddb = sfn, ddb
        self.exceptions = sfn.exceptions

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sfn, name)

    def _kept(self, name: str) -> dict[str, Any] | None:
        try:
            out = self._ddb.get_item(TableName=KEPT_TABLE, Key={"name": {"S": name}})
        except ClientError:
            return None  # no kept state on this emulator
        item = out.get("Item")
        return _dates(json.loads(item["doc"]["S"])) if item else None

    def _all_kept(self) -> list[dict[str, Any]]:
        try:
            pages = self._ddb.get_paginator("scan").paginate(TableName=KEPT_TABLE)
            return [_dates(json.loads(i["doc"]["S"])) for p in pages for i in p.get("Items", [])]
        except ClientError:
            return []

    def describe_execution(self, executionArn: str) -> Any:
        try:
            return self._sfn.describe_execution(executionArn=executionArn)
        except ClientError as exc:
            kept = self._kept(executionArn.rsplit(":", 1)[-1])
            if kept is None:
                raise exc from None
            return kept["execution"]

    def get_execution_history(self, executionArn: str, **kw: Any) -> Any:
        try:
            return self._sfn.get_execution_history(executionArn=executionArn, **kw)
        except ClientError as exc:
            kept = self._kept(executionArn.rsplit(":", 1)[-1])
            if kept is None:
                raise exc from None
            return {"events": kept["events"]}

    def list_executions(self, stateMachineArn: str, **kw: Any) -> Any:
        live = self._sfn.list_executions(stateMachineArn=stateMachineArn, **kw)
        names = {e["name"] for e in live.get("executions", [])}
        machine = stateMachineArn.rsplit(":", 1)[-1]
        kept = [
            {k: d["execution"][k] for k in ("executionArn", "name", "status", "startDate")
             if k in d["execution"]} | ({"stopDate": d["execution"]["stopDate"]}
                                        if d["execution"].get("stopDate") else {})
            for d in self._all_kept()
            if d["execution"]["name"] not in names
            and str(d["execution"].get("stateMachineArn", "")).endswith(machine)
        ]  # fmt: skip
        return {**live, "executions": live.get("executions", []) + kept}
