"""HTTP handlers of the auth service, under ``/api/auth`` (the gateway also maps ``/auth``)."""

from __future__ import annotations

from datetime import datetime
from http.cookies import SimpleCookie
from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Response
from pydantic import BaseModel, Field

from shopmesh.auth.domain import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_MAX,
    USERNAME_MIN,
    USERNAME_PATTERN,
    RefreshRefused,
)
from shopmesh.auth.service import AuthService, SignedIn
from shopmesh.kit.app import CurrentUser, Dependency, error_responses

REFRESH_COOKIE = "shopmesh_refresh"

Username = Annotated[
    str,
    Field(
        min_length=USERNAME_MIN,
        max_length=USERNAME_MAX,
        pattern=USERNAME_PATTERN,
        description="3-50 characters: letters, digits, '_', '.', '-'; unique in any case",
        examples=["alice"],
    ),
]
Password = Annotated[
    str, Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX, examples=["correct-horse"])
]


class UserCreate(BaseModel):
    username: Username
    password: Password


class UserLogin(BaseModel):
    username: Username
    password: Password


class SessionPublic(BaseModel):
    """The signed-in user and an access token (send it as ``Authorization: Bearer <token>``)."""

    id: int
    username: str
    role: str
    token: str


class UserPublic(BaseModel):
    id: int
    username: str
    role: str
    created_at: datetime


AuthDependency = Dependency[AuthService]("auth")
Auth = Annotated[AuthService, Depends(AuthDependency)]
RefreshCookie = Annotated[
    str | None, Cookie(alias=REFRESH_COOKIE, description="set by register, login and refresh")
]

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=201,
    responses=error_responses({409: "username_taken: the name exists (in any case)"}),
)
async def register(body: UserCreate, auth: Auth, response: Response) -> SessionPublic:
    """Create an account and sign it in: an access token, and a refresh cookie."""
    signed_in = await auth.register(body.username, body.password)
    return _signed_in(signed_in, response, auth)


@router.post(
    "/login",
    responses=error_responses({401: "invalid_credentials: unknown user or wrong password (alike)"}),
)
async def login(body: UserLogin, auth: Auth, response: Response) -> SessionPublic:
    """Sign in (username in any case): an access token, and a refresh cookie."""
    signed_in = await auth.login(body.username, body.password)
    return _signed_in(signed_in, response, auth)


@router.get("/me", responses=error_responses({401: "no, invalid or expired access token"}))
async def me(principal: CurrentUser, auth: Auth) -> UserPublic:
    """The caller's account."""
    user = await auth.current_user(principal)
    return UserPublic(
        id=user.id, username=user.username, role=user.role, created_at=user.created_at
    )


@router.post(
    "/refresh",
    responses=error_responses(
        {401: "missing, expired, revoked or reused refresh cookie (it is cleared)"}
    ),
)
async def refresh(auth: Auth, response: Response, token: RefreshCookie = None) -> SessionPublic:
    """A new access token for the refresh cookie, which is replaced (each one works once).

    Presenting a refresh token that was already used revokes its whole session.
    """
    try:
        signed_in = await auth.refresh(token)
    except RefreshRefused as exc:
        exc.headers["set-cookie"] = _cookie("", max_age=0, secure=auth.settings.is_production)
        raise
    return _signed_in(signed_in, response, auth)


@router.post("/logout", status_code=204, response_class=Response)
async def logout(auth: Auth, token: RefreshCookie = None) -> Response:
    """End the refresh session of the cookie and clear it (harmless without one)."""
    await auth.logout(token)
    response = Response(status_code=204)
    response.headers["set-cookie"] = _cookie("", max_age=0, secure=auth.settings.is_production)
    return response


def _signed_in(signed_in: SignedIn, response: Response, auth: AuthService) -> SessionPublic:
    response.headers.append(
        "set-cookie",
        _cookie(
            signed_in.refresh_token,
            max_age=auth.settings.refresh_token_ttl_seconds,
            secure=auth.settings.is_production,
        ),
    )
    user = signed_in.user
    return SessionPublic(
        id=user.id, username=user.username, role=user.role, token=signed_in.access_token
    )


def _cookie(value: str, *, max_age: int, secure: bool) -> str:
    """The refresh cookie: script cannot read it, other sites cannot send it.

    Path ``/`` so it reaches both ``/auth/refresh`` and ``/api/auth/refresh`` on the gateway.
    """
    cookie: SimpleCookie = SimpleCookie()
    cookie[REFRESH_COOKIE] = value
    morsel = cookie[REFRESH_COOKIE]
    morsel["path"] = "/"
    morsel["max-age"] = max_age
    morsel["httponly"] = True
    morsel["samesite"] = "Strict"
    if secure:
        morsel["secure"] = True
    if max_age == 0:
        morsel["expires"] = "Thu, 01 Jan 1970 00:00:00 GMT"
    return morsel.OutputString()
