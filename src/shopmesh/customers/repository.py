"""The customers table, its queries and the customers unit of work. Nothing here commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    String,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shopmesh.customers.domain import (
    ADDRESS_MAX,
    CITY_MAX,
    LOCATION_MAX,
    MOBILE_MAX,
    NAME_MAX,
    SEX_MAX,
    Customer,
    EmailTaken,
    Page,
    Profile,
    search_key,
)
from shopmesh.kit.db import IdType, UTCDateTime, insert_for, new_metadata, rowcount
from shopmesh.kit.uow import UnitOfWork
from shopmesh.kit.validation import EMAIL_MAX, email_key


class Base(DeclarativeBase):
    metadata = new_metadata()


class CustomerRow(Base):
    __tablename__ = "customer"

    # The owner's user id: a profile is found at /api/customers/{the id login answered}.
    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX))
    # Lower-cased email: the unique key that makes "Ann@x.org" and "ann@x.org" one address.
    email_key: Mapped[str | None] = mapped_column(String(EMAIL_MAX), unique=True)
    address: Mapped[str | None] = mapped_column(String(ADDRESS_MAX))
    city: Mapped[str | None] = mapped_column(String(CITY_MAX))
    mobile: Mapped[str | None] = mapped_column(String(MOBILE_MAX))
    # An object of named preferences, or free text (a JSON string).
    preferences: Mapped[dict[str, str] | str] = mapped_column(JSON)
    location: Mapped[str | None] = mapped_column(String(LOCATION_MAX))
    interests: Mapped[list[str]] = mapped_column(JSON)
    sex: Mapped[str | None] = mapped_column(String(SEX_MAX))
    # Name, email and city case-folded in Python: the database's lower() may know only ASCII.
    search_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


_COLUMNS = tuple(CustomerRow.__table__.c)


def _values(profile: Profile) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": profile.name,
        "email": profile.email,
        "email_key": None if profile.email is None else email_key(profile.email),
        "address": profile.address,
        "city": profile.city,
        "mobile": profile.mobile,
        "preferences": _copy(profile.preferences),
        "location": profile.location,
        "interests": list(profile.interests),
        "sex": profile.sex,
        "search_key": search_key(profile),
    }
    return values


def _copy(preferences: dict[str, str] | str) -> dict[str, str] | str:
    return preferences if isinstance(preferences, str) else dict(preferences)


def _customer(row: Any) -> Customer:
    profile = Profile(
        name=row.name,
        email=row.email,
        address=row.address,
        city=row.city,
        mobile=row.mobile,
        preferences=_copy({} if row.preferences is None else row.preferences),
        location=row.location,
        interests=list(row.interests or []),
        sex=row.sex,
    )
    return Customer(
        id=row.id,
        user_id=row.user_id,
        profile=profile,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _unique_violation(exc: IntegrityError) -> Exception:
    """The domain error behind a unique violation of a saved profile (both dialects name
    the column; a save changes no id, so the email is the only key it can meet)."""
    return EmailTaken() if "email_key" in str(exc.orig) else exc


class Customers:
    """The customer profiles of one unit of work (on its connection)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, customer_id: int, *, lock: bool = False) -> Customer | None:
        """The customer with this id; ``lock`` holds its row (PostgreSQL) until commit."""
        query = select(*_COLUMNS).where(CustomerRow.id == customer_id)
        row = (await self._connection.execute(query.with_for_update() if lock else query)).first()
        return None if row is None else _customer(row)

    async def of_user(self, user_id: int, *, lock: bool = False) -> Customer | None:
        """The user's profile; ``lock`` holds its row (PostgreSQL) until commit."""
        query = select(*_COLUMNS).where(CustomerRow.user_id == user_id)
        row = (await self._connection.execute(query.with_for_update() if lock else query)).first()
        return None if row is None else _customer(row)

    async def email_owner(self, email: str) -> int | None:
        """The id of the customer using ``email`` (in any case), if any."""
        query = select(CustomerRow.id).where(CustomerRow.email_key == email_key(email))
        found = (await self._connection.execute(query)).scalar_one_or_none()
        return None if found is None else int(found)

    async def add_if_missing(
        self, user_id: int, profile: Profile, *, now: datetime
    ) -> Customer | None:
        """Create the user's profile, whose id is the user's; ``None`` when the user has one
        already (safe under races). Raises :class:`EmailTaken` when another customer uses the
        email.
        """
        statement = (
            insert_for(self._connection, CustomerRow)
            .values(id=user_id, user_id=user_id, created_at=now, updated_at=now, **_values(profile))
            # On every unique key: a concurrent insert of the same profile waits, then skips,
            # whichever of its two keys (id and user_id, the same value) meets it first.
            .on_conflict_do_nothing()
            .returning(*_COLUMNS)
        )
        row = (await self._connection.execute(statement)).first()
        if row is not None:
            return _customer(row)
        if await self.of_user(user_id) is None:
            raise EmailTaken()  # skipped, and not for the user's own profile: for the email
        return None

    async def save(self, customer_id: int, profile: Profile, *, now: datetime) -> Customer:
        """Write ``profile`` over the customer's editable fields; raises :class:`EmailTaken`."""
        statement = (
            update(CustomerRow)
            .where(CustomerRow.id == customer_id)
            .values(updated_at=now, **_values(profile))
            .returning(*_COLUMNS)
            .execution_options(synchronize_session=False)
        )
        try:
            row = (await self._connection.execute(statement)).one()
        except IntegrityError as exc:
            raise _unique_violation(exc) from None
        return _customer(row)

    async def remove(self, customer_id: int) -> bool:
        """Delete the customer; False when there was none."""
        statement = delete(CustomerRow).where(CustomerRow.id == customer_id)
        return rowcount(await self._connection.execute(statement)) == 1

    async def search(
        self,
        *,
        q: str | None,
        limit: int,
        offset: int,
        user_ids: tuple[int, ...] | None = None,
    ) -> Page:
        """Customers by id: those whose name, email or city contain ``q`` (any case) and those
        of the accounts ``user_ids``, when given."""
        conditions = []
        if q:
            conditions.append(CustomerRow.search_key.contains(q.casefold(), autoescape=True))
        if user_ids is not None:
            conditions.append(CustomerRow.user_id.in_(user_ids))
        query = select(*_COLUMNS).order_by(CustomerRow.id).limit(limit).offset(offset)
        count = select(func.count()).select_from(CustomerRow)
        if conditions:
            query, count = query.where(*conditions), count.where(*conditions)
        rows = (await self._connection.execute(query)).all()
        total = (await self._connection.execute(count)).scalar_one()
        return Page(items=[_customer(row) for row in rows], total=int(total))


class CustomersUnitOfWork(UnitOfWork):
    """A customers use case's transaction: the profiles."""

    customers: Customers

    def open_repositories(self, connection: AsyncConnection) -> None:
        self.customers = Customers(connection)
