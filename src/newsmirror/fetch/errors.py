"""What a fetch that failed raises: its own module, so that robots.txt handling and the fetcher share it
without importing each other."""

from __future__ import annotations


class FetchError(Exception):
    """A URL that could not be fetched; `reason` is one line for the log and `status`."""

    def __init__(self, url: str, reason: str, *, status: int | None = None, retry: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status
        self.retry = retry
        self.retry_after = retry_after

    def __reduce__(self) -> tuple:  # rebuilt from its own fields (its message is not its first argument)
        return type(self), (self.url, self.reason), dict(self.__dict__)
