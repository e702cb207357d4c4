"""Rotating the JWT signing key in Secrets Manager: the four steps of its rotation protocol.

Secrets Manager calls the rotation function once per step with the new version's id (the
`ClientRequestToken`), and retries a step that failed, so each step is idempotent. After
`finishSecret` the new key is AWSCURRENT (new tokens are signed with it) and the old one
AWSPREVIOUS (tokens it signed are still accepted until they expire).
"""

from __future__ import annotations

from typing import Any

from tickerwatch.observability import logger

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
KEY_LENGTH = 64
MIN_KEY_LENGTH = 32  # HS256 keys shorter than the hash output weaken it (RFC 7518, 3.2)


class RotationError(RuntimeError):
    """The rotation cannot go on; Secrets Manager marks it failed and keeps the current key."""


def rotate_step(client: Any, secret_id: str, token: str, step: str) -> None:
    if step not in STEPS:
        raise RotationError(f"unknown rotation step {step!r}")
    stages = client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
    if "AWSCURRENT" in stages.get(token, []):
        logger.info("rotation already finished", extra={"step": step, "version": token})
        return
    if step != "createSecret" and "AWSPENDING" not in stages.get(token, []):
        raise RotationError(f"version {token} of the signing key is not pending rotation")
    {"createSecret": _create, "setSecret": _set, "testSecret": _test, "finishSecret": _finish}[step](
        client, secret_id, token, stages
    )
    logger.info("rotation step done", extra={"step": step, "version": token})


def _create(client, secret_id, token, stages) -> None:
    client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")  # there must be a key to rotate
    try:
        client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage="AWSPENDING")
        return  # a retried step: the pending key exists already and must not change
    except client.exceptions.ResourceNotFoundException:
        pass
    key = client.get_random_password(PasswordLength=KEY_LENGTH, ExcludePunctuation=True)["RandomPassword"]
    client.put_secret_value(
        SecretId=secret_id, ClientRequestToken=token, SecretString=key, VersionStages=["AWSPENDING"]
    )


def _set(client, secret_id, token, stages) -> None:
    """Nothing to do: no other system holds the key; the API reads it from the secret."""


def _test(client, secret_id, token, stages) -> None:
    key = client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage="AWSPENDING")["SecretString"]
    if len(key) < MIN_KEY_LENGTH:
        raise RotationError(f"the pending signing key has {len(key)} characters; at least {MIN_KEY_LENGTH} are needed")


def _finish(client, secret_id, token, stages) -> None:
    current = next((version for version, labels in stages.items() if "AWSCURRENT" in labels), None)
    # Moving AWSCURRENT makes Secrets Manager label the old version AWSPREVIOUS.
    client.update_secret_version_stage(
        SecretId=secret_id, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current
    )
