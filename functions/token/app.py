"""Token endpoints: obtain, refresh (rotate), and revoke (logout)."""

from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from tickerwatch import accounts
from tickerwatch.runtime import get_database
from tickerwatch.settings import get_settings
from tickerwatch.web import (
    create_app,
    documented_errors,
    lambda_handler,
    password_hasher,
    throttle,
    throttle_login,
    token_policy,
)

get_settings()  # fail at cold start on bad configuration


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    username: Annotated[str, Field(min_length=1, max_length=accounts.USERNAME_MAX)]
    password: Annotated[str, Field(min_length=1, max_length=4096)]


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    refresh: Annotated[str, Field(min_length=1, max_length=4096)]


class TokenPairOut(BaseModel):
    access: str
    refresh: str


class RefreshOut(BaseModel):
    access: str
    refresh: str | None = Field(None, description="Absent when REFRESH_TOKEN_ROTATION=off: keep the one you have.")


app = create_app("tickerwatch token")


@app.post("/api/v1/token/", response_model=TokenPairOut, responses=documented_errors(401, 429))
def obtain(body: TokenRequest, request: Request) -> TokenPairOut:
    throttle_login(request, body.username)
    pair = accounts.obtain_tokens(get_database(), token_policy(), password_hasher(), body.username, body.password)
    return TokenPairOut(access=pair.access, refresh=pair.refresh)


@app.post(
    "/api/v1/token/refresh/",
    response_model=RefreshOut,
    response_model_exclude_none=True,
    responses=documented_errors(401),
    dependencies=[Depends(throttle("refresh", "rate_limit_refresh_per_address"))],
)
def refresh(body: RefreshRequest) -> RefreshOut:
    result = accounts.refresh_tokens(get_database(), token_policy(), body.refresh)
    if isinstance(result, str):
        return RefreshOut(access=result)
    return RefreshOut(access=result.access, refresh=result.refresh)


@app.post("/api/v1/logout/", status_code=204, response_class=Response, responses=documented_errors(401))
def logout(body: RefreshRequest) -> Response:
    accounts.logout(get_database(), token_policy(), body.refresh)
    return Response(status_code=204)


handler = lambda_handler(app)
