"""Where a request's blocking work runs (a sync endpoint, reading the user)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
from collections.abc import Callable
from typing import Any

# Blocking work of a request (a sync endpoint, reading the user) runs here: asyncio's executor with the
# request's context (its log keys) copied in. Starlette's run_in_threadpool (anyio) costs 65 us of CPU a
# hop on the development machine, this 27 (bench/thread_hop.py); 40 threads, as anyio's default limit.
_THREADS = concurrent.futures.ThreadPoolExecutor(max_workers=40, thread_name_prefix="request")


async def in_thread(function: Callable, *args: Any, **kwargs: Any) -> Any:
    call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_THREADS, call)
