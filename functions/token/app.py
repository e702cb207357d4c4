"""Token endpoints: obtain, refresh (rotate), and revoke (logout)."""

from fastapi import Depends, Request, Response

from tickerwatch import accounts
from tickerwatch.dependencies import Db
from tickerwatch.schemas.accounts import (
    RefreshOut,
    RefreshRequest,
    TokenPairOut,
    TokenRequest,
)
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


app = create_app("tickerwatch token")


@app.post("/api/v1/token/", response_model=TokenPairOut, responses=documented_errors(401, 429))
def obtain(db: Db, body: TokenRequest, request: Request) -> TokenPairOut:
    throttle_login(request, body.username)
    pair = accounts.obtain_tokens(db, token_policy(), password_hasher(), body.username, body.password)
    return TokenPairOut(access=pair.access, refresh=pair.refresh)


@app.post(
    "/api/v1/token/refresh/",
    response_model=RefreshOut,
    response_model_exclude_none=True,
    responses=documented_errors(401),
    dependencies=[Depends(throttle("refresh", "rate_limit_refresh_per_address"))],
)
def refresh(db: Db, body: RefreshRequest) -> RefreshOut:
    result = accounts.refresh_tokens(db, token_policy(), body.refresh)
    if isinstance(result, str):
        return RefreshOut(access=result)
    return RefreshOut(access=result.access, refresh=result.refresh)


@app.post("/api/v1/logout/", status_code=204, response_class=Response, responses=documented_errors(401))
def logout(db: Db, body: RefreshRequest) -> Response:
    accounts.logout(db, token_policy(), body.refresh)
    return Response(status_code=204)


handler = lambda_handler(app)
