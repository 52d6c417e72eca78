"""API keys: generation, hashing, storage and the role order.

Keys are 256-bit random tokens, so a plain SHA-256 is a safe way to store them (nothing to
brute-force, unlike passwords) and lets a request be checked with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal, get_args

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.agencies import (
    ALL_AGENCIES,
    DEFAULT_AGENCY,
    AgencyScope,
    agency_scope,
    check_agency,
)
from service.db.base import utcnow
from service.db.models import ApiKey

Role = Literal["submitter", "analyst", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
# Each role includes the ones before it: an analyst may classify, an admin may do everything.
ROLE_RANK: dict[str, int] = {role: rank for rank, role in enumerate(ROLES)}
KEY_PREFIX = "iccs_"
_SHOWN_CHARS = 12  # "iccs_" + 7 random characters: enough to tell keys apart in a listing


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: which key, under which name, role and agency."""

    key_id: int
    name: str
    role: str
    prefix: str
    environment: str | None = None  # ICCS_ENV when the key was created; None: not recorded
    agency: str = DEFAULT_AGENCY
    cross_agency: bool = False  # sees every agency's data

    @property
    def scope(self) -> AgencyScope:
        """The agencies whose stored data this caller sees."""
        return agency_scope(self.agency, self.cross_agency)

    def has_role(self, required: str) -> bool:
        return ROLE_RANK.get(self.role, -1) >= ROLE_RANK[required]

    def usable_in(self, environment: str) -> bool:
        return key_usable_in(self.environment, environment)


def key_usable_in(key_environment: str | None, service_environment: str) -> bool:
    """Production refuses keys made by a development-mode service (its printed admin key)."""
    return not (service_environment == "production" and key_environment == "development")


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    session: Session,
    role: str,
    name: str = "",
    environment: str | None = None,
    *,
    agency: str = DEFAULT_AGENCY,
    cross_agency: bool = False,
) -> tuple[ApiKey, str]:
    """Store a new key; returns the row and the plaintext key (shown once, never stored).

    `environment` is the ICCS_ENV the key is made under; production refuses development keys.
    `agency` is whose data the key stores and sees; `cross_agency` lets an analyst or admin
    see every agency's.
    """
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    check_agency(agency)
    if cross_agency and ROLE_RANK[role] < ROLE_RANK["analyst"]:
        raise ValueError("only analyst and admin keys can have the cross-agency grant")
    key = generate_key()
    row = ApiKey(
        name=name or role,
        role=role,
        prefix=key[:_SHOWN_CHARS],
        key_hash=hash_key(key),
        created_at=utcnow(),
        environment=environment,
        agency=agency,
        cross_agency=cross_agency,
    )
    session.add(row)
    session.flush()
    return row, key


def find_active_key(session: Session, key: str) -> Principal | None:
    row = session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
    )
    if row is None:
        return None
    return Principal(
        key_id=row.id,
        name=row.name,
        role=row.role,
        prefix=row.prefix,
        environment=row.environment,
        agency=row.agency,
        cross_agency=row.cross_agency,
    )


def count_active_keys(session: Session, usable_in: str | None = None) -> int:
    """Active keys; with `usable_in`, only those that environment accepts."""
    query = select(ApiKey.environment).where(ApiKey.revoked_at.is_(None))
    environments = session.scalars(query).all()
    if usable_in is None:
        return len(environments)
    return sum(key_usable_in(environment, usable_in) for environment in environments)


def list_keys(session: Session, scope: AgencyScope = ALL_AGENCIES) -> list[ApiKey]:
    query = select(ApiKey).where(scope.where(ApiKey.agency))
    return list(session.scalars(query.order_by(ApiKey.id)))


def revoke_keys(session: Session, prefix: str, scope: AgencyScope = ALL_AGENCIES) -> int:
    """Revoke the active keys (within `scope`) whose shown prefix is `prefix`; returns how many."""
    result = session.execute(
        update(ApiKey)
        .where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None), scope.where(ApiKey.agency))
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)
