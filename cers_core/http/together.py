"""Running requests side by side, and stopping them all when one fails for good.

``asyncio.gather`` leaves the other requests running when one fails: they would go on
fetching pages nobody will use, and be cut off half-way when the event loop closes. Here a
lasting failure (after its retries) cancels the others and waits for them to stop, then
raises that failure itself — the typed error the user sees — not an exception group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["first_error", "together"]

T = TypeVar("T")


def first_error(group: BaseExceptionGroup) -> BaseException:
    """The first real failure in a task group's exceptions (not a sibling's cancellation)."""
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return first_error(error)
        if not isinstance(error, asyncio.CancelledError):
            return error
    return group.exceptions[0]


async def together(*work: Coroutine[Any, Any, T]) -> list[T]:
    """The results of ``work`` in order, run concurrently; the first lasting failure stops all."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(item) for item in work]
    except BaseExceptionGroup as failures:
        raise first_error(failures) from None
    return [task.result() for task in tasks]
