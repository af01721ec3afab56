"""The CLI's options as the AWS CLI's users expect them: environment variables, colour
only on a terminal and never with NO_COLOR, output formats and JMESPath queries."""

from __future__ import annotations

import argparse
import io
import json
from typing import Any

import pytest

from opslink_cli.cli_args import UsageError, build_parser
from opslink_cli.main import _environment_defaults
from opslink_cli.render import emit, style_from


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_global_options_before_or_after_the_command() -> None:
    parser = build_parser()
    before = parser.parse_args(["--output", "json", "--region", "eu-west-1", "alerts", "list"])
    after = parser.parse_args(["alerts", "list", "--output", "json", "--region", "eu-west-1"])
    for args in (before, after):
        assert (args.output, args.region, args.limit) == ("json", "eu-west-1", 50)
    assert parser.parse_args(["alerts", "list"]).output == "table"


def test_aws_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5055/")
    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")
    args = build_parser().parse_args(["alerts", "list"])
    _environment_defaults(args)
    assert (args.endpoint_url, args.region) == ("http://127.0.0.1:5055", "ap-northeast-1")
    given = build_parser().parse_args(["alerts", "list", "--region", "us-east-2"])
    _environment_defaults(given)
    assert given.region == "us-east-2"  # the option wins over the environment
    monkeypatch.setenv("AWS_ENDPOINT_URL", "not a url")
    with pytest.raises(UsageError, match="AWS_ENDPOINT_URL"):
        _environment_defaults(build_parser().parse_args(["alerts", "list"]))


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"id": "OPS-1", "status": "open"}]
    args = argparse.Namespace(output="table", color="auto")
    monkeypatch.delenv("NO_COLOR", raising=False)
    tty = Tty()
    emit(rows, style_from(args, tty), tty, ("id", "status"))
    assert "\033[" in tty.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = Tty()
    emit(rows, style_from(args, plain), plain, ("id", "status"))
    assert "\033[" not in plain.getvalue()
    pipe = io.StringIO()
    monkeypatch.delenv("NO_COLOR")
    emit(rows, style_from(args, pipe), pipe, ("id", "status"))
    assert "\033[" not in pipe.getvalue()


def test_outputs_and_query() -> None:
    rows = [{"id": "OPS-1", "status": "open", "due_at": None}]
    out = io.StringIO()
    emit(rows, style_from(argparse.Namespace(output="table"), out), out, ("id", "due_at"))
    assert "None" not in out.getvalue()
    text = io.StringIO()
    emit(rows, style_from(argparse.Namespace(output="text"), text), text, ("id", "status"))
    assert text.getvalue() == "OPS-1\topen\n"
    queried = io.StringIO()
    emit(rows, style_from(argparse.Namespace(output="json", query="[].id"), queried), queried)
    assert json.loads(queried.getvalue()) == ["OPS-1"]
    yaml_out = io.StringIO()
    emit(rows[0], style_from(argparse.Namespace(output="yaml"), yaml_out), yaml_out)
    assert "id: OPS-1" in yaml_out.getvalue()
    wide = io.StringIO()
    long_row = [{"title": "x" * 200}]
    emit(long_row, style_from(argparse.Namespace(no_truncate=True), wide), wide, ("title",))
    assert "x" * 200 in wide.getvalue()


def test_text_output_is_the_aws_clis() -> None:
    """Scalars tab-separated, a list of scalars spread over its line, nested objects on
    their own lines named by their key in upper case, None printed as None."""

    def text(data: Any, columns: Any = None) -> str:
        out = io.StringIO()
        emit(data, style_from(argparse.Namespace(output="text"), out), out, columns)
        return out.getvalue()

    assert text(["A-1", "A-2", "A-3"]) == "A-1\tA-2\tA-3\n"
    assert text([{"id": "A-1", "hosts": ["i-1", "i-2"], "due": None}]) == "A-1\ti-1\ti-2\tNone\n"
    nested = {"alert_id": "A-1", "status": "open", "tickets": [{"id": "OPS-1", "kind": "own"}]}
    assert text(nested) == "A-1\topen\nTICKETS\tOPS-1\town\n"
    assert text({"alert_id": "A-1", "note": "two\nlines"}) == "A-1\ttwo lines\n"
