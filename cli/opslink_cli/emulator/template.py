"""Read template.yaml (SAM) and resolve the intrinsic functions the local stack needs.

The local emulator builds its resources from this file, so the template stays the one
source of truth for tables, topics, functions, environments and the state machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class TemplateError(Exception):
    pass


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 (SafeLoader subclass)
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"{path}: {exc}") from None
    if not isinstance(doc, dict) or "Resources" not in doc:
        raise TemplateError(f"{path}: no Resources section")
    return doc


_SUB = re.compile(r"\$\{([^}!]+)\}")


@dataclass
class Resolver:
    """Resolves Ref, GetAtt, Sub, Join, Equals, If against known physical ids."""

    template: dict[str, Any]
    parameters: dict[str, str]
    pseudo: dict[str, str]
    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[tuple[str, str], str] = field(default_factory=dict)

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise TemplateError(f"unknown condition {name!r}")
        return bool(self.resolve(conditions[name]))

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            spec = self.template.get("Parameters", {}).get(name, {})
            if spec.get("Type") == "CommaDelimitedList":  # a list, as CloudFormation has it
                return [part.strip() for part in self.parameters[name].split(",")]
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise TemplateError(f"Ref to unknown name {name!r}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                res, attr = arg if isinstance(arg, list) else str(arg).split(".", 1)
                try:
                    return self.attrs[(res, attr)]
                except KeyError:
                    raise TemplateError(f"GetAtt {res}.{attr} is not known locally") from None
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return _SUB.sub(lambda m: str(extra.get(m[1]) or self._sub_var(m[1])), text)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(i) for i in self.resolve(items))
            if key == "Fn::Equals":
                left, right = self.resolve(arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if key == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if key == "Fn::If":
                cond, yes, no = arg
                return self.resolve(yes if self.condition(cond) else no)
            if key == "Condition":
                return self.condition(arg)
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub_var(self, name: str) -> str:
        if "." in name:
            res, attr = name.split(".", 1)
            return str(self.resolve({"Fn::GetAtt": [res, attr]}))
        return self.ref(name)


def parameter_values(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    params = template.get("Parameters", {})
    unknown = set(overrides) - set(params)
    if unknown:
        raise TemplateError(
            f"unknown parameter(s): {', '.join(sorted(unknown))} "
            f"(template.yaml has: {', '.join(params)})"
        )
    values: dict[str, str] = {}
    for name, spec in params.items():
        value = overrides.get(name, spec.get("Default"))
        if value is None:
            raise TemplateError(f"parameter {name} has no default and no value")
        allowed = spec.get("AllowedValues")
        if allowed and str(value) not in [str(a) for a in allowed]:
            raise TemplateError(
                f"parameter {name}={value!r} is not one of {', '.join(map(str, allowed))}"
            )
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                raise TemplateError(f"parameter {name}={value!r} is not a number") from None
            low, high = spec.get("MinValue"), spec.get("MaxValue")
            if (low is not None and number < float(low)) or (
                high is not None and number > float(high)
            ):
                raise TemplateError(
                    f"parameter {name}={value!r} is outside {low if low is not None else '-inf'}"
                    f"..{high if high is not None else 'inf'}"
                )
        values[name] = str(value)
    return values


def name_resources(
    resolver: Resolver, resources: dict[str, Any], stack_name: str, region: str, account: str
) -> dict[str, str]:
    """Name every resource as a stack does (`<stack>-<logical id>`), give the resolver
    their Ref and GetAtt values, and return their ARNs by logical id. SAM types and the
    CloudFormation types the SAM translator makes of them are named alike."""
    at = f"{region}:{account}"
    arns: dict[str, str] = {}
    for logical, res in resources.items():
        name, kind = f"{stack_name}-{logical}", res["Type"]
        ref, arn = "", f"arn:aws:local:{at}:{logical}"
        if kind == "AWS::DynamoDB::Table":
            ref, arn = name, f"arn:aws:dynamodb:{at}:table/{name}"
        elif kind == "AWS::SNS::Topic":
            arn = f"arn:aws:sns:{at}:{name}"
            resolver.attrs[(logical, "TopicName")] = name
        elif kind == "AWS::SQS::Queue":
            ref, arn = (
                f"https://sqs.{region}.amazonaws.com/{account}/{name}",
                f"arn:aws:sqs:{at}:{name}",
            )
            resolver.attrs[(logical, "QueueName")] = name
        elif kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            ref, arn = name, f"arn:aws:lambda:{at}:function:{name}"
        elif kind in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            arn = f"arn:aws:states:{at}:stateMachine:{name}"
            resolver.attrs[(logical, "Name")] = name
        elif kind == "AWS::IAM::ManagedPolicy":
            arn = f"arn:aws:iam::{account}:policy/{name}"
        resolver.refs[logical] = ref or arn
        resolver.attrs[(logical, "Arn")] = arn
        arns[logical] = arn
    return arns
