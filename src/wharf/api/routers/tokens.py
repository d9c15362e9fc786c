"""Tokens: everyone manages their own; platform admins manage anyone's."""

from __future__ import annotations

from fastapi import Query, status

from wharf.api.deps import Access, PlatformDep, require
from wharf.api.routing import APIRouter, store_read
from wharf.schemas import identity as schemas
from wharf.services import tokens, users
from wharf.store import models

router = APIRouter(prefix="/tokens", tags=["tokens"])


def token_out(token: models.Token) -> schemas.Token:
    return schemas.Token(
        id=token.id,
        name=token.name,
        user=token.user.name,
        state=tokens.token_state(token),
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        last_used_at=token.last_used_at,
    )


@router.post("", response_model=schemas.TokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(
    body: schemas.TokenCreate, platform: PlatformDep, access: Access = require("authenticated")
) -> schemas.TokenCreated:
    """Create a token for yourself, or (admins) for ``user``. The secret is shown only here."""
    with platform.transaction() as session:
        owner = (
            users.read_user(session, body.user)
            if body.user
            else users.read_user_by_id(session, access.principal.user_id)
        )
        tokens.check_token_owner(access.principal, owner)
        lifetime = tokens.parse_lifetime(body.expires_in, platform.settings.token_ttl_days)
        token, plaintext = tokens.create_token(session, owner, name=body.name, lifetime=lifetime)
        return schemas.TokenCreated(**token_out(token).model_dump(), token=plaintext)


@router.get("", response_model=list[schemas.Token])
@store_read
def list_tokens(
    platform: PlatformDep,
    access: Access = require("authenticated"),
    user: str | None = Query(default=None, description="whose tokens (admins only)"),
) -> list[schemas.Token]:
    """Your tokens, or (admins) ``user``'s. Secrets are never shown again."""
    with platform.transaction() as session:
        owner = (
            users.read_user(session, user)
            if user
            else users.read_user_by_id(session, access.principal.user_id)
        )
        tokens.check_token_owner(access.principal, owner)
        return [token_out(t) for t in tokens.list_tokens(session, owner)]


@router.delete("/{token_id}", response_model=schemas.Token)
def revoke_token(
    token_id: str, platform: PlatformDep, access: Access = require("authenticated")
) -> schemas.Token:
    """Revoke a token at once; it answers 401 from now on."""
    with platform.transaction() as session:
        return token_out(tokens.revoke_token(session, access.principal, token_id))
