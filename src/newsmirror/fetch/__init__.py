"""fetch: bytes + headers for a URL, decoded to text."""

from .decode import decode
from .fetcher import Fetcher, FetchError

__all__ = ["Fetcher", "FetchError", "decode"]
