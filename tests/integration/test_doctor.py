"""`opslink doctor`: the local stack passes every check; a deployed stack (its resources
created in moto exactly as the SAM translator describes them) passes, and each way a
deployment drifts from the checklist fails the check that names it, with exit status 1."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from opslink_cli.doctor import run_checks
from opslink_cli.doctor_deployment import from_stack
from opslink_cli.iam_review import roles_from_template, stack_resolver, transformed_template
from tests.conftest import ROOT
from tests.integration.contract_servers import json_response, serve
from tests.integration.ticket_servers import GitHubApi

REGION, ACCOUNT = "us-east-1", "123456789012"


def opslink(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opslink_cli.main", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_the_local_stack_passes_every_check() -> None:
    done = opslink("doctor", "--local", "--output", "json")
    assert done.returncode == 0, done.stderr
    checks = {c["check"]: c for c in json.loads(done.stdout)}
    assert {c["status"] for c in checks.values()} == {"pass"}
    for name in ("least-privilege", "audit-trail", "encryption", "tls", "retries-timeouts",
                 "dead-letter-queues", "self-alarms", "runbook-catalog", "ticket-system",
                 "job-platform"):  # fmt: skip
        assert name in checks
    assert "bash -n" in checks["runbook-catalog"]["evidence"]


def test_a_runbook_script_with_a_syntax_error_fails_the_doctor(tmp_path: Path) -> None:
    catalog = tmp_path / "runbooks"
    shutil.copytree(ROOT / "runbooks", catalog)
    (catalog / "scripts" / "clear_cache.sh").write_text("#!/bin/bash\nif true; then\necho x\n")
    done = opslink(
        "doctor", "--local", "--no-probes", "--catalog", str(catalog), "--output", "json"
    )
    assert done.returncode == 1
    [row] = [c for c in json.loads(done.stdout) if c["check"] == "runbook-catalog"]
    assert row["status"] == "fail" and "clear_cache.sh" in row["evidence"]


def test_an_empty_catalog_fails_the_doctor(tmp_path: Path) -> None:
    (tmp_path / "runbooks").mkdir()
    done = opslink("doctor", "--local", "--no-probes", "--catalog", str(tmp_path / "runbooks"),
                   "--output", "json")  # fmt: skip
    assert done.returncode == 1
    [row] = [c for c in json.loads(done.stdout) if c["check"] == "runbook-catalog"]
    assert row["status"] == "fail" and "no runbooks" in row["evidence"]


# -- a deployed stack, in moto ---------------------------------------------------------


class Deployed:
    """The transformed template's roles, functions, tables, topics, queues and alarms
    created in moto; `resources` maps logical ids as CloudFormation would."""

    def __init__(
        self,
        parameters: dict[str, str],
        track_env: dict[str, str],
        remediate_env: dict[str, str] | None = None,
    ) -> None:
        self.resources: dict[str, tuple[str, str]] = {}
        self.dead_letters: dict[str, str] = {}  # moto does not keep DeadLetterConfig
        cfn = transformed_template(ROOT, ROOT / ".venv-sam" / "bin" / "python", parameters)
        resolver = stack_resolver(cfn, parameters, "opslink", REGION, ACCOUNT)
        self.iam = boto3.client("iam", region_name=REGION)
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole"}]})  # fmt: skip
        for role in roles_from_template(cfn, resolver):
            self.iam.create_role(RoleName=f"opslink-{role.name}", AssumeRolePolicyDocument=trust)
            doc = {"Version": "2012-10-17", "Statement": [
                {"Effect": s.effect, "Action": list(s.actions), "Resource": list(s.resources),
                 **({"Condition": dict(s.condition)} if s.condition else {})}
                for s in role.statements]}  # fmt: skip
            self.iam.put_role_policy(
                RoleName=f"opslink-{role.name}", PolicyName="p", PolicyDocument=json.dumps(doc)
            )
            for arn in role.managed:
                self.iam.attach_role_policy(RoleName=f"opslink-{role.name}", PolicyArn=arn)
            self.resources[role.name] = ("AWS::IAM::Role", f"opslink-{role.name}")
        props = {k: resolver.resolve(v.get("Properties", {})) for k, v in cfn["Resources"].items()}
        kinds = {k: v["Type"] for k, v in cfn["Resources"].items()}
        ddb, sns, sqs = (boto3.client(s, region_name=REGION) for s in ("dynamodb", "sns", "sqs"))
        key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["KeyId"]
        for name, kind in kinds.items():
            p = props[name]
            if kind == "AWS::DynamoDB::Table":
                ddb.create_table(TableName=f"opslink-{name}", KeySchema=p["KeySchema"],
                                 AttributeDefinitions=p["AttributeDefinitions"],
                                 GlobalSecondaryIndexes=p["GlobalSecondaryIndexes"],
                                 BillingMode="PAY_PER_REQUEST",
                                 SSESpecification={"Enabled": True, "SSEType": "KMS",
                                                   "KMSMasterKeyId": key})  # fmt: skip
                ddb.update_continuous_backups(
                    TableName=f"opslink-{name}",
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                )
                self.resources[name] = (kind, f"opslink-{name}")
            elif kind == "AWS::SNS::Topic":
                arn = sns.create_topic(Name=f"opslink-{name}",
                                       Attributes={"KmsMasterKeyId": key})["TopicArn"]  # fmt: skip
                self.resources[name] = (kind, arn)
            elif kind == "AWS::SQS::Queue":
                url = sqs.create_queue(QueueName=f"opslink-{name}",
                                       Attributes={"KmsMasterKeyId": key})["QueueUrl"]  # fmt: skip
                self.resources[name] = (kind, url)
            elif kind == "AWS::Events::Rule":  # the schedules (nothing to create in moto)
                self.resources[name] = (kind, f"opslink-{name}")
            elif kind == "AWS::CloudWatch::Alarm":
                boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(
                    AlarmName=f"opslink-{name}", MetricName="m", Namespace="n", Statistic="Sum",
                    Period=60, EvaluationPeriods=1, Threshold=0,
                    ComparisonOperator="GreaterThanThreshold")  # fmt: skip
                self.resources[name] = (kind, f"opslink-{name}")
        lam = boto3.client("lambda", region_name=REGION)
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as zf:
            zf.writestr("h.py", "def h(e, c): return e")
        for name, kind in kinds.items():
            if kind != "AWS::Lambda::Function":
                continue
            p = props[name]
            env = {k: str(v) for k, v in p["Environment"]["Variables"].items()}
            if name == "TrackFunction":
                env |= track_env
            if name == "RemediateFunction":
                env |= remediate_env or {}
            self.dead_letters[f"opslink-{name}"] = p.get("DeadLetterConfig", {}).get(
                "TargetArn", ""
            )
            role = self.iam.get_role(RoleName=f"opslink-{name}Role")["Role"]["Arn"]
            lam.create_function(FunctionName=f"opslink-{name}", Runtime="python3.12", Role=role,
                                Handler="h.h", Code={"ZipFile": code.getvalue()},
                                Timeout=int(p.get("Timeout", 30)),
                                Environment={"Variables": env})  # fmt: skip
            self.resources[name] = (kind, f"opslink-{name}")

    def check(self) -> dict[str, dict[str, str]]:
        args = argparse.Namespace(profile=None, region=REGION, endpoint_url=None,
                                  stack_name="opslink")  # fmt: skip
        session = boto3.Session(region_name=REGION)

        def dead_letter(parsed: dict[str, Any], **_: Any) -> None:  # as Lambda returns it
            if self.dead_letters.get(parsed.get("FunctionName", "")):
                parsed["DeadLetterConfig"] = {
                    "TargetArn": self.dead_letters[parsed["FunctionName"]]
                }

        session.events.register("after-call.lambda.GetFunctionConfiguration", dead_letter)
        deployment = from_stack(args, session, self.resources)
        checks = run_checks(deployment, ROOT / "runbooks")
        return {c.check: {"status": c.status, "evidence": c.evidence} for c in checks}


@pytest.fixture
def github() -> Iterator[tuple[GitHubApi, str]]:
    app = GitHubApi()
    app.routes = [*app.routes, ("GET", r"/repos/acme/ops", "repo")]
    app.repo = lambda body, query="": json_response(200, {"full_name": "acme/ops"})  # type: ignore[attr-defined]
    with serve(app) as url:
        yield app, url


def test_a_deployed_stack_passes_and_each_drift_fails_its_check(
    github: tuple[GitHubApi, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, url = github
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # SAM attaches two
    with mock_aws():
        sm = boto3.client("secretsmanager", region_name=REGION)
        sm.create_secret(Name="opslink/tickets", SecretString='{"token": "gh-token"}')
        params = {"TicketProvider": "github", "TicketCredentialsSecret": "opslink/tickets"}
        track_env = {"TICKET_BASE_URL": url, "TICKET_PROJECT": "acme/ops"}
        deployed = Deployed(params, track_env)
        got = deployed.check()
        failing = {k: v for k, v in got.items() if v["status"] == "fail"}
        assert failing == {}, failing
        assert got["secret opslink/tickets"]["status"] == "warn"  # no rotation configured
        assert "credentials accepted" in got["ticket-system"]["evidence"]
        assert app.requests[-1].path == "/repos/acme/ops"

        # Drift: a broad statement, a function without its DLQ, a plain-http URL.
        deployed.iam.put_role_policy(
            RoleName="opslink-TrackFunctionRole",
            PolicyName="added-by-hand",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sns:*", "Resource": "*"}]}),
        )  # fmt: skip
        lam = boto3.client("lambda", region_name=REGION)
        deployed.dead_letters["opslink-MetricsFunction"] = ""  # its DLQ removed
        env = lam.get_function_configuration(FunctionName="opslink-RemediateFunction")
        variables = env["Environment"]["Variables"] | {"RUNDECK_URL": "http://rundeck.corp:4440"}
        lam.update_function_configuration(FunctionName="opslink-RemediateFunction",
                                          Environment={"Variables": variables})  # fmt: skip
        sm.put_secret_value(SecretId="opslink/tickets", SecretString='{"token": "revoked"}')
        got = deployed.check()
        failing = {k for k, v in got.items() if v["status"] == "fail"}
        assert failing == {"least-privilege", "dead-letter-queues", "tls", "ticket-system"}
        assert "sns:*" in got["least-privilege"]["evidence"]
        assert "MetricsFunction" in got["dead-letter-queues"]["evidence"]
        assert "http://rundeck.corp:4440" in got["tls"]["evidence"]
        assert "401" in got["ticket-system"]["evidence"]
        assert "revoked" not in json.dumps(got)  # the secret value is never shown


def test_the_doctor_tells_a_kpi_fold_that_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not run yet: a warning (figures stay exact); behind by hours: a failure naming the
    dead-letter queue; caught up: a pass; its schedule removed: a failure."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    with mock_aws():
        deployed = Deployed({}, {})
        assert deployed.check()["kpi-fold"]["status"] == "warn"
        ddb = boto3.client("dynamodb", region_name=REGION)

        def fold_reached(ago: timedelta) -> dict[str, str]:
            at = (datetime.now(UTC) - ago).isoformat()
            ddb.put_item(TableName="opslink-AlertsTable", Item={
                "pk": {"S": "CHECKPOINT"}, "sk": {"S": "kpi-fold"},
                "through": {"S": f"{at}#A-1#alert_opened"}})  # fmt: skip
            return deployed.check()["kpi-fold"]

        stale = fold_reached(timedelta(hours=6))
        assert stale["status"] == "fail" and "360 min behind" in stale["evidence"]
        assert fold_reached(timedelta(minutes=70))["status"] == "pass"
        del deployed.resources["TrackFunctionKpiFold"]
        assert deployed.check()["kpi-fold"]["status"] == "fail"


def test_the_doctor_signs_the_teams_bot_in_and_names_a_refused_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With Teams configured, `opslink doctor` checks the bot's secret and that the bot
    signs in (nothing posted); a changed client secret fails the chat check, never shown."""
    from opslink_cli.emulator.teams import APP_ID, APP_PASSWORD, LocalTeams

    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    teams = LocalTeams().start()
    try:
        with mock_aws():
            sm = boto3.client("secretsmanager", region_name=REGION)
            sm.create_secret(Name="opslink/teams-bot", SecretString=APP_PASSWORD)
            params = {"TeamsAppId": APP_ID, "TeamsAppPasswordSecretName": "opslink/teams-bot",
                      "TeamsConversation": "19:ops@thread.tacv2"}  # fmt: skip
            deployed = Deployed(params, {}, teams.environment())
            got = deployed.check()
            assert got["chat"]["status"] == "pass", got["chat"]
            assert f"Teams: bot {APP_ID} signs in" in got["chat"]["evidence"]
            assert got["secret opslink/teams-bot"]["status"] == "warn"  # readable, no rotation
            assert teams.messages == []  # nothing posted
            sm.put_secret_value(SecretId="opslink/teams-bot", SecretString="rotated-elsewhere")
            got = deployed.check()
            assert (
                got["chat"]["status"] == "fail" and "refused: HTTP 401" in got["chat"]["evidence"]
            )
            assert "rotated-elsewhere" not in json.dumps(got)
    finally:
        teams.stop()


