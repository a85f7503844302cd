"""What a person may say about themselves when registering, as both seeds' clients send it.

Auth does not keep these fields: it checks their shape and size and passes
them to customers in ``user.registered``, whose rules decide what a profile
holds. The commerce seed's app sends every field as text (``interests`` as
``"tea, books"``); ShopMesh's own clients send ``preferences`` as an object and
``interests`` as a list. Both are accepted.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StringConstraints

from shopmesh.auth.domain import NewProfile
from shopmesh.kit.validation import EMAIL_MAX, check_email, check_phone, storable_text


def _blank_to_none(value: Any) -> Any:
    # Forms send "" for an input left empty.
    return None if isinstance(value, str) and not value.strip() else value


_Blank = BeforeValidator(_blank_to_none)
_Stored = AfterValidator(storable_text)
Text50 = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=50), _Stored] | None, _Blank
]
Text100 = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), _Stored] | None, _Blank
]
Text200 = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), _Stored] | None, _Blank
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=EMAIL_MAX),
    AfterValidator(check_email),
]
Mobile = Annotated[
    Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=20), AfterValidator(check_phone)
    ]
    | None,
    _Blank,
]
_Short = Annotated[str, StringConstraints(max_length=50), _Stored]
_Value = Annotated[str, StringConstraints(max_length=200), _Stored]
Preferences = Annotated[
    dict[_Short, _Value] | Annotated[str, StringConstraints(max_length=500), _Stored],
    Field(union_mode="left_to_right"),
]
Interests = Annotated[
    Annotated[list[_Short], Field(max_length=20)]
    | Annotated[str, StringConstraints(max_length=1000), _Stored],
    Field(union_mode="left_to_right"),
]


def _interests(value: list[str] | str | None) -> list[str]:
    items = value.split(",") if isinstance(value, str) else (value or [])
    return list(dict.fromkeys(item.strip() for item in items if item.strip()))


class NewProfileFields(BaseModel):
    """The profile fields of a registration; each optional."""

    name: Text100 = Field(None, description="How to address the person (default: username).")
    address: Text200 = None
    city: Text100 = None
    mobile: Mobile = None
    location: Text100 = None
    sex: Text50 = None
    preferences: Preferences | None = Field(
        None, description="An object of string values, or text (kept as sent)."
    )
    interests: Interests | None = Field(
        None, description="A list of strings, or text split at commas ('tea, books')."
    )

    def new_profile(self) -> NewProfile:
        return NewProfile(
            name=self.name,
            address=self.address,
            city=self.city,
            mobile=self.mobile,
            location=self.location,
            sex=self.sex,
            preferences=self.preferences,
            interests=_interests(self.interests),
        )
