"""DynamoDB item (de)serialisation shared by the store modules. Empty values are left
out (DynamoDB keys and indexes refuse empty strings)."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_ser = TypeSerializer()
_de = TypeDeserializer()


def to_item(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in doc.items() if v is not None and v != ""}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _de.deserialize(v) for k, v in item.items()}
