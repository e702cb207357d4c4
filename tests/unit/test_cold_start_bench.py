"""bench/cold_start.py measures every function: each one behind API Gateway needs a request of its own
(a scheduled event reaching a Mangum handler is an error, which once stopped the bench at trading)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_every_http_function_has_a_request_to_cold_start_it():
    sys.path.insert(0, str(BENCH))
    try:
        import cold_start
    finally:
        sys.path.remove(str(BENCH))
    served = set(cold_start.http_functions())
    assert {"trading", "stocks", "alerts", "token"} <= served
    assert served <= set(cold_start.REQUESTS), served - set(cold_start.REQUESTS)
    for method, path, _ in cold_start.REQUESTS.values():
        assert method in {"GET", "POST"} and path.startswith("/api/v1/") and path.endswith("/")
