"""[workers] engine = "dask": the run's CPU work on a Dask cluster gives the tree the local engine gives.

The cluster tests run where Dask's `distributed` installs (the `test` extra brings it); the errors for a
missing extra and a scheduler that does not answer are checked everywhere.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import newsmirror
from newsmirror.pipeline.analyse import analyse_page
from newsmirror.pipeline.seams import SEAMS
from newsmirror.workers import Calls, DaskPool

from .test_pipeline import cli_run, demo_config
from .test_reproducible import EPOCH, tree

PIDS_ENV = "NEWSMIRROR_TEST_PIDS"  # a folder where each analysed page leaves the id of the process that did it


@pytest.fixture(autouse=True)
def pickling_as_it_was() -> Iterator[None]:
    """Importing distributed makes every exception class pickle through tblib (copyreg, for the whole process):
    undone after each test, so that the process pool's tests run after these in this process see Python's own."""
    import copyreg

    saved = dict(copyreg.dispatch_table)
    yield
    copyreg.dispatch_table.clear()
    copyreg.dispatch_table.update(saved)


def analyse_recorded(*args: object) -> object:
    """analyse_page, leaving behind which process ran it (module-level: it travels to the workers by name)."""
    folder = os.environ.get(PIDS_ENV)
    if folder:
        with open(Path(folder) / f"{os.getpid()}", "a", encoding="utf-8") as f:
            f.write("page\n")
    return analyse_page(*args)


def same_run(files: dict[str, bytes]) -> dict[str, bytes]:
    """A tree as any run gives it: each WARC record's id is random (WARC's rule), so two runs name theirs apart."""
    return {p: re.sub(rb"<urn:uuid:[0-9a-f-]{36}>", b"<urn:uuid:(a record)>", b) for p, b in files.items()}


def config_in(folder: Path, base: str) -> Path:
    folder.mkdir()
    return demo_config(folder, base)


def with_workers(cfg: Path, section: str) -> Path:
    cfg.write_text(cfg.read_text(encoding="utf-8") + f"\n[workers]\n{section}\n", encoding="utf-8")
    return cfg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def square(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


@pytest.mark.cluster
def test_calls_go_to_the_cluster_in_batches_and_come_back_each_to_its_caller():
    pytest.importorskip("distributed")
    pool = DaskPool(None)
    try:
        calls = Calls(pool, batch=8)

        async def all_of() -> list:
            return await asyncio.gather(*(calls(square, x) for x in range(16)))

        out = asyncio.run(all_of())
        assert calls.width >= 1
    finally:
        pool.shutdown()
    assert [r[0] for r in out] == [x * x for x in range(16)]
    assert os.getpid() not in {r[1] for r in out}  # done by the cluster's worker processes
    assert calls.tasks == 2


def local_run_first(tmp_path: Path, base: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo mirrored by the local engine into tmp_path/local (the tree to match), and a folder for the pids
    of the processes that analyse pages on the cluster."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    res = cli_run(config_in(tmp_path / "local", base), "run")
    assert res.exit_code == 0, res.output
    pids = tmp_path / "pids"
    pids.mkdir()
    return pids


@pytest.mark.cluster
def test_the_demo_on_a_local_dask_cluster_gives_the_local_engines_tree_byte_for_byte(demo_server, tmp_path,
                                                                                     monkeypatch):
    pytest.importorskip("distributed")
    pids = local_run_first(tmp_path, demo_server.base, monkeypatch)
    monkeypatch.setenv(PIDS_ENV, str(pids))  # the cluster's workers, started by the run, inherit it
    monkeypatch.setattr(SEAMS, "analyse_page", analyse_recorded)
    dask = with_workers(config_in(tmp_path / "dask", demo_server.base), 'engine = "dask"')
    res = cli_run(dask, "run")
    assert res.exit_code == 0, res.output

    ran = {int(p.name) for p in pids.iterdir()}
    assert ran and os.getpid() not in ran  # every page was analysed on the cluster, none here
    made, expected = same_run(tree(tmp_path / "dask" / "out")), same_run(tree(tmp_path / "local" / "out"))
    assert len(expected) > 10
    assert sorted(made) == sorted(expected)
    assert [p for p in expected if made[p] != expected[p]] == []


@contextmanager
def cli_cluster(env: dict[str, str], n_workers: int = 2) -> Iterator[str]:
    """`dask scheduler` and `dask worker` processes started as an operator would, on 127.0.0.1; the scheduler's
    address, once its workers are in (a bounded wait); all of them killed at the end."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{free_port()}"
    dask = [sys.executable, "-m", "dask"]
    procs = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(n_workers):
            procs.append(subprocess.Popen([*dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                           "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        with Client(address, timeout=60) as client:
            client.wait_for_workers(n_workers, timeout=120)
        yield address
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait(timeout=30)


@pytest.mark.cluster
def test_the_demo_on_a_scheduler_and_two_workers_started_from_the_cli_gives_the_same_tree(demo_server, tmp_path,
                                                                                          monkeypatch):
    pytest.importorskip("distributed")
    pids = local_run_first(tmp_path, demo_server.base, monkeypatch)
    # the workers import the newsmirror under test, and this module (analyse_recorded), wherever they start
    src, root = (str(Path(f).resolve().parents[1]) for f in (newsmirror.__file__, __file__))
    env = {**os.environ, PIDS_ENV: str(pids),
           "PYTHONPATH": os.pathsep.join(p for p in (src, root, os.environ.get("PYTHONPATH")) if p)}
    monkeypatch.setattr(SEAMS, "analyse_page", analyse_recorded)
    with cli_cluster(env) as address:
        dask = with_workers(config_in(tmp_path / "dask", demo_server.base),
                            f'engine = "dask"\nscheduler = "{address}"')
        res = cli_run(dask, "run")
    assert res.exit_code == 0, res.output
    ran = {int(p.name) for p in pids.iterdir()}
    assert ran and os.getpid() not in ran  # the pages were analysed by the workers, none here
    made, expected = same_run(tree(tmp_path / "dask" / "out")), same_run(tree(tmp_path / "local" / "out"))
    assert sorted(made) == sorted(expected)
    assert [p for p in expected if made[p] != expected[p]] == []


def test_engine_dask_without_the_extra_is_one_line_naming_the_key_and_the_fix(demo_server, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",  # as on a machine where it is not installed
                        lambda name, *a, **kw: None if name == "distributed" else real(name, *a, **kw))
    cfg = with_workers(demo_config(tmp_path, demo_server.base), 'engine = "dask"')
    res = cli_run(cfg, "run")
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    assert 'workers.engine = "dask"' in lines[0] and "pip install 'newsmirror[cluster]'" in lines[0]
    assert not (tmp_path / "out").exists()  # said before anything started


@pytest.mark.cluster
def test_a_scheduler_that_does_not_answer_is_one_line_naming_the_key_and_the_fix(demo_server, tmp_path,
                                                                                 monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("newsmirror.workers.CONNECT_SECONDS", 0.5)
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    cfg = with_workers(demo_config(tmp_path, demo_server.base), f'engine = "dask"\nscheduler = "{address}"')
    res = cli_run(cfg, "run")
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.strip().splitlines() if line.startswith("newsmirror:")]
    assert len(lines) == 1, res.output
    assert "workers.scheduler" in lines[0] and address in lines[0] and "dask scheduler" in lines[0]
