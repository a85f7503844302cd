"""HTTP handlers of the auth service, under ``/api/auth`` (the gateway also maps ``/auth``)."""

from __future__ import annotations

from datetime import datetime
from http.cookies import SimpleCookie
from typing import Annotated, Self

from fastapi import APIRouter, Cookie, Depends, Response
from pydantic import AliasChoices, BaseModel, Field, model_validator

from shopmesh.auth.domain import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_MAX,
    USERNAME_MIN,
    USERNAME_PATTERN,
    RefreshRefused,
    User,
)
from shopmesh.auth.profile import Email, NewProfileFields
from shopmesh.auth.recovery import PasswordRecovery
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


ConfirmPassword = Annotated[
    str | None,
    Field(
        validation_alias=AliasChoices("confirm_password", "confirmPassword"),
        description="Optional; when sent it must equal `password` (also `confirmPassword`).",
    ),
]


def _passwords_match(password: str, confirm: str | None) -> None:
    if confirm is not None and confirm != password:
        raise ValueError("confirm_password: the two passwords differ")


class UserCreate(NewProfileFields):
    """A new account: a username, an email, or both (a username is made from the email
    when there is none), a password, and optionally what the person says about themselves
    (it becomes their customer profile)."""

    username: Username | None = None
    email: Email | None = Field(None, description="Unique in any case; also a login name.")
    password: Password
    confirm_password: ConfirmPassword = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.username is None and self.email is None:
            raise ValueError("username or email: at least one is needed")
        _passwords_match(self.password, self.confirm_password)
        return self


class UserLogin(BaseModel):
    """A username or an email (either field; any case) and the password."""

    username: Username | None = None
    email: Annotated[str, Field(min_length=3, max_length=254)] | None = None
    password: Password

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.username is None and self.email is None:
            raise ValueError("username or email: one is needed")
        return self

    @property
    def login(self) -> str:
        return self.email if self.email is not None else str(self.username)


class AccountPublic(BaseModel):
    """Who signed in, as the commerce seed's app keeps it."""

    id: int
    username: str
    name: str
    email: str | None
    role: str

    @classmethod
    def of(cls, user: User) -> AccountPublic:
        return cls(
            id=user.id,
            username=user.username,
            name=user.display_name,
            email=user.email,
            role=user.role,
        )


class SessionPublic(BaseModel):
    """The signed-in user and an access token (send it as ``Authorization: Bearer <token>``).

    ``id``/``username``/``token`` are what the payments seed's client reads; ``user`` and
    ``message`` what the commerce seed's app reads.
    """

    id: int
    username: str
    role: str
    token: str
    user: AccountPublic
    message: str


class ForgotPassword(BaseModel):
    email: Email


class ResetPassword(BaseModel):
    token: Annotated[str, Field(min_length=1, max_length=200)]
    password: Password
    confirm_password: ConfirmPassword = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        _passwords_match(self.password, self.confirm_password)
        return self


class MessagePublic(BaseModel):
    message: str


class UserPublic(BaseModel):
    id: int
    username: str
    role: str
    created_at: datetime


AuthDependency = Dependency[AuthService]("auth")
Auth = Annotated[AuthService, Depends(AuthDependency)]
RecoveryDependency = Dependency[PasswordRecovery]("password recovery")
Recovery = Annotated[PasswordRecovery, Depends(RecoveryDependency)]
RefreshCookie = Annotated[
    str | None, Cookie(alias=REFRESH_COOKIE, description="set by register, login and refresh")
]

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=201,
    responses=error_responses(
        {409: "username_taken or email_taken: the name or the email exists (in any case)"}
    ),
)
async def register(body: UserCreate, auth: Auth, response: Response) -> SessionPublic:
    """Create an account and sign it in: an access token, and a refresh cookie."""
    signed_in = await auth.register(
        body.username, body.password, email=body.email, profile=body.new_profile()
    )
    return _signed_in(signed_in, response, auth, message="User registered successfully")


@router.post(
    "/login",
    responses=error_responses(
        {401: "invalid_credentials: unknown username or email, or wrong password (alike)"}
    ),
)
async def login(body: UserLogin, auth: Auth, response: Response) -> SessionPublic:
    """Sign in with a username or an email (any case): an access token, and a refresh cookie."""
    signed_in = await auth.login(body.login, body.password)
    return _signed_in(signed_in, response, auth, message="Login successful")


@router.post("/forgot-password", status_code=202)
async def forgot_password(body: ForgotPassword, recovery: Recovery) -> MessagePublic:
    """Mail a password reset link to this address if an account has it. The answer is the
    same either way, so it tells nobody which addresses have accounts."""
    await recovery.request_reset(body.email)
    return MessagePublic(message=RESET_REQUESTED)


@router.post(
    "/reset-password",
    responses=error_responses({400: "invalid_reset_token: unknown, used or expired"}),
)
async def reset_password(body: ResetPassword, recovery: Recovery) -> MessagePublic:
    """Set a new password with the token of a reset link (it works once); every refresh
    session of the account ends, so other devices sign in again."""
    await recovery.reset(body.token, body.password)
    return MessagePublic(message="Your password has been changed; sign in with the new one.")


RESET_REQUESTED = "If an account uses this email, a password reset link is on its way."


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

    The same cookie presented again within ``AUTH_REFRESH_REUSE_GRACE_SECONDS`` of its
    exchange (several tabs refreshing at once) gets the same new cookie; presented
    later, it revokes its whole session.
    """
    try:
        signed_in = await auth.refresh(token)
    except RefreshRefused as exc:
        exc.headers["set-cookie"] = _cookie("", max_age=0, secure=auth.settings.is_production)
        raise
    return _signed_in(signed_in, response, auth, message="Session refreshed")


@router.post("/logout", status_code=204, response_class=Response)
async def logout(auth: Auth, token: RefreshCookie = None) -> Response:
    """End the refresh session of the cookie and clear it (harmless without one)."""
    await auth.logout(token)
    response = Response(status_code=204)
    response.headers["set-cookie"] = _cookie("", max_age=0, secure=auth.settings.is_production)
    return response


def _signed_in(
    signed_in: SignedIn, response: Response, auth: AuthService, *, message: str
) -> SessionPublic:
    # The answer carries an access token and sets a refresh cookie: no cache may keep it.
    response.headers["cache-control"] = "no-store"
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
        id=user.id,
        username=user.username,
        role=user.role,
        token=signed_in.access_token,
        user=AccountPublic.of(user),
        message=message,
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
