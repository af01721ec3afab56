"""The SAM template lints clean and the state machine passes the ASL checks."""

from __future__ import annotations

import json

import pytest

from opslink_cli.asl_check import check_definition, check_files
from opslink_cli.emulator.template import load_template
from tests.conftest import ROOT


def test_cfn_lint_passes_on_template() -> None:
    from cfnlint.api import ManualArgs, lint

    # The regions OpsLink is deployed to (function URLs are not in every region yet).
    regions = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1"]
    matches = lint(
        (ROOT / "template.yaml").read_text(encoding="utf-8"),
        config=ManualArgs(regions=regions),
    )
    # Errors and warnings, as the cfn-lint command reports by default.
    assert [str(m) for m in matches if m.rule.id[0] in "EW"] == []


def test_state_machines_pass_asl_checks() -> None:
    assert (
        check_files(sorted((ROOT / "statemachine").glob("*.asl.json")), ROOT / "template.yaml")
        == []
    )


def test_asl_check_catches_real_mistakes() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": "${RemediateFunctionArn}", "Next": "Nowhere"},
            "Orphan": {"Type": "Succeed"},
        },
    }
    problems = check_definition(json.dumps(definition), set(), "x.asl.json")
    text = "\n".join(problems)
    for expected in (
        "${RemediateFunctionArn} is not in DefinitionSubstitutions",
        "unknown state 'Nowhere'",
        "Task A has no Retry",
        "Task A has no Catch",
        "without TimeoutSeconds",
        "Orphan is unreachable",
    ):
        assert expected in text


def test_state_machine_files_are_valid_json_as_stored() -> None:
    for path in sorted((ROOT / "statemachine").glob("*.asl.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["States"], path
    unquoted = (
        '{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": ${Grace}, "End": true}}}'
    )
    assert any("not valid JSON as stored" in p for p in check_definition(unquoted, {"Grace"}, "x"))


def test_functions_point_at_real_handlers() -> None:
    resources = load_template(ROOT / "template.yaml")["Resources"]
    functions = {
        k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"
    }
    assert set(functions) == {
        "IngestFunction",
        "RemediateFunction",
        "TrackFunction",
        "MetricsFunction",
    }
    for props in functions.values():
        module, _, func = props["Handler"].rpartition(".")
        path = ROOT / props["CodeUri"] / (module.replace(".", "/") + ".py")
        assert path.is_file(), path
        assert f"def {func}(" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("handler", sorted((ROOT / "functions").glob("*/*/handler.py")))
def test_handlers_stay_thin(handler) -> None:  # type: ignore[no-untyped-def]
    assert len(handler.read_text(encoding="utf-8").splitlines()) <= 60


def test_every_template_condition_resolves_locally() -> None:
    from opslink_cli.emulator.template import Resolver, parameter_values

    template = load_template(ROOT / "template.yaml")
    resolver = Resolver(
        template,
        parameter_values(template, {}),
        {
            "AWS::AccountId": "123456789012",
            "AWS::Region": "us-east-1",
            "AWS::Partition": "aws",
            "AWS::StackName": "opslink",
        },
    )
    values = {name: resolver.condition(name) for name in template["Conditions"]}
    assert values["IngestAlarmEvents"] is False and values["HasIngestConcurrencyCap"] is False
    with_values = Resolver(
        template,
        parameter_values(template, {"IngestReservedConcurrency": "20", "WebhookSecretName": "s"}),
        resolver.pseudo,
    )
    assert with_values.condition("HasIngestConcurrencyCap") and with_values.condition(
        "HasWebhookSecret"
    )


def test_sam_local_env_vars_file_follows_the_template() -> None:
    """events/local-env.json (for `sam local invoke|start-lambda --env-vars`) names every
    function and every variable each one reads, and nothing SAM would ignore."""
    template = load_template(ROOT / "template.yaml")
    env_file = json.loads((ROOT / "events" / "local-env.json").read_text())
    shared = set(template["Globals"]["Function"]["Environment"]["Variables"])
    assert set(env_file["Parameters"]) == shared
    assert env_file["Parameters"]["OPSLINK_AWS_ENDPOINT_URL"].startswith("http://")
    functions = {
        logical: set(res["Properties"].get("Environment", {}).get("Variables", {}))
        for logical, res in template["Resources"].items()
        if res["Type"] == "AWS::Serverless::Function"
    }
    assert set(env_file) - {"Parameters"} == set(functions)
    for logical, variables in functions.items():
        assert set(env_file[logical]) == variables, logical
    # Every value is a string that the function's settings accept.
    from opslink.config import IngestSettings, RemediateSettings, TrackSettings

    for logical, settings in (
        ("IngestFunction", IngestSettings),
        ("RemediateFunction", RemediateSettings),
        ("TrackFunction", TrackSettings),
    ):
        values = env_file["Parameters"] | env_file[logical]
        assert all(isinstance(v, str) for v in values.values())
        settings.from_environ(values)


def test_local_endpoint_variable_points_the_sdk_at_the_emulator() -> None:
    from opslink.config import use_local_endpoint

    env = {"OPSLINK_AWS_ENDPOINT_URL": "http://host.docker.internal:5055"}
    use_local_endpoint(env)
    assert env["AWS_ENDPOINT_URL"] == "http://host.docker.internal:5055"
    empty = {"OPSLINK_AWS_ENDPOINT_URL": ""}
    use_local_endpoint(empty)
    assert "AWS_ENDPOINT_URL" not in empty  # on AWS: untouched


def test_webhook_url_exists_only_with_a_secret_to_verify_requests_with() -> None:
    """No public endpoint without a way to verify its requests: the ticket webhooks' or
    Slack's signing secret, or a Teams bot (Bot Framework tokens for its app id)."""
    template = load_template(ROOT / "template.yaml")
    resources = template["Resources"]
    urls = [k for k, r in resources.items() if r["Type"] == "AWS::Lambda::Url"]
    assert urls and all(resources[k].get("Condition") == "HasTrackUrl" for k in urls)
    assert template["Conditions"]["HasTrackUrl"] == {
        "Fn::Or": [
            {"Condition": "HasWebhookSecret"},
            {"Condition": "HasSlackSecret"},
            {"Condition": "HasTeams"},
        ]
    }
    assert template["Conditions"]["HasTeams"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "TeamsAppId"}, ""]}]
    }
    assert "FunctionUrlConfig" not in resources["TrackFunction"]["Properties"]
    assert template["Outputs"]["TicketWebhookUrl"]["Condition"] == "HasTrackUrl"


