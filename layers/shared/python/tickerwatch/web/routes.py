"""Guarded routes: authentication, the body's checks and rate limits run before FastAPI reads and
validates the body, and a sync endpoint's answer is serialised in its own thread."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from tickerwatch import accounts
from tickerwatch.observability import log_context
from tickerwatch.runtime import get_database
from tickerwatch.web.auth import UserToRead, authenticate, current_user, user_id_verified_here
from tickerwatch.web.body import BODY_METHODS, read_body, refuse_nul_in_url
from tickerwatch.web.threads import in_thread


def _depends_on(dependant, call: Callable) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


class GuardedRoute(APIRoute):
    """A route whose guards run before FastAPI reads and validates the body."""

    def __init__(self, path: str, endpoint: Callable, **kwargs: Any) -> None:
        runs_in_thread = not inspect.iscoroutinefunction(endpoint)
        if runs_in_thread:
            endpoint = _serialised_in_its_thread(self, endpoint)
        super().__init__(path, endpoint, **kwargs)
        self.sets_response_fields = _takes_response(self.dependant)
        self.requires_auth = _depends_on(self.dependant, current_user)
        # A read whose endpoint runs in the thread pool and needs nothing but the user before it runs:
        # the token is verified on the event loop and the user read in the endpoint's own thread, one
        # hop to the pool instead of two.
        self.reads_user_in_endpoint = (
            self.requires_auth and runs_in_thread and self.methods <= {"GET", "HEAD"} and _only_user(self.dependant)
        )
        self.expects_json = self.body_field is not None
        self.discriminator, self.union_tags, self.not_applicable = _discriminated_union(self.body_field)
        self.function_name: str | None = None  # set by the local server, which serves every function

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def guarded(request: Request):
            if self.function_name:
                with log_context(function_name=self.function_name):
                    return await checked(request)
            return await checked(request)

        async def checked(request: Request):
            if self.reads_user_in_endpoint and (user_id := user_id_verified_here(request)) is not None:
                request.state.user = UserToRead(request, user_id)
            elif self.requires_auth:
                request.state.user = await in_thread(authenticate, request)
            refuse_nul_in_url(request)
            if request.method in BODY_METHODS:
                await read_body(request, self.expects_json)
            try:
                return await handler(request)
            except RequestValidationError as exc:
                if not self.union_tags:
                    raise
                raise RequestValidationError([self._untagged(e) for e in exc.errors()]) from None

        return guarded

    def _untagged(self, error: dict[str, Any]) -> dict[str, Any]:
        """Report a discriminated body's errors under the request's field names, not the union's tag."""
        loc = tuple(error.get("loc", ()))
        if error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
            if error["type"] == "union_tag_not_found":
                return {**error, "loc": ("body", self.discriminator), "type": "missing"}
            expected = ", ".join(sorted(self.union_tags))
            return {**error, "loc": ("body", self.discriminator), "msg": f"Must be one of: {expected}."}
        if len(loc) > 2 and loc[0] == "body" and loc[1] in self.union_tags:
            if error.get("type") == "none_required":
                return {**error, "loc": ("body", *loc[2:]), "msg": self.not_applicable.format(tag=loc[1])}
            return {**error, "loc": ("body", *loc[2:])}
        return error


def _serialised_in_its_thread(route: GuardedRoute, endpoint: Callable) -> Callable:
    """A sync endpoint whose answer is exactly its route's response model is serialised where it ran.
    FastAPI would validate that model again in another hop to the thread pool (a no-op for an instance
    of the model's own class) before serialising it: about 0.6 ms for a page of 20 alerts. Anything
    else (a dict, a Response, a route that sets its status or headers through a Response parameter) goes
    FastAPI's way. The endpoint runs in ``in_thread``'s pool, not FastAPI's (the wrapper is async)."""

    def serialised_here(*args: Any, **kwargs: Any) -> Any:
        for name, value in kwargs.items():
            if type(value) is UserToRead:
                kwargs[name] = value.request.state.user = accounts.token_user(get_database(), value.user_id)
        answer = endpoint(*args, **kwargs)
        field = route.response_field
        if field is None or route.sets_response_fields or not _is_exactly(answer, route.response_model):
            return answer
        body = field.serialize_json(
            answer,
            include=route.response_model_include,
            exclude=route.response_model_exclude,
            by_alias=route.response_model_by_alias,
            exclude_unset=route.response_model_exclude_unset,
            exclude_defaults=route.response_model_exclude_defaults,
            exclude_none=route.response_model_exclude_none,
        )
        return Response(body, status_code=route.status_code or 200, media_type="application/json")

    @functools.wraps(endpoint)
    async def serialised(*args: Any, **kwargs: Any) -> Any:
        return await in_thread(serialised_here, *args, **kwargs)

    return serialised


def collaborator(provider: Callable) -> Callable:
    """Marks a dependency that only hands over a collaborator (the database, market data): it reads
    nothing of the request or the user, so a read needing it still reads the user in its endpoint."""
    provider.hands_over_a_collaborator = True  # type: ignore[attr-defined]
    return provider


def _only_user(dependant) -> bool:
    """Whether the user is the endpoint's only dependency beside collaborators (one that read it
    before the endpoint ran would get a ``UserToRead``)."""
    return all(
        (d.call is current_user or getattr(d.call, "hands_over_a_collaborator", False)) and not d.dependencies
        for d in dependant.dependencies
    )


def _takes_response(dependant) -> bool:
    """Whether the endpoint or any of its dependencies sets the status or headers through a Response
    parameter, which FastAPI merges only into an answer it serialises itself."""
    return bool(dependant.response_param_name) or any(_takes_response(d) for d in dependant.dependencies)


def _is_exactly(answer: Any, model: Any) -> bool:
    """An instance of the model class itself, or a list of them for ``list[Model]``."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        return type(answer) is model
    if typing.get_origin(model) is list and isinstance(answer, list):
        (item,) = typing.get_args(model)
        return isinstance(item, type) and issubclass(item, BaseModel) and all(type(a) is item for a in answer)
    return False


# What a member of a discriminated body may say of a field its kind does not take (a ClassVar).
NOT_APPLICABLE = "not_applicable"


def _discriminated_union(body_field: Any) -> tuple[str | None, set[str], str]:
    """The discriminator and its tags when the body is a union discriminated by a field, and how to
    say that a field does not apply to one of them (the members' ``not_applicable``, with ``{tag}``)."""
    info = getattr(body_field, "field_info", None)
    discriminator = getattr(info, "discriminator", None)
    if not isinstance(discriminator, str):
        return None, set(), ""
    tags = set()
    members = typing.get_args(info.annotation)
    for member in members:
        tag_field = getattr(member, "model_fields", {}).get(discriminator)
        if tag_field is not None:
            tags |= set(typing.get_args(tag_field.annotation))
    said = next((getattr(m, NOT_APPLICABLE) for m in members if hasattr(m, NOT_APPLICABLE)), None)
    return discriminator, tags, said or f"This field does not apply when {discriminator} is {{tag}}."
