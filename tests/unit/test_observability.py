"""The Tracer exists only in Lambda with tracing on; every handler is instrumented the same way."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import sys
from tickerwatch.observability import instrument_http, tracer
from tickerwatch.events import LocalContext, http_api_event
reply = instrument_http(lambda event, context: {"statusCode": 204})(http_api_event("GET", "/x/"), LocalContext("x"))
print(tracer is not None, "aws_xray_sdk" in sys.modules, reply["statusCode"])
"""


def probe(**env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("AWS_LAMBDA_FUNCTION_NAME", "POWERTOOLS_TRACE_DISABLED")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env={**base, **env}, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_no_xray_import_outside_lambda():
    assert probe() == "False False 204"


def test_tracer_in_lambda_unless_disabled():
    assert probe(AWS_LAMBDA_FUNCTION_NAME="f") == "True True 204"
    assert probe(AWS_LAMBDA_FUNCTION_NAME="f", POWERTOOLS_TRACE_DISABLED="true") == "False False 204"
