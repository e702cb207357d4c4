"""One Logger, Metrics and Tracer for the whole service, applied the same way everywhere.

Every function wraps its entry point with ``instrument_http`` or ``instrument_job``; the
domain code only logs through ``logger`` and counts through ``metrics``.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import jmespath
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "tickerwatch")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "tickerwatch")

# Logs go to stderr (CloudWatch takes both streams in Lambda), so that the command line's
# results on stdout stay machine-readable.
logger = Logger(service=SERVICE, logger_handler=logging.StreamHandler(sys.stderr))
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)
# Constructing a Tracer imports the X-Ray SDK and botocore (~270 ms) even when disabled, so
# outside Lambda, or with tracing turned off, there is no Tracer at all.
TRACING = "AWS_LAMBDA_FUNCTION_NAME" in os.environ and os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() not in (
    "1",
    "true",
)
tracer = Tracer(service=SERVICE) if TRACING else None

# Custom metrics that alarms in template.yaml watch (tests check that each has its alarm and that the
# code emits it). Dimension: service.
METRIC_THROTTLED = "Throttled"  # a request answered 429 by our own rate limits
METRIC_OLDEST_PENDING_NOTIFICATION_AGE = "OldestPendingNotificationAge"  # seconds, after each evaluator run
METRIC_FETCH_FAILED_SHARE = "FetchFailedShare"  # percent of the tickers a fetch_prices run asked for
ALARMED_METRICS = (METRIC_THROTTLED, METRIC_OLDEST_PENDING_NOTIFICATION_AGE, METRIC_FETCH_FAILED_SHARE)

LambdaHandler = Callable[[dict[str, Any], Any], Any]


def _cold_start_metric() -> bool:
    # Powertools emits the ColdStart metric even with POWERTOOLS_METRICS_DISABLED set.
    return os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() not in ("1", "true")


@contextmanager
def log_context(**keys: Any) -> Iterator[None]:
    """Keys on every log line of this invocation or request, and only of it.

    Powertools keeps these in a ContextVar, which the local server's worker threads inherit per
    request, so concurrent requests and scheduled runs in one process never lend each other their
    names (``append_keys``, which ``inject_lambda_context`` uses, is process-wide).
    """
    outer = dict(logger.thread_safe_get_current_keys())
    logger.thread_safe_append_keys(**keys)
    try:
        yield
    finally:
        logger.thread_safe_clear_keys()
        if outer:
            logger.thread_safe_append_keys(**outer)


_cold = {"start": True}


def _instrument(handler: LambdaHandler, correlation_id_path: str) -> LambdaHandler:
    handler = metrics.log_metrics(handler, capture_cold_start_metric=_cold_start_metric(), raise_on_empty_metrics=False)
    if tracer:
        handler = tracer.capture_lambda_handler(handler, capture_response=False)

    @functools.wraps(handler)
    def with_log_context(event: dict[str, Any], context: Any) -> Any:
        cold, _cold["start"] = _cold["start"], False
        try:
            correlation_id = jmespath.search(correlation_id_path, event) if isinstance(event, dict) else None
        except jmespath.exceptions.JMESPathError:
            correlation_id = None
        keys = {
            "function_name": getattr(context, "function_name", None),
            "function_request_id": getattr(context, "aws_request_id", None),
            "cold_start": cold,
            "correlation_id": correlation_id or str(uuid.uuid4()),
        }
        with log_context(**{k: v for k, v in keys.items() if v is not None}):
            return handler(event, context)

    return with_log_context


def instrument_http(handler: LambdaHandler) -> LambdaHandler:
    """API Gateway HTTP API (payload 2.0) entry point: correlation id from the request id."""
    return _instrument(handler, correlation_paths.API_GATEWAY_HTTP)


def instrument_job(handler: LambdaHandler) -> LambdaHandler:
    """Scheduled or directly invoked job: correlation id from the EventBridge event id."""
    return _instrument(handler, correlation_paths.EVENT_BRIDGE)