def test_the_doctor_names_an_awx_template_that_would_ignore_the_hosts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AWX ignores the limit of a template that does not prompt for it on launch, and the
    job runs on the template's whole inventory: `opslink doctor` reads every mapped
    template's launch requirements and fails the job-platform check naming it."""
    from tests.integration.contract_servers import AwxApi

    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    app = AwxApi()
    with serve(app) as url, mock_aws():
        sm = boto3.client("secretsmanager", region_name=REGION)
        sm.create_secret(Name="opslink/awx", SecretString="secret-token")
        params = {"JobPlatform": "awx", "JobPlatformTokenSecret": "opslink/awx",
                  "AwxUrl": url, "AwxTemplates": json.dumps({"restart_service": 7})}  # fmt: skip
        deployed = Deployed(params, {}, {"AWX_URL": url})
        got = deployed.check()
        assert got["job-platform"]["status"] == "pass", got["job-platform"]
        assert "[7] prompt on launch for Limit and Variables" in got["job-platform"]["evidence"]
        app.prompts["ask_limit_on_launch"] = False  # someone edited the template
        got = deployed.check()
        assert got["job-platform"]["status"] == "fail"
        assert "template 7 does not prompt on launch for Limit" in got["job-platform"]["evidence"]
        assert app.jobs == {}  # read only: nothing launched


