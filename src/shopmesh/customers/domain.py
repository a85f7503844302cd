"""Customer profiles: their fields and rules, the domain errors, the event customers reads.

Pure: no I/O, no web or database framework. The field types below are the
one definition of what a valid profile value is; the API's schemas use them.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from shopmesh.kit.errors import Conflict, NotFound, Unprocessable
from shopmesh.kit.validation import EMAIL_MAX, MAX_ID, check_email, check_phone

NAME_MAX = 100
ADDRESS_MAX = 200
CITY_MAX = 100
MOBILE_MIN, MOBILE_MAX = 5, 20
LOCATION_MAX = 100
SEX_MAX = 50
INTERESTS_MAX, INTEREST_MAX = 20, 50
PREFERENCES_MAX, PREFERENCE_KEY_MAX, PREFERENCE_VALUE_MAX = 20, 50, 200
PREFERENCES_TEXT_MAX = 500


def printable(value: str) -> str:
    """Refuse control characters and lone surrogates (PostgreSQL cannot store NUL, for one)."""
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ValueError("must not contain control characters")
    return value


def search_key(profile: Profile) -> str:
    """What a search looks in: name, email and city, case-folded, one per line.

    Searches are refused control characters, so no search matches across two fields.
    """
    return "\n".join(v.casefold() for v in (profile.name, profile.email, profile.city) if v)


def _blank_to_none(value: Any) -> Any:
    # Forms send "" for an empty input: an optional text field left empty means "none".
    return None if isinstance(value, str) and not value.strip() else value


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _split_text(value: Any) -> Any:
    # The commerce seed's app edits interests in one text input: "tea, books" is two of them.
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _text(max_length: int, *, min_length: int = 0) -> Any:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


Name = Annotated[str, _text(NAME_MAX, min_length=1), AfterValidator(printable)]
Email = Annotated[str, _text(EMAIL_MAX, min_length=1), AfterValidator(check_email)]
Mobile = Annotated[str, _text(MOBILE_MAX, min_length=MOBILE_MIN), AfterValidator(check_phone)]
Address = Annotated[str, _text(ADDRESS_MAX), AfterValidator(printable)]
City = Annotated[str, _text(CITY_MAX), AfterValidator(printable)]
Location = Annotated[str, _text(LOCATION_MAX), AfterValidator(printable)]
OptionalAddress = Annotated[Address | None, BeforeValidator(_blank_to_none)]
OptionalCity = Annotated[City | None, BeforeValidator(_blank_to_none)]
OptionalMobile = Annotated[Mobile | None, BeforeValidator(_blank_to_none)]
OptionalLocation = Annotated[Location | None, BeforeValidator(_blank_to_none)]
Sex = Annotated[str, _text(SEX_MAX), AfterValidator(printable)]
OptionalSex = Annotated[Sex | None, BeforeValidator(_blank_to_none)]
Interest = Annotated[str, _text(INTEREST_MAX, min_length=1), AfterValidator(printable)]
Interests = Annotated[
    list[Interest],
    BeforeValidator(_split_text),
    Field(max_length=INTERESTS_MAX),
    AfterValidator(_unique),
]
PreferenceKey = Annotated[str, _text(PREFERENCE_KEY_MAX, min_length=1), AfterValidator(printable)]
PreferenceValue = Annotated[str, _text(PREFERENCE_VALUE_MAX), AfterValidator(printable)]
PreferencesText = Annotated[str, _text(PREFERENCES_TEXT_MAX), AfterValidator(printable)]
# An object of named preferences, or free text as the commerce seed's app sends it (kept as sent).
Preferences = Annotated[
    Annotated[dict[PreferenceKey, PreferenceValue], Field(max_length=PREFERENCES_MAX)]
    | PreferencesText,
    Field(union_mode="left_to_right"),
]
UserId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]


@dataclass(frozen=True, slots=True)
class Profile:
    """What a customer's owner (or an administrator) may edit."""

    name: str
    email: str | None
    address: str | None = None
    city: str | None = None
    mobile: str | None = None
    preferences: dict[str, str] | str = field(default_factory=dict)
    location: str | None = None
    interests: list[str] = field(default_factory=list)
    sex: str | None = None

    def changed(self, changes: Mapping[str, Any]) -> Profile:
        """This profile with ``changes`` (a partial update) applied."""
        return dataclasses.replace(self, **changes)

    def check_editable(self) -> None:
        """An edited profile has an email; only one made from ``user.registered`` may lack it."""
        if self.email is None:
            raise EmailRequired()


