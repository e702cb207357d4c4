"""POST /api/v1/register/: create an account."""

from typing import Annotated

from fastapi import Depends
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, field_validator

from tickerwatch import accounts
from tickerwatch.runtime import get_database
from tickerwatch.settings import get_settings
from tickerwatch.web import create_app, documented_errors, lambda_handler, password_hasher, throttle

get_settings()  # fail at cold start on bad configuration


class RegisterRequest(BaseModel):
    """The schema states the rules; the domain checks them, in Django's words (a Django REST frontend
    shows "This password is too short. ...", not pydantic's "String should have at least 8 characters")."""

    model_config = ConfigDict(extra="forbid", strict=True)
    username: Annotated[
        str,
        Field(
            description="Letters, digits and @ . + - _; compared after Unicode NFKC normalisation and case folding;"
            " letters of Latin, Cyrillic and Greek may not be mixed.",
            json_schema_extra={
                "minLength": accounts.USERNAME_MIN,
                "maxLength": accounts.USERNAME_MAX,
                "pattern": accounts.USERNAME_PATTERN,
            },
        ),
    ]
    email: EmailStr
    password: Annotated[
        str,
        Field(
            description="At least 8 characters, not entirely numeric, not the username.",
            json_schema_extra={
                "minLength": accounts.PASSWORD_MIN,
                "maxLength": accounts.PASSWORD_MAX,
                "not": {"pattern": "^[0-9]*$"},
            },
        ),
    ]

    # Beside the other fields' errors (a bad email and a short password are reported together), in
    # the domain's words; the domain checks again before it stores anything.
    @field_validator("username")
    @classmethod
    def _username_rules(cls, username: str) -> str:
        problems = accounts.username_problems(username)
        if problems:
            raise ValueError(" ".join(problems))
        return username

    @field_validator("password")
    @classmethod
    def _password_rules(cls, password: str, info: ValidationInfo) -> str:
        problems = accounts.password_problems(password, info.data.get("username", ""))
        if problems:
            raise ValueError(" ".join(problems))
        return password


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
def register(body: RegisterRequest) -> UserOut:
    user = accounts.register(get_database(), password_hasher(), body.username, str(body.email), body.password)
    return UserOut(id=user.id, username=user.username, email=user.email)


handler = lambda_handler(app)
