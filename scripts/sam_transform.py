"""Print template.yaml as CloudFormation, transformed by the SAM translator that
`sam deploy` uses (run with the aws-sam-cli environment's Python: `make sam-transform`).

Local code paths become S3 URIs first, as `sam package` does; nothing is uploaded and no
AWS call is made. The least-privilege review (opslink_cli/iam_review.py) reads the
output: the IAM roles exactly as they would be deployed.

    .venv-sam/bin/python scripts/sam_transform.py template.yaml [Name=Value ...]
"""

from __future__ import annotations

import json
import os
import sys

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

_LOCAL_PATHS = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}


class _NoManagedPolicyLookups:
    """Policies name managed policies by ARN only: nothing to look up in IAM."""

    def load(self) -> dict[str, str]:
        return {}


def main(path: str, overrides: list[str]) -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(path, encoding="utf-8") as fh:
        template = yaml_parse(fh.read())
    for logical, resource in template.get("Resources", {}).items():
        prop = _LOCAL_PATHS.get(resource.get("Type", ""))
        if prop and isinstance(resource.get("Properties", {}).get(prop), str):
            resource["Properties"][prop] = f"s3://opslink-review/{logical}"
    parameters = dict(item.split("=", 1) for item in overrides)
    out = transform(template, parameters, _NoManagedPolicyLookups())
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
