"""Errors of the review workflow, free of HTTP: `service/api/errors.py` maps each kind to a
status and answers it in the service's one error shape."""

from __future__ import annotations

from typing import Any


class ReviewError(Exception):
    """A review request that cannot be carried out; `code` is the stable machine-readable code."""

    def __init__(self, message: str, *, code: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details


class ReviewNotFound(ReviewError):
    """No such review item (or record)."""


class ReviewConflict(ReviewError):
    """The item's state forbids the action now: decided, coded already, changed meanwhile."""


class ReviewForbidden(ReviewError):
    """The caller may not act on this item (assigned to others, needs an admin, blind)."""


class InvalidReview(ReviewError):
    """The request itself is wrong: an unknown code, tags without a coding, a bad period."""
