"""HTTP API of customers, under ``/api/customers``.

Unknown body fields are ignored, so a client may send back what it read
(``id``, ``created_at``...); read-only fields never change that way, and a
``user_id`` different from the profile's owner is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from shopmesh.customers.domain import (
    EDITABLE_FIELDS,
    Customer,
    Email,
    Interests,
    Name,
    OptionalAddress,
    OptionalCity,
    OptionalLocation,
    OptionalMobile,
    OptionalSex,
    Preferences,
    Profile,
    ProfileFields,
    UserId,
    printable,
)
from shopmesh.customers.service import CustomerService
from shopmesh.kit.app import AdminUser, CurrentUser, Dependency, error_responses
from shopmesh.kit.errors import Forbidden
from shopmesh.kit.jwt import Principal
from shopmesh.kit.validation import MAX_ID, Offset, id_list_query

TOTAL_HEADER = "X-Total-Count"

CustomerId = Annotated[int, Path(ge=1, le=MAX_ID, description="The customer's id.")]
SearchText = Annotated[str, AfterValidator(printable)]


PREFERENCES_DOC = (
    "Up to 20 string keys (1-50) to strings (0-200), or free text (at most 500 characters, "
    "kept as sent: the commerce seed's app sends text)."
)
INTERESTS_DOC = (
    "Up to 20 distinct strings of 1-50 characters; a text is split at commas ('tea, books')."
)


class _ProfileBody(BaseModel):
    """The editable fields; optional ones left out (or blank) are cleared."""

    model_config = ConfigDict(extra="ignore")

    name: Name = Field(examples=["Ann Lee"], description="1-100 characters.")
    email: Email = Field(
        examples=["ann@example.org"], description="Unique among customers in any case."
    )
    address: OptionalAddress = Field(None, description="At most 200 characters.")
    city: OptionalCity = Field(None, description="At most 100 characters.")
    mobile: OptionalMobile = Field(
        None, examples=["+44 (20) 7946-0958"], description="5-20 of: digits, spaces, + - ( )."
    )
    preferences: Preferences = Field(default_factory=dict, description=PREFERENCES_DOC)
    location: OptionalLocation = Field(None, description="At most 100 characters.")
    interests: Interests = Field(default_factory=list, description=INTERESTS_DOC)
    sex: OptionalSex = Field(None, description="At most 50 characters.")

    def profile(self) -> Profile:
        return Profile(**self.model_dump(include=set(EDITABLE_FIELDS)))


class CustomerCreate(_ProfileBody):
    """A new profile for the user ``user_id`` (administrators)."""

    user_id: UserId


class CustomerUpdate(_ProfileBody):
    """Every editable field of a profile (PUT replaces them all)."""

    user_id: UserId | None = Field(None, description="Optional; must be the profile's owner.")


# Fields that never hold null: leaving one out of a partial update keeps its value.
REQUIRED_FIELDS = ("name", "email", "preferences", "interests")


class CustomerPatch(ProfileFields):
    """Some editable fields; only those sent change. Optional text fields accept null (cleared)."""

    user_id: UserId | None = Field(None, description="Optional; must be the profile's owner.")

    # Runs only for fields that were sent: leaving one out is fine, sending null is not.
    @field_validator(*REQUIRED_FIELDS)
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, validated."""
        return self.model_dump(include=self.model_fields_set & EDITABLE_FIELDS)


class CustomerResend(CustomerPatch):
    """A profile as a client read it, sent back with its edits (``PUT /api/customers/{id}``):
    a required field sent as null (the client read null there) keeps its value."""

    @field_validator(*REQUIRED_FIELDS)
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return value

    def changes(self) -> dict[str, Any]:
        sent = super().changes()
        return {k: v for k, v in sent.items() if v is not None or k not in REQUIRED_FIELDS}


class CustomerPublic(BaseModel):
    id: int
    user_id: int
    name: str
    email: str | None = Field(description="null only for a profile created at registration.")
    address: str | None
    city: str | None
    mobile: str | None
    preferences: dict[str, str] | str = Field(description=PREFERENCES_DOC)
    location: str | None
    interests: list[str]
    sex: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, customer: Customer) -> CustomerPublic:
        p = customer.profile
        return cls(
            id=customer.id,
            user_id=customer.user_id,
            name=p.name,
            email=p.email,
            address=p.address,
            city=p.city,
            mobile=p.mobile,
            preferences=p.preferences,
            location=p.location,
            interests=p.interests,
            sex=p.sex,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
        )


CustomersDependency = Dependency[CustomerService]("customers")
Customers = Annotated[CustomerService, Depends(CustomersDependency)]

router = APIRouter(prefix="/api/customers", tags=["customers"])

