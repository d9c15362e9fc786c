"""Users: platform admins create and list them; everyone can see themselves."""

from __future__ import annotations

from fastapi import Response, status
from starlette.concurrency import run_in_threadpool

from wharf.api.deps import Access, PlatformDep, require
from wharf.api.routing import APIRouter, store_read
from wharf.schemas import identity as schemas
from wharf.services import passwords, users
from wharf.store import models

router = APIRouter(prefix="/users", tags=["users"])


def user_out(user: models.User) -> schemas.User:
    return schemas.User.model_validate(user, from_attributes=True)


@router.get("", response_model=list[schemas.User])
@store_read
def list_users(platform: PlatformDep, _: Access = require("users/read")) -> list[schemas.User]:
    """Every user (platform admins only)."""
    with platform.transaction() as session:
        return [user_out(u) for u in users.list_users(session)]


@router.post("", response_model=schemas.User, status_code=status.HTTP_201_CREATED)
def create_user(
    body: schemas.UserCreate, platform: PlatformDep, _: Access = require("users/write")
) -> schemas.User:
    """Create a user (platform admins only). Give them a token with ``POST /tokens``."""
    with platform.transaction() as session:
        return user_out(
            users.create_user(session, body.name, email=body.email, is_admin=body.is_admin)
        )


@router.get("/me", response_model=schemas.User)
async def read_me(platform: PlatformDep, access: Access = require("authenticated")) -> schemas.User:
    """The caller (as authentication read them, within ``auth_cache_seconds``)."""
    known = platform.auth_cache.user(access.principal.user_id)
    if known is not None:
        return schemas.User(
            name=known.name, email=known.email, is_admin=known.is_admin, created_at=known.created_at
        )

    def read() -> schemas.User:
        with platform.transaction() as session:
            return user_out(users.read_user_by_id(session, access.principal.user_id))

    return await run_in_threadpool(read)


@router.get("/{name}", response_model=schemas.User)
@store_read
def read_user(name: str, platform: PlatformDep, _: Access = require("users/read")) -> schemas.User:
    """One user (platform admins only)."""
    with platform.transaction() as session:
        return user_out(users.read_user(session, name))


@router.put("/{name}/password", status_code=status.HTTP_204_NO_CONTENT)
def set_password(
    name: str,
    body: schemas.PasswordSet,
    platform: PlatformDep,
    access: Access = require("authenticated"),
) -> Response:
    """Set a user's web console password (your own, or anyone's as a platform admin). Their
    console sessions end."""
    with platform.transaction() as session:
        passwords.set_password(session, access.principal, name, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
