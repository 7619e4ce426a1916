"""The shape issue 16 set for the code, kept: small modules, and an orchestrator and build planner whose every
function reads at a glance (radon's cyclomatic complexity, as Pelican's and Scrapy's orchestrators are measured)."""

from __future__ import annotations

from pathlib import Path

from radon.complexity import cc_visit

SRC = Path(__file__).resolve().parent.parent / "src" / "newsmirror"
MAX_LINES = 500
MAX_COMPLEXITY = 15  # for the orchestrator (newsmirror.pipeline), which holds the run's phases and the build plan


def _modules() -> list[Path]:
    found = sorted(SRC.rglob("*.py"))
    assert len(found) > 50, f"the package was not found at {SRC}"
    return found


def test_no_module_is_over_500_lines() -> None:
    long = {str(p.relative_to(SRC)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"modules over {MAX_LINES} lines: split them by what they do"


def test_no_function_of_the_orchestrator_is_over_complexity_15() -> None:
    pipeline = sorted((SRC / "pipeline").glob("*.py"))
    assert len(pipeline) > 5
    scores = {}
    for path in pipeline:
        for block in cc_visit(path.read_text()):
            scores[f"{path.name}:{block.fullname}"] = block.complexity
    assert "plan.py:plan_build" in scores and "mirror.py:Mirror.run" in scores
    over = {name: score for name, score in scores.items() if score > MAX_COMPLEXITY}
    assert over == {}, "functions of the orchestrator above complexity 15: move the domain rule to its stage"