EDITABLE_FIELDS = frozenset(f.name for f in dataclasses.fields(Profile))


@dataclass(frozen=True, slots=True)
class Customer:
    """A user's customer profile (at most one per user)."""

    id: int
    user_id: int
    profile: Profile
    created_at: datetime
    updated_at: datetime

    def visible_to(self, user_id: int, *, is_admin: bool) -> bool:
        """Administrators see every profile; anybody else only their own."""
        return is_admin or self.user_id == user_id


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing and how many items match in all."""

    items: list[Customer]
    total: int


class UserRegistered(BaseModel):
    """customers' reading of auth's ``user.registered``: only the fields it needs.

    Tolerant: events from before auth sent profile fields have none of them, and a
    value customers' rules refuse is left out, so every registration gets a profile.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    user_id: UserId
    # Auth's usernames (3-50 characters) are valid names; anything else breaks the contract.
    username: Name
    name: Any = None
    email: Any = None
    address: Any = None
    city: Any = None
    mobile: Any = None
    preferences: Any = None
    location: Any = None
    interests: Any = None
    sex: Any = None

    def profile(self) -> Profile:
        """The profile a new user starts with: what they typed at registration, if anything."""
        accepted, _ = self._checked()
        return Profile(**{"name": self.username, "email": None, **accepted})

    def refused_fields(self) -> list[str]:
        """The typed profile values customers' rules refuse (they are left out)."""
        _, refused = self._checked()
        return refused

    def _checked(self) -> tuple[dict[str, Any], list[str]]:
        typed = {name: getattr(self, name) for name in EDITABLE_FIELDS}
        return _check_fields({name: value for name, value in typed.items() if value is not None})


class ProfileFields(BaseModel):
    """Every editable field, each optional (the base of partial updates; also checks one
    value at a time)."""

    model_config = ConfigDict(extra="ignore")

    name: Name | None = None
    email: Email | None = None
    address: OptionalAddress = None
    city: OptionalCity = None
    mobile: OptionalMobile = None
    preferences: Preferences | None = None
    location: OptionalLocation = None
    interests: Interests | None = None
    sex: OptionalSex = None


def _check_fields(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The values that pass customers' rules (validated), and the names of those that do not."""
    accepted: dict[str, Any] = {}
    refused: list[str] = []
    for name, value in values.items():
        try:
            checked = getattr(ProfileFields.model_validate({name: value}), name)
        except ValidationError:
            refused.append(name)
            continue
        if checked is not None:
            accepted[name] = checked
    return accepted, refused


class CustomerNotFound(NotFound):
    code = "customer_not_found"

    def __init__(self) -> None:
        super().__init__("customer not found")


class CustomerExists(Conflict):
    code = "customer_exists"

    def __init__(self) -> None:
        super().__init__("this user already has a customer profile")


class EmailTaken(Conflict):
    code = "email_taken"

    def __init__(self) -> None:
        super().__init__("email is already used by another customer")


class EmailRequired(Unprocessable):
    code = "email_required"

    def __init__(self) -> None:
        super().__init__("email: a customer profile needs an email address")


class UserIdImmutable(Unprocessable):
    code = "user_id_immutable"

    def __init__(self) -> None:
        super().__init__("user_id of a customer profile cannot be changed")
