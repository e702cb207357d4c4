"""POST /api/v1/register/: create an account."""

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from tickerwatch import accounts
from tickerwatch.runtime import get_database
from tickerwatch.settings import get_settings
from tickerwatch.web import create_app, lambda_handler

get_settings()  # fail at cold start on bad configuration


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(
        min_length=accounts.USERNAME_MIN, max_length=accounts.USERNAME_MAX, pattern=accounts.USERNAME_PATTERN
    )
    email: EmailStr
    password: str = Field(max_length=4096)


class UserOut(BaseModel):
    id: int
    username: str
    email: str


app = create_app("tickerwatch register")


@app.post("/api/v1/register/", status_code=201, response_model=UserOut)
def register(body: RegisterRequest) -> UserOut:
    user = accounts.register(get_database(), body.username, str(body.email), body.password)
    return UserOut(id=user.id, username=user.username, email=user.email)


handler = lambda_handler(app)
