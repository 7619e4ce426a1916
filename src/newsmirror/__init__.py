"""newsmirror: keep a censorship-resistant mirror of news sites.

From Python, `from newsmirror.extract import extract` gives the extractor the mirror uses: `newsmirror.extract`
is the package that holds it (a package and a function cannot share the name `newsmirror.extract`).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
