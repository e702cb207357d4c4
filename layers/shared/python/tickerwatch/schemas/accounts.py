"""Request and response models of accounts: registration, tokens and preferences.

Each function's `UserOut` stays in its app.py: the OpenAPI document names two models of one name by
their modules (`tickerwatch_function_account__UserOut`), and moving them would rename what clients use.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, field_validator

from tickerwatch import accounts


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


class PreferencesPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    email_notifications: bool
