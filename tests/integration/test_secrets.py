"""In AWS the secrets come from Secrets Manager (moto here), fetched once and cached."""

from __future__ import annotations

import boto3
from moto import mock_aws

from tickerwatch.runtime import resolve_database_url, resolve_jwt_secret
from tickerwatch.settings import load_settings


@mock_aws
def test_jwt_secret_and_database_url_come_from_secrets_manager(database_url):
    client = boto3.client("secretsmanager", region_name="us-east-1")
    jwt_arn = client.create_secret(Name="tw/jwt", SecretString="from-secrets-manager-0123456789")["ARN"]
    db_arn = client.create_secret(Name="tw/db", SecretString=database_url)["ARN"]
    settings = load_settings({"JWT_SECRET_ARN": jwt_arn, "DATABASE_URL_SECRET_ARN": db_arn})
    assert resolve_jwt_secret(settings) == "from-secrets-manager-0123456789"
    assert resolve_database_url(settings) == database_url


def test_local_secret_is_generated_once_and_kept(tmp_path):
    settings = load_settings({"TICKERWATCH_DATA_DIR": str(tmp_path)})
    first = resolve_jwt_secret(settings)
    assert len(first) >= 48
    assert resolve_jwt_secret(settings) == first
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600
