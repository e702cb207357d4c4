"""POST /api/v1/register/: create an account."""

from fastapi import Depends
from pydantic import BaseModel

from tickerwatch import accounts
from tickerwatch.dependencies import Db
from tickerwatch.schemas.accounts import (
    RegisterRequest,
)
from tickerwatch.settings import get_settings
from tickerwatch.web import create_app, documented_errors, lambda_handler, password_hasher, throttle

get_settings()  # fail at cold start on bad configuration


class UserOut(BaseModel):
    id: int
    username: str
    email: str


app = create_app("tickerwatch register")


@app.post(
    "/api/v1/register/",
    status_code=201,
    response_model=UserOut,
    responses=documented_errors(409),
    dependencies=[Depends(throttle("register", "rate_limit_register_per_address"))],
)
def register(db: Db, body: RegisterRequest) -> UserOut:
    user = accounts.register(db, password_hasher(), body.username, str(body.email), body.password)
    return UserOut(id=user.id, username=user.username, email=user.email)


handler = lambda_handler(app)
