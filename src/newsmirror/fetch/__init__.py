"""fetch: bytes + headers for a URL, decoded to text."""

from .decode import decode
from .fetcher import Fetcher, FetchError, decode_response

__all__ = ["Fetcher", "FetchError", "decode", "decode_response"]
