"""Rotates the JWT signing key; invoked by Secrets Manager on the secret's rotation schedule."""

from functools import lru_cache

import boto3

from tickerwatch.key_rotation import rotate_step
from tickerwatch.observability import instrument_job


@lru_cache(maxsize=1)
def _client():
    return boto3.client("secretsmanager")


@instrument_job
def handler(event, context):
    rotate_step(_client(), event["SecretId"], event["ClientRequestToken"], event["Step"])
    return {"step": event["Step"], "version": event["ClientRequestToken"]}
