"""API keys as the admin endpoints take and show them (never the key itself, except once)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.agencies import AGENCY_PATTERN
from service.api.schemas.common import StorableStr


class KeyIn(BaseModel):
    """A key to create."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["submitter", "analyst", "admin"] = Field(
        description="submitter < analyst < admin.", examples=["analyst"]
    )
    name: StorableStr = Field(
        default="", max_length=100, description="Who or what uses it.", examples=["Jane Doe"]
    )
    agency: str | None = Field(
        default=None,
        pattern=AGENCY_PATTERN,
        description="Its agency; default: yours. Another agency's keys need the cross-agency "
        "grant.",
        examples=["met-police"],
    )
    cross_agency: bool = Field(
        default=False,
        description="Analyst or admin only: sees every agency's data. Only an admin with the "
        "grant can give it.",
        examples=[False],
    )


class KeyOut(BaseModel):
    """A key as listings show it: its prefix identifies it; the key itself is never shown."""

    id: int = Field(description="Key id (as in `assign` and `api_key_id`).", examples=[7])
    prefix: str = Field(description="First characters of the key.", examples=["iccs_AbCdEfG"])
    role: str = Field(description="submitter, analyst or admin.", examples=["analyst"])
    name: str = Field(description="Who or what uses it.", examples=["Jane Doe"])
    agency: str = Field(description="Whose data it stores and sees.", examples=["met-police"])
    cross_agency: bool = Field(description="Sees every agency's data.", examples=[False])
    environment: str | None = Field(
        description="ICCS_ENV it was made under (null: not recorded).", examples=["production"]
    )
    created_at: datetime = Field(description="When it was made.")
    revoked_at: datetime | None = Field(description="When it was revoked; null: active.")


class KeyCreated(KeyOut):
    key: str = Field(
        description="The key: shown this once, store it now.",
        examples=["iccs_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg"],
    )


class KeyList(BaseModel):
    keys: list[KeyOut] = Field(description="Keys of your agency (every agency's with the grant).")


class RevokeOut(BaseModel):
    revoked: int = Field(description="Keys revoked (active keys with that prefix).", examples=[1])
