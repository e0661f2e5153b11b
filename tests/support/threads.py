"""Run a target on N real threads and fail the test if any of them raised."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_threads(workers: int, target: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:  # surfaced below: a failing thread must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