def test_the_doctor_reaches_aap_through_its_gateway_and_names_a_url_without_its_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AAP 2.5+ serves the controller's API through its platform gateway at
    /api/controller/v2/: an AwxUrl naming the gateway with that path passes; the gateway
    alone fails the job-platform check, saying what to set."""
    from tests.integration.contract_servers import AapGatewayApi

    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    app = AapGatewayApi()
    with serve(app) as url:
        for awx_url, status in ((f"{url}/api/controller/", "pass"), (url, "fail")):
            with mock_aws():
                sm = boto3.client("secretsmanager", region_name=REGION)
                sm.create_secret(Name="opslink/awx", SecretString="secret-token")
                params = {"JobPlatform": "awx", "JobPlatformTokenSecret": "opslink/awx",
                          "AwxUrl": awx_url, "AwxTemplates": json.dumps({"restart_service": 7})}  # fmt: skip
                got = Deployed(params, {}, {"AWX_URL": awx_url}).check()["job-platform"]
            assert got["status"] == status, got
        assert "/api/controller/" in got["evidence"] and "AAP 2.5+" in got["evidence"]
        assert app.jobs == {}  # read only: nothing launched


def test_the_doctor_names_a_rundeck_job_that_would_run_on_the_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Rundeck job that does not dispatch to nodes runs on the Rundeck server itself; one
    without the OPSLINK_RUN_ID option hides a lost launch's job from the lookup: `opslink
    doctor` reads every mapped job's definition and fails the job-platform check naming it."""
    from tests.integration.contract_servers import RundeckApi

    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    app = RundeckApi()
    job = "3b4c5d6e-0000-4000-8000-000000000001"
    with serve(app) as url, mock_aws():
        sm = boto3.client("secretsmanager", region_name=REGION)
        sm.create_secret(Name="opslink/rundeck", SecretString="secret-token")
        params = {"JobPlatform": "rundeck", "JobPlatformTokenSecret": "opslink/rundeck",
                  "RundeckUrl": url, "RundeckJobs": json.dumps({"restart_service": job})}  # fmt: skip
        deployed = Deployed(params, {}, {"RUNDECK_URL": url})
        got = deployed.check()
        assert got["job-platform"]["status"] == "pass", got["job-platform"]
        assert "dispatch to nodes and define the OPSLINK_RUN_ID" in got["job-platform"]["evidence"]
        app.dispatch = False  # someone switched it to "Execute locally"
        got = deployed.check()
        assert got["job-platform"]["status"] == "fail"
        assert "would run on the Rundeck server itself" in got["job-platform"]["evidence"]
        app.dispatch, app.options = True, {"SERVICE"}
        assert "option(s) OPSLINK_RUN_ID" in deployed.check()["job-platform"]["evidence"]
        assert app.executions == {}  # read only: nothing run
