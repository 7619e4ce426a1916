"""The repository is whole by itself: no test reads outside it."""

from __future__ import annotations

import re
from pathlib import Path

from .conftest import FIXTURES, NTD, SEED_MD

TESTS = Path(__file__).parent


def test_no_test_reads_outside_the_repository() -> None:
    """A user's clone has nothing beside it: a test that reads the shared folder beside a developer's
    checkout collects and then fails there."""
    pattern = re.compile(r"""\.\./shared|parents?\[?\d*\]?\s*/\s*["']shared["']|parent\s*/\s*["']shared""")
    offenders = [str(p.relative_to(TESTS)) for p in TESTS.rglob("*.py")
                 if p.name != "test_fixtures.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_copied_fixtures_are_whole() -> None:
    """The seed page, its feed and the page an existing mirror made of it are in the repository (`.ci/run`
    checks them byte for byte against the project's shared originals when those sit beside the checkout)."""
    for copy in (NTD / "a103612902.html", NTD / "feed.xml", SEED_MD):
        assert copy.stat().st_size > 500, copy
    assert "普京邀习近平访俄" in (NTD / "a103612902.html").read_text(encoding="utf-8")
    assert "a103612902.html" in (NTD / "feed.xml").read_text(encoding="utf-8")
    assert (FIXTURES / "README.md").is_file()
