"""Reading dates that users type or pass in (one way, one error message)."""

from __future__ import annotations

import datetime as dt

from spc.errors import SpcError


def as_date(value: object, what: str) -> dt.date:
    """A date from a date, a datetime or ISO text; `what` names it in the error ("rebase date")."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise SpcError(f"{what} {value!r}: expected an ISO date (YYYY-MM-DD)") from None
