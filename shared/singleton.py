"""A value made on first use and shared by every thread of the process, until closed."""

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerProcess(Generic[T]):
    def __init__(self, make: Callable[[], T], close: Callable[[T], None]) -> None:
        self._make, self._close = make, close
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        if self._value is None:  # checked again under the lock: made once
            with self._lock:
                if self._value is None:
                    self._value = self._make()
        return self._value

    def close(self) -> None:
        with self._lock:
            if self._value is not None:
                self._close(self._value)
                self._value = None
