"""Strict request types: what a request field accepts, stated in the schema and checked word for word."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

MAX_OFFSET = 1_000_000


def _iso_date(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("Enter a date as YYYY-MM-DD.")
    if not isinstance(value, (str, date)):
        raise ValueError("Enter a date as YYYY-MM-DD.")
    return value


def _iso_datetime(value: Any) -> Any:
    if not isinstance(value, (str, datetime)):
        raise ValueError("Enter a date and time in ISO 8601, with a time zone.")
    return value


def _query_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError("Must be true or false.")


def _json_int(value: Any) -> Any:
    """JSON's integers: 7 or 7.0 (the same number in JSON), never "7" or true."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("Enter a whole number.")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("Enter a whole number.")
        return int(value)
    return value


def positive_decimal_pattern(max_value: int, places: int) -> str:
    """A regex for decimal strings in (0, max_value] with at most ``places`` decimals (max_value a
    power of ten): what a schema can say and the server checks, word for word."""
    digits = len(str(max_value)) - 1
    fraction = "|".join(f"0{{{k}}}[1-9][0-9]{{0,{places - k - 1}}}" for k in range(places))
    return (
        rf"^(?:0*[1-9][0-9]{{0,{digits - 1}}}(?:\.[0-9]{{1,{places}}})?"
        rf"|0*{max_value}(?:\.0{{1,{places}}})?"
        rf"|0*\.(?:{fraction}))$"
    )


def positive_decimal(max_value: int, places: int, description: str, *, exact: bool = False) -> Any:
    """A positive decimal sent as a JSON number or a numeric string, at most ``max_value``, kept to
    ``places`` decimals. Checked before rounding, so what the schema refuses the server refuses.
    ``exact``: a number with more decimals is refused too, never rounded (money and quantities)."""
    pattern = positive_decimal_pattern(max_value, places)
    smallest = Decimal(1).scaleb(-places)
    quantum = smallest

    def parse(value: Any) -> Decimal:
        if value is None:
            raise ValueError("This field may not be null.")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError("Enter a number.")
        if isinstance(value, str):
            if not re.fullmatch(pattern, value):
                raise ValueError(
                    f"Enter a number greater than 0 and at most {max_value}, with at most {places} decimals."
                )
            number = Decimal(value)
        else:
            number = Decimal(str(value))
            if not number.is_finite() or not smallest <= number <= max_value:
                raise ValueError(f"Ensure this value is at least {smallest} and at most {max_value}.")
            if exact and number.as_tuple().exponent < -places:
                raise ValueError(f"Ensure that there are no more than {places} decimal places.")
        return number.quantize(quantum, rounding=ROUND_HALF_UP)

    schema = {
        "description": description,
        "anyOf": [
            {"type": "number", "minimum": float(smallest), "maximum": max_value},
            {"type": "string", "pattern": pattern},
        ],
    }
    return Annotated[Decimal, BeforeValidator(parse), WithJsonSchema(schema)]


def _symbol(value: str) -> str:
    from tickerwatch.market_data import SYMBOL_RE

    if not SYMBOL_RE.fullmatch(value.upper()):  # match() would let "TSLA\n" through
        raise ValueError(f"'{value}' is not a valid ticker symbol.")
    return value


# A ticker as clients send it (any case, surrounding spaces ignored); the schema states the pattern,
# the validator says what is wrong in words.
TickerSymbol = Annotated[
    str,
    Field(min_length=1, max_length=15, json_schema_extra={"pattern": r"^[A-Za-z0-9][A-Za-z0-9.^=-]{0,14}$"}),
    AfterValidator(_symbol),
]


def json_int(ge: int, le: int) -> Any:
    """An integer in [ge, le] as JSON has them: 7 or 7.0, never "7" or true."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_json_int)]


# A PATCH field that may be left out but not cleared: the OpenAPI document does not offer null (the
# domain answers a null with 400, naming the field).
NotNull = SkipJsonSchema[None]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]
QueryBool = Annotated[bool, BeforeValidator(_query_bool)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
ResourceId = Annotated[int, Path(ge=1, le=2**63 - 1)]
