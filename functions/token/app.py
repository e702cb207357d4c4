"""Token endpoints: obtain, rotate, and revoke (logout)."""

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field

from tickerwatch import accounts
from tickerwatch.runtime import get_database
from tickerwatch.settings import get_settings
from tickerwatch.web import create_app, lambda_handler, token_policy

get_settings()


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=accounts.USERNAME_MAX)
    password: str = Field(min_length=1, max_length=4096)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh: str = Field(min_length=1, max_length=4096)


class TokenPairOut(BaseModel):
    access: str
    refresh: str


app = create_app("tickerwatch token")


@app.post("/api/v1/token/", response_model=TokenPairOut)
def obtain(body: TokenRequest) -> TokenPairOut:
    pair = accounts.obtain_tokens(get_database(), token_policy(), body.username, body.password)
    return TokenPairOut(access=pair.access, refresh=pair.refresh)


@app.post("/api/v1/token/refresh/", response_model=TokenPairOut)
def refresh(body: RefreshRequest) -> TokenPairOut:
    pair = accounts.rotate_refresh_token(get_database(), token_policy(), body.refresh)
    return TokenPairOut(access=pair.access, refresh=pair.refresh)


@app.post("/api/v1/logout/", status_code=204, response_class=Response)
def logout(body: RefreshRequest) -> Response:
    accounts.logout(get_database(), token_policy(), body.refresh)
    return Response(status_code=204)


handler = lambda_handler(app)
