"""Publishing to AWS AppSync Events over HTTP (``POST https://{http domain}/event``), signed with
the function's IAM role (SigV4, service ``appsync``); the local server's emulation takes the same
requests. One channel per request and at most five events each, as the service allows; the requests
of one batch go out in parallel over kept-alive connections."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

from tickerwatch.live import LiveEvent
from tickerwatch.observability import logger, metrics

MAX_EVENTS_PER_REQUEST = 5
PARALLEL_REQUESTS = 16


class AppSyncEventsPublisher:
    def __init__(self, http_url: str, region: str | None = None, timeout_seconds: float = 3.0):
        self.http_url = http_url
        self.region = region
        self.timeout_seconds = timeout_seconds

    @cached_property
    def _workers(self) -> ThreadPoolExecutor:
        # kept for the publisher's life: starting threads for every batch cost more than the requests
        return ThreadPoolExecutor(PARALLEL_REQUESTS, thread_name_prefix="live-publish")

    @cached_property
    def _pool(self):
        import urllib3

        return urllib3.PoolManager(maxsize=PARALLEL_REQUESTS, retries=urllib3.Retry(total=1, backoff_factor=0.1))

    @cached_property
    def _credentials(self):
        """The function's IAM credentials (None locally, where nothing signs: the emulation takes
        publishes from this machine only)."""
        if not self.region:
            return None
        import botocore.session

        return botocore.session.get_session().get_credentials()

    def _headers(self, body: bytes) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        credentials = self._credentials
        if credentials is None:
            return headers
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method="POST", url=self.http_url, data=body, headers=headers)
        SigV4Auth(credentials.get_frozen_credentials(), "appsync", self.region).add_auth(request)
        return dict(request.headers.items())

    def _post(self, channel: str, payloads: list[dict]) -> int:
        body = json.dumps({"channel": channel, "events": [json.dumps(p) for p in payloads]}).encode()
        try:
            reply = self._pool.request(
                "POST", self.http_url, body=body, headers=self._headers(body), timeout=self.timeout_seconds
            )
        except Exception as exc:  # the change is committed; a reconnecting client reloads it
            logger.warning("live event not published", extra={"channel": channel, "error": str(exc)})
            return 0
        if reply.status != 200:
            logger.warning("live event refused", extra={"channel": channel, "status": reply.status})
            return 0
        answer = json.loads(reply.data or b"{}")
        return len(answer.get("successful", []))

    def publish(self, events: list[LiveEvent]) -> int:
        if not events:
            return 0
        by_channel: dict[str, list[dict]] = {}
        for event in events:
            by_channel.setdefault(event.channel, []).append(event.payload)
        requests = [
            (channel, payloads[i : i + MAX_EVENTS_PER_REQUEST])
            for channel, payloads in by_channel.items()
            for i in range(0, len(payloads), MAX_EVENTS_PER_REQUEST)
        ]
        if len(requests) == 1:
            sent = self._post(*requests[0])
        else:
            sent = sum(self._workers.map(lambda r: self._post(*r), requests))
        metrics.add_metric(name="LiveEventsPublished", unit="Count", value=sent)
        if sent < len(events):
            metrics.add_metric(name="LiveEventsLost", unit="Count", value=len(events) - sent)
        return sent
