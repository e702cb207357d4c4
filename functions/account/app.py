"""The signed-in user's own account: the protected view and notification preferences."""

from pydantic import BaseModel

from tickerwatch import accounts
from tickerwatch.data.users import User
from tickerwatch.dependencies import Db
from tickerwatch.schemas.accounts import (
    PreferencesPatch,
)
from tickerwatch.settings import get_settings
from tickerwatch.web import CurrentUser, create_app, lambda_handler

get_settings()


class UserOut(BaseModel):
    id: int
    username: str
    email: str
    email_notifications: bool

    @classmethod
    def of(cls, user: User) -> "UserOut":
        return cls(id=user.id, username=user.username, email=user.email, email_notifications=user.email_notifications)


class ProtectedOut(BaseModel):
    status: str
    user: UserOut


app = create_app("tickerwatch account")


# No I/O (the guard has loaded the user): served on the event loop, not in the thread pool.
@app.get("/api/v1/protected-view/", response_model=ProtectedOut)
async def protected_view(user: CurrentUser) -> ProtectedOut:
    return ProtectedOut(status="Request was permitted", user=UserOut.of(user))


@app.get("/api/v1/me/", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    return UserOut.of(user)


@app.patch("/api/v1/me/", response_model=UserOut)
def update_me(db: Db, body: PreferencesPatch, user: CurrentUser) -> UserOut:
    return UserOut.of(accounts.update_preferences(db, user.id, body.email_notifications))


handler = lambda_handler(app)
