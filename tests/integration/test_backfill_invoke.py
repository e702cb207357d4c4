"""In AWS the predict function backfills by invoking fetch_prices (botocore's Stubber checks the call)."""

from __future__ import annotations

import io
import json

import boto3
from botocore.response import StreamingBody
from botocore.stub import Stubber

from tickerwatch import runtime


def payload(data: dict) -> StreamingBody:
    raw = json.dumps(data).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def test_backfill_invokes_fetch_prices_and_reads_its_result(monkeypatch):
    client = boto3.client("lambda", region_name="us-east-1")
    monkeypatch.setattr(boto3, "client", lambda *a, **k: client)
    backfill = runtime._invoke_fetch_prices("tickerwatch-prod-FetchPrices")
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 200, "Payload": payload({"succeeded": ["AAPL"], "failed": {}, "bars_written": 2515})},
            {
                "FunctionName": "tickerwatch-prod-FetchPrices",
                "InvocationType": "RequestResponse",
                "Payload": json.dumps({"tickers": ["AAPL"], "backfill": True}).encode(),
            },
        )
        stub.add_response(
            "invoke",
            {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": payload({"errorMessage": "timed out"})},
        )
        assert backfill("AAPL")["succeeded"] == ["AAPL"]
        assert backfill("MSFT") == {"succeeded": [], "failed": {"MSFT": "fetch_prices failed: timed out"}}
