"""Logging an exception without its message: messages can quote case text or bound values."""

from __future__ import annotations

import traceback


def stack_only(exc: BaseException) -> str:
    """The exception's type and stack (file, line, code), each cause included; no message."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(parts) < 5:
        frames = "".join(traceback.format_tb(current.__traceback__))
        parts.append(f"{frames}{type(current).__module__}.{type(current).__qualname__}")
        current = current.__cause__ or current.__context__
    return "\n(raised while handling, or from:)\n".join(parts)