NOT_FOUND = error_responses({404: "customer_not_found: no such profile, or not the caller's"})
WRITE_ERRORS = error_responses(
    {
        404: "customer_not_found: no such profile, or not the caller's",
        409: "email_taken: another customer uses this email",
        422: "validation_error, email_required or user_id_immutable",
    }
)


def _own(principal: Principal, claimed: int | None) -> int:
    """The token's subject; a different ``user_id`` is refused, never obeyed."""
    if claimed is not None and claimed != principal.user_id:
        raise Forbidden("user_id does not match the authenticated user")
    return principal.user_id


@router.get("/me", responses=error_responses({404: "customer_not_found: no profile yet"}))
async def get_me(user: CurrentUser, customers: Customers) -> CustomerPublic:
    """The caller's own profile (404 ``customer_not_found`` until one exists)."""
    return CustomerPublic.of(await customers.get_mine(user.user_id))


@router.put("/me", responses={201: {"description": "Created the profile"}, **WRITE_ERRORS})
async def put_me(
    body: CustomerUpdate, user: CurrentUser, customers: Customers, response: Response
) -> CustomerPublic:
    """Replace the caller's profile, or create it (201) if they have none yet."""
    saved = await customers.put_mine(_own(user, body.user_id), body.profile())
    if saved.created:
        response.status_code = 201
        response.headers["Location"] = f"{router.prefix}/{saved.customer.id}"
    return CustomerPublic.of(saved.customer)


@router.patch("/me", responses=WRITE_ERRORS)
async def patch_me(body: CustomerPatch, user: CurrentUser, customers: Customers) -> CustomerPublic:
    """Change some fields of the caller's profile (404 when they have none: use PUT)."""
    user_id = _own(user, body.user_id)
    return CustomerPublic.of(await customers.patch_mine(user_id, body.changes()))


USER_IDS_MAX = 100

UserIds = Annotated[
    tuple[int, ...] | None,
    Depends(
        id_list_query(
            "user_ids",
            max_items=USER_IDS_MAX,
            description=f"Comma-separated account ids (at most {USER_IDS_MAX}): "
            "only the profiles of those accounts (to put names to user ids).",
        )
    ),
]


@router.get("")
async def list_customers(
    _admin: AdminUser,
    customers: Customers,
    response: Response,
    user_ids: UserIds,
    q: Annotated[
        SearchText | None,
        Query(max_length=100, description="Part of the name, email or city, in any case."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> list[CustomerPublic]:
    """Customers by id (administrators); ``X-Total-Count`` says how many match in all."""
    page = await customers.search(q=q, user_ids=user_ids, limit=limit, offset=offset)
    response.headers[TOTAL_HEADER] = str(page.total)
    return [CustomerPublic.of(customer) for customer in page.items]


@router.post(
    "",
    status_code=201,
    responses=error_responses({409: "customer_exists (the user has a profile) or email_taken"}),
)
async def create_customer(
    body: CustomerCreate, _admin: AdminUser, customers: Customers, response: Response
) -> CustomerPublic:
    """Create a profile for a user (administrators)."""
    created = await customers.create(body.user_id, body.profile())
    response.headers["Location"] = f"{router.prefix}/{created.id}"
    return CustomerPublic.of(created)


@router.get("/{customer_id}", responses=NOT_FOUND)
async def get_customer(
    customer_id: CustomerId, user: CurrentUser, customers: Customers
) -> CustomerPublic:
    """A profile: any for administrators, only the caller's own for anybody else."""
    return CustomerPublic.of(await customers.get(customer_id, caller=user))


@router.put("/{customer_id}", responses=WRITE_ERRORS)
async def put_customer(
    customer_id: CustomerId, body: CustomerResend, user: CurrentUser, customers: Customers
) -> CustomerPublic:
    """Update a profile with the fields sent (administrators: any; others: their own).

    Fields left out, or sent as null where a value is required, keep their values: the
    commerce seed's app sends back the whole object it read (read-only and unknown keys
    are ignored), and other seed clients send only the fields they change.
    """
    updated = await customers.patch(
        customer_id, body.changes(), caller=user, claimed_user_id=body.user_id
    )
    return CustomerPublic.of(updated)


@router.patch("/{customer_id}", responses=WRITE_ERRORS)
async def patch_customer(
    customer_id: CustomerId, body: CustomerPatch, user: CurrentUser, customers: Customers
) -> CustomerPublic:
    """Change some fields of a profile (administrators: any; others: their own)."""
    updated = await customers.patch(
        customer_id, body.changes(), caller=user, claimed_user_id=body.user_id
    )
    return CustomerPublic.of(updated)


@router.delete("/{customer_id}", status_code=204, response_class=Response, responses=NOT_FOUND)
async def delete_customer(
    customer_id: CustomerId, _admin: AdminUser, customers: Customers
) -> Response:
    """Delete a profile (administrators)."""
    await customers.delete(customer_id)
    return Response(status_code=204)