def test_no_execution_ends_without_a_human_unless_it_fixed_the_problem() -> None:
    """Every way out of the state machine other than a verified fix goes through a
    hand-over (or says why it left the alert to humans); the Fail state is reached only
    when even the hand-over after an unexpected error could not be written."""
    import json as _json

    asl = _json.loads((ROOT / "statemachine" / "remediation.asl.json").read_text())
    states = asl["States"]

    def targets(state: dict[str, object]) -> set[str]:
        out = {state["Next"]} if "Next" in state else set()
        out |= {c["Next"] for c in state.get("Catch", [])}
        out |= {c["Next"] for c in state.get("Choices", [])}
        return out | ({state["Default"]} if "Default" in state else set())

    into_fail = {name for name, s in states.items() if "RemediationFailed" in targets(s)}
    assert into_fail == {"RecordFailure", "HandOverAfterFailure", "HandOverBeforeSelection"}
    assert states["RecordFailure"]["Next"] == "EscalateAfterFailure"  # then a hand-over
    assert states["HandOverAfterFailure"]["Next"] == "HandedToHumans"
    assert states["HandOverBeforeSelection"]["Next"] == "HandedToHumans"
    ends = {name for name, s in states.items() if s["Type"] in ("Succeed", "Fail")}
    assert ends == {"HandedToHumans", "LeftToHumans", "LadderStopped", "RemediationFailed"}
    # A fix ends the execution in VerifyFix itself; anything else is its caught error.
    assert states["VerifyFix"].get("End") is True and "Next" not in states["VerifyFix"]
    [still_firing] = [c for c in states["VerifyFix"]["Catch"] if c["Next"] == "EscalateNotFixed"]
    assert still_firing["ErrorEquals"] == ["AlarmStillFiring"]


def test_a_failure_before_selection_is_still_handed_over() -> None:
    """A step failing before a runbook was selected (Diagnose under load) must reach the
    hand-over: no state on the failure path may read `$.selection` unguarded."""
    import json
    from pathlib import Path

    states = json.loads(
        (Path(__file__).resolve().parents[2] / "statemachine" / "remediation.asl.json").read_text()
    )["States"]
    name, seen = "RecordFailure", []
    while name not in ("HandedToHumans", "RemediationFailed") and name not in seen:
        seen.append(name)
        state = states[name]
        if state["Type"] == "Choice":
            guarded = [c for c in state["Choices"] if c.get("Variable") == "$.selection"]
            assert guarded and guarded[0].get("IsPresent") is True
            name = state["Default"]  # the branch taken when nothing was selected
            continue
        assert "$.selection" not in json.dumps(state.get("Parameters", {})), name
        name = state["Next"]
    assert name == "HandedToHumans", seen


def test_the_alarm_topic_admits_the_organization_only_when_one_is_named() -> None:
    """With OrganizationId, CloudWatch alarms of the organization's accounts may publish
    (aws:SourceOrgID) and encrypt for the topic; without it, no such statement exists."""
    from opslink_cli.emulator.template import Resolver, parameter_values

    template = load_template(ROOT / "template.yaml")
    pseudo = {"AWS::AccountId": "123456789012", "AWS::Region": "us-east-1",
              "AWS::Partition": "aws", "AWS::StackName": "opslink", "AWS::NoValue": None}  # fmt: skip
    resources = template["Resources"]

    def statements(params: dict[str, str]) -> list[dict[str, object]]:
        resolver = Resolver(template, parameter_values(template, params), pseudo)
        resolver.refs["AlarmTopic"] = "arn:aws:sns:us-east-1:123456789012:opslink-AlarmTopic"
        topic = resolver.resolve(resources["AlarmTopicPolicy"]["Properties"]["PolicyDocument"])
        key = resolver.resolve(resources["DataKey"]["Properties"]["KeyPolicy"])
        return [s for s in [*topic["Statement"], *key["Statement"]] if s]

    def org_scoped(found: list[dict[str, object]]) -> list[str]:
        return [str(s["Sid"]) for s in found if "aws:SourceOrgID" in str(s.get("Condition"))]

    assert org_scoped(statements({})) == []
    named = statements({"OrganizationId": "o-a1b2c3d4e5"})
    assert org_scoped(named) == [
        "CloudWatchAlarmsOfTheOrganization", "AlarmsOfTheOrganizationPublishToTheEncryptedTopics"]  # fmt: skip
    assert all(
        "o-a1b2c3d4e5" in str(s["Condition"]) for s in named if s["Sid"] in org_scoped(named)
    )
