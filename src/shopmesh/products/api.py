"""HTTP API of products under ``/api/products``: a public catalogue, admin writes, and the
internal stock reservations that orders calls with its service token."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from shopmesh.kit.app import AdminUser, Dependency, ServiceCaller, Verifier, error_responses
from shopmesh.kit.errors import Forbidden, Unauthorized
from shopmesh.kit.jwt import Principal
from shopmesh.kit.validation import MAX_ID, Offset, id_list_query
from shopmesh.products.domain import IDS_MAX, ProductQuery, ProductSort
from shopmesh.products.schemas import (
    ProductCreate,
    ProductPatch,
    ProductPublic,
    ReleasePublic,
    ReservationCreate,
    ReservationLinePublic,
    ReservationsPublic,
)
from shopmesh.products.service import ProductService

TOTAL_COUNT_HEADER = "X-Total-Count"
# PostgreSQL cannot take a NUL character in a text parameter.
_NO_NUL = r"^[^\x00]*$"


ProductsDependency = Dependency[ProductService]("products")


async def optional_principal(request: Request, verifier: Verifier) -> Principal | None:
    """The caller of a public route when a valid token came along; anonymous otherwise.

    A stale token must not break browsing the catalogue, so it counts as anonymous.
    """
    try:
        principal = verifier.verify_header(request.headers.get("authorization"))
    except Unauthorized:
        return None
    request.scope["user_id"] = principal.user_id
    return principal


def _privileged(principal: Principal | None) -> bool:
    """Administrators and platform services see inactive products (past orders name them)."""
    return principal is not None and (principal.is_admin or principal.is_service)


requested_ids = id_list_query(
    "ids",
    max_items=IDS_MAX,
    description=f"Comma-separated product ids (at most {IDS_MAX}): exactly those "
    "products, in that order unless `sort` is given; no paging.",
)


Products = Annotated[ProductService, Depends(ProductsDependency)]
Viewer = Annotated[Principal | None, Depends(optional_principal)]
ProductIdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
Ids = Annotated[tuple[int, ...] | None, Depends(requested_ids)]

router = APIRouter(prefix="/api/products", tags=["products"])


@router.get(
    "",
    responses=error_responses(
        {401: "include_inactive without a token", 403: "include_inactive: not admin"}
    ),
)
async def list_products(
    response: Response,
    products: Products,
    viewer: Viewer,
    ids: Ids,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
    category: Annotated[
        str | None, Query(max_length=100, pattern=_NO_NUL, description="Exact, any case.")
    ] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=_NO_NUL, description="In name, description, brand."),
    ] = None,
    sort: ProductSort | None = None,
    include_inactive: Annotated[
        bool, Query(description="Also deactivated products (administrators, services).")
    ] = False,
) -> list[ProductPublic]:
    """The catalogue's active products, paged; the total number matching is in `X-Total-Count`."""
    if include_inactive and not _privileged(viewer):
        raise Unauthorized() if viewer is None else Forbidden("administrators and services only")
    query = ProductQuery(
        limit=limit,
        offset=offset,
        category=category,
        text=q or None,
        sort=sort,
        ids=ids,
        include_inactive=include_inactive,
    )
    page = await products.search(query)
    response.headers[TOTAL_COUNT_HEADER] = str(page.total)
    return [ProductPublic.of(product) for product in page.items]


@router.get("/categories")
async def list_categories(products: Products) -> list[str]:
    """The distinct categories of active products, alphabetically."""
    return await products.categories()


@router.get("/{product_id}", responses=error_responses({404: "product_not_found (or inactive)"}))
async def get_product(
    product_id: ProductIdPath, products: Products, viewer: Viewer
) -> ProductPublic:
    """One product; a deactivated one only for administrators and platform services."""
    product = await products.get(product_id, include_inactive=_privileged(viewer))
    return ProductPublic.of(product)


_WRITE_ERRORS = {401: "no or bad token", 403: "not an administrator"}


@router.post(
    "", status_code=201, responses=error_responses({**_WRITE_ERRORS, 409: "sku_taken: sku in use"})
)
async def create_product(
    body: ProductCreate, admin: AdminUser, products: Products
) -> ProductPublic:
    """Add a product (administrators)."""
    return ProductPublic.of(await products.create(body.model_dump()))


@router.put(
    "/{product_id}",
    responses=error_responses({**_WRITE_ERRORS, 404: "product_not_found", 409: "sku_taken"}),
)
async def replace_product(
    product_id: ProductIdPath, body: ProductCreate, admin: AdminUser, products: Products
) -> ProductPublic:
    """Replace every field of a product (omitted fields take their defaults)."""
    return ProductPublic.of(await products.update(product_id, body.model_dump()))


@router.patch(
    "/{product_id}",
    responses=error_responses({**_WRITE_ERRORS, 404: "product_not_found", 409: "sku_taken"}),
)
async def patch_product(
    product_id: ProductIdPath, body: ProductPatch, admin: AdminUser, products: Products
) -> ProductPublic:
    """Change the fields present in the body; `is_active: true` brings a deleted product back."""
    return ProductPublic.of(await products.update(product_id, body.changes()))


@router.delete(
    "/{product_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses({**_WRITE_ERRORS, 404: "product_not_found"}),
)
async def delete_product(product_id: ProductIdPath, admin: AdminUser, products: Products) -> None:
    """Soft delete: the product becomes inactive (hidden from the catalogue, refused for new
    reservations) but stays, so past orders still resolve it. Deleting twice is fine."""
    await products.deactivate(product_id)


@router.post(
    "/reservations",
    responses=error_responses(
        {
            401: "no or bad token",
            403: "not a platform service",
            404: "product_not_found: details.product_ids",
            409: "out_of_stock: details [{product_id, requested, available}]; nothing reserved",
            422: "validation_error, or reservation_id_reused with another product or quantity",
        }
    ),
)
async def reserve(
    body: ReservationCreate, caller: ServiceCaller, products: Products
) -> ReservationsPublic:
    """Reserve stock for every line or for none (internal: orders calls it).

    Each line is idempotent by `reservation_id`: a repeat answers as the first time did and
    reserves nothing more.
    """
    lines = await products.reserve(body.requests())
    return ReservationsPublic(lines=[ReservationLinePublic.of(line) for line in lines])


@router.post(
    "/reservations/{reservation_id}/release",
    responses=error_responses({401: "no or bad token", 403: "not a platform service"}),
)
async def release(reservation_id: UUID, caller: ServiceCaller, products: Products) -> ReleasePublic:
    """Give a reservation's stock back, once (internal). `released` is false when it already
    was, or when no such reservation exists."""
    return ReleasePublic(released=await products.release(str(reservation_id)))
