"""[workers] engine = "dask": the run's CPU work on a Dask cluster gives the tree the local engine gives.

The cluster tests run where Dask's `distributed` installs (the `test` extra brings it); the errors for a
missing extra and a scheduler that does not answer are checked everywhere.
"""

from __future__ import annotations

import asyncio
import copyreg
import gc
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

import newsmirror
from newsmirror.pipeline.analyse import analyse_page
from newsmirror.pipeline.context import DASK_PAGE_BATCH, Context
from newsmirror.pipeline.seams import SEAMS
from newsmirror.store import Store
from newsmirror.workers import Calls, DaskPool

from .cluster_faults import FAULTS_ENV
from .conftest import minimal_config
from .test_pipeline import cli_run, demo_config
from .test_reproducible import EPOCH, tree

# the tests on the scheduler and two workers started from the CLI share them (a module fixture): they run in one
# pytest-xdist worker, so that cluster is started once; the others (each with a cluster of its own, or none) run
# wherever there is room
on_the_shared_cluster = pytest.mark.xdist_group("cli-cluster")

PIDS_ENV = "NEWSMIRROR_TEST_PIDS"  # a folder where each analysed page leaves the id of the process that did it


PICKLING = dict(copyreg.dispatch_table)  # as it is before distributed is imported (by a test or a fixture)


@pytest.fixture(autouse=True)
def pickling_as_it_was() -> Iterator[None]:
    """Importing distributed makes every exception class pickle through tblib (copyreg, for the whole process):
    undone after each test, so that the process pool's tests run after these in this process see Python's own."""
    yield
    copyreg.dispatch_table.clear()
    copyreg.dispatch_table.update(PICKLING)


def analyse_recorded(*args: object) -> object:
    """analyse_page, leaving behind which process ran it (module-level: it travels to the workers by name)."""
    folder = os.environ.get(PIDS_ENV)
    if folder:
        with open(Path(folder) / f"{os.getpid()}", "a", encoding="utf-8") as f:
            # (and how many objects its collections leave out, and whether the extractor was imported before it)
            f.write(f"page {gc.get_freeze_count()} {int('newsmirror.extract' in sys.modules)}\n")
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
@on_the_shared_cluster
def test_calls_go_to_the_cluster_in_batches_and_come_back_each_to_its_caller(cli_workers):
    pool = DaskPool(cli_workers.address)
    try:
        calls = Calls(pool, batch=8)

        async def all_of() -> list:
            return await asyncio.gather(*(calls(square, x) for x in range(16)))

        out = asyncio.run(all_of())
        assert calls.width >= 1
        # each worker, started with the README's --preload, froze what it held once it was ready (its collections
        # then walk what each task makes, not all of Dask too): thousands of objects each
        frozen = pool.client.run(gc.get_freeze_count)
    finally:
        pool.shutdown()
    assert [r[0] for r in out] == [x * x for x in range(16)]
    assert os.getpid() not in {r[1] for r in out}  # done by the cluster's worker processes
    assert calls.tasks == 2
    assert len(frozen) == 2 and min(frozen.values()) > 10_000


@pytest.mark.cluster
@on_the_shared_cluster
def test_a_run_sends_the_cluster_big_batches_and_one_more_than_its_workers_take(cli_workers, tmp_path):
    """A Dask task costs its scheduler and its worker milliseconds beside the pages' own work: a run's pages go to
    the cluster up to DASK_PAGE_BATCH a task, with a batch more waiting than the workers run; a run of few pages
    still gives every worker some."""
    cfg = minimal_config(tmp_path, "http://127.0.0.1:1",
                         extra=f'[workers]\nengine = "dask"\nscheduler = "{cli_workers.address}"\n')
    ctx = Context(cfg, Store(tmp_path / "s.db"), [], "")
    seen = []
    try:
        for n in (10_000, 10):
            with ctx.workers(n):
                seen.append((ctx.calls.batch, ctx.calls.width, ctx.calls.window, ctx.inflight()._value))
        with ctx.workers(10, writes_tree=True):  # pictures: on this machine's processes, a few at a time
            pictures = ctx.inflight()._value
    finally:
        ctx.close_cluster()
        ctx.store.close()
    concurrency = ctx.cfg.fetch.concurrency
    assert seen == [(DASK_PAGE_BATCH, 2, DASK_PAGE_BATCH * 3, concurrency + DASK_PAGE_BATCH * 3),
                    (5, 2, 15, concurrency + 15)]
    assert pictures == concurrency + 8


class Tattle:
    """An argument that leaves, in `folder`, the id of every process that unpickles it."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        Path(self.folder, str(os.getpid())).touch()


def pid_of(_: Tattle) -> int:
    return os.getpid()


@pytest.mark.cluster
@on_the_shared_cluster
def test_the_scheduler_passes_the_pages_on_without_unpickling_them(cli_workers, tmp_path):
    """The scheduler reads every task it is sent: a task's pages, as objects, would be unpickled there (a third of
    its CPU per page, as much as the run's own), and pickled again for the worker. They go as one bytes object."""
    pool = DaskPool(cli_workers.address)
    try:
        worker = pool.submit(pid_of, Tattle(str(tmp_path))).result(timeout=60)
    finally:
        pool.shutdown()
    unpickled_by = {int(p.name) for p in tmp_path.iterdir()}
    assert worker in unpickled_by  # (the worker did, to run it)
    assert cli_workers.scheduler.pid not in unpickled_by


@on_the_shared_cluster
def test_the_tests_on_the_shared_cluster_are_sent_to_one_pytest_worker(request: pytest.FixtureRequest) -> None:
    """pytest-xdist marks a grouped test's id with its group, and sends the group to one worker; where it does not
    (pytest-xdist on pytest 9.2), each worker would start a cluster of its own for these tests."""
    if request.config.getoption("dist", "no") == "no" and "PYTEST_XDIST_WORKER" not in os.environ:
        return  # one process: nothing is distributed
    assert request.node.nodeid.endswith("@cli-cluster")


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
    frozen: list[int] = []  # what the run keeps out of its garbage collections, once its pages are fetched
    monkeypatch.setattr(SEAMS, "after_fetch", lambda _changed: frozen.append(gc.get_freeze_count()))
    gc.unfreeze()  # (the local run before froze what this process held)
    dask = with_workers(config_in(tmp_path / "dask", demo_server.base), 'engine = "dask"')
    res = cli_run(dask, "run")
    assert res.exit_code == 0, res.output
    # the run's long-lived objects (modules, config, store, Dask's client) are frozen, as with the local pool: each
    # collection of the fetch phase scans what the phase made, not the whole run (half its GC time at 5,000 pages)
    assert frozen and frozen[0] > 10_000

    ran = {int(p.name) for p in pids.iterdir()}
    assert ran and os.getpid() not in ran  # every page was analysed on the cluster, none here
    # its workers preloaded the extractor, as the README starts `dask worker`, and froze what they held then
    # (analyse.dask_setup): their collections walk what each page makes, not all of Dask too
    lines = [line.split() for p in pids.iterdir() for line in p.read_text().splitlines()]
    assert all(int(freeze) > 10_000 for _, freeze, _ in lines)
    assert all(loaded == "1" for _, _, loaded in lines)  # before its first page too
    made, expected = same_run(tree(tmp_path / "dask" / "out")), same_run(tree(tmp_path / "local" / "out"))
    assert len(expected) > 10
    assert sorted(made) == sorted(expected)
    assert [p for p in expected if made[p] != expected[p]] == []


@dataclass
class CliCluster:
    address: str
    scheduler: subprocess.Popen
    faults: Path  # what the workers' preload (tests/cluster_faults.py) reads and leaves: see there


@contextmanager
def cli_cluster(faults: Path, n_workers: int = 2, allowed_failures: int = 1) -> Iterator[CliCluster]:
    """`dask scheduler` and `dask worker` processes started as an operator would, on 127.0.0.1, the workers with
    the fault tests' preload; yielded once its workers are in (a bounded wait); all of them killed at the end.
    A task may kill `allowed_failures` workers and still run (distributed.scheduler.allowed-failures)."""

    faults.mkdir(parents=True, exist_ok=True)
    # the workers import the newsmirror under test, and the preload, wherever they start
    src, root = (str(Path(f).resolve().parents[1]) for f in (newsmirror.__file__, __file__))
    env = {**os.environ, FAULTS_ENV: str(faults),
           "PYTHONPATH": os.pathsep.join(p for p in (src, root, os.environ.get("PYTHONPATH")) if p),
           "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(allowed_failures)}
    address = f"tcp://127.0.0.1:{free_port()}"
    dask = [sys.executable, "-m", "dask"]
    procs = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(n_workers):
            procs.append(subprocess.Popen([*dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                           "--no-dashboard", "--preload", "newsmirror.pipeline.analyse",  # (README)
                                           "--preload", "tests.cluster_faults"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        cluster = CliCluster(address, procs[0], faults)
        wait_for_workers(cluster, n_workers)
        yield cluster
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait(timeout=30)


def wait_for_workers(cluster: CliCluster, n: int) -> None:
    from distributed import Client

    with Client(cluster.address, timeout=60) as client:
        client.wait_for_workers(n, timeout=120)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliCluster]:
    """A scheduler and two workers started from the CLI, shared by the tests that leave them standing."""
    pytest.importorskip("distributed")
    with cli_cluster(tmp_path_factory.mktemp("faults")) as cluster:
        yield cluster


@pytest.fixture
def cli_workers(two_workers: CliCluster) -> Iterator[CliCluster]:
    """The shared cluster, both workers in (one killed by the last test is back) and no fault asked for."""
    faults = two_workers.faults
    shutil.rmtree(faults)
    faults.mkdir()
    wait_for_workers(two_workers, 2)
    yield two_workers
    shutil.rmtree(faults)
    faults.mkdir()


def on_cluster(tmp_path: Path, base: str, cluster: CliCluster) -> Path:
    return with_workers(config_in(tmp_path / "dask", base), f'engine = "dask"\nscheduler = "{cluster.address}"')


def analysed_by(cluster: CliCluster) -> set[int]:
    return {int(p.name) for p in (cluster.faults / "pids").iterdir()}


def same_tree(made: Path, expected: Path) -> None:
    got, want = same_run(tree(made)), same_run(tree(expected))
    assert len(want) > 10
    assert sorted(got) == sorted(want)
    assert [p for p in want if got[p] != want[p]] == []


def newsmirror_process(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    """`newsmirror -q …` in a process of its own, as an operator runs it: its stderr is all a terminal shows."""
    return subprocess.run([sys.executable, "-m", "newsmirror", "--config", str(cfg), "-q", *args],
                          capture_output=True, text=True, timeout=600)


@on_the_shared_cluster
@pytest.mark.cluster
def test_the_demo_on_a_scheduler_and_two_workers_started_from_the_cli_gives_the_same_tree(demo_server, tmp_path,
                                                                                          monkeypatch, cli_workers):
    local_run_first(tmp_path, demo_server.base, monkeypatch)
    res = cli_run(on_cluster(tmp_path, demo_server.base, cli_workers), "run")
    assert res.exit_code == 0, res.output
    ran = analysed_by(cli_workers)
    assert ran and os.getpid() not in ran  # the pages were analysed by the workers, none here
    same_tree(tmp_path / "dask" / "out", tmp_path / "local" / "out")


@on_the_shared_cluster
@pytest.mark.cluster
def test_a_worker_killed_mid_run_loses_nothing_its_task_runs_on_another(demo_server, tmp_path, monkeypatch,
                                                                        cli_workers):
    local_run_first(tmp_path, demo_server.base, monkeypatch)
    (cli_workers.faults / "kill-worker").write_text("", encoding="utf-8")  # the first worker to start a page dies
    res = cli_run(on_cluster(tmp_path, demo_server.base, cli_workers), "run")
    assert res.exit_code == 0, res.output
    [taken] = cli_workers.faults.glob("kill-worker.taken-by-*")
    killed = int(taken.name.rsplit("-", 1)[1])
    with pytest.raises(ProcessLookupError):
        os.kill(killed, 0)  # it is gone
    assert analysed_by(cli_workers) - {killed}  # its pages were analysed again, by another worker
    same_tree(tmp_path / "dask" / "out", tmp_path / "local" / "out")


@on_the_shared_cluster
@pytest.mark.cluster
def test_a_page_that_kills_every_worker_ends_the_run_with_one_line_and_the_next_run_completes(
        demo_server, tmp_path, monkeypatch, cli_workers):
    local_run_first(tmp_path, demo_server.base, monkeypatch)
    cfg = on_cluster(tmp_path, demo_server.base, cli_workers)
    (cli_workers.faults / "kill-workers").write_text("", encoding="utf-8")  # every worker starting a page dies
    res = newsmirror_process(cfg, "run")
    assert res.returncode == 1, res.stderr
    # no traceback, no log of Dask's: the pages it was working on, each logged as failed, then the one line
    *pages, last = res.stderr.splitlines()
    assert pages and all(" ERROR failed http://127.0.0.1:" in line and "the Dask workers died" in line
                         for line in pages), res.stderr
    assert last.startswith("newsmirror: a page killed every Dask worker") and "allowed-failures" in last
    assert "failed attempt" in last
    status = cli_run(cfg, "status").output
    assert "the Dask workers died while working on it" in status  # a failed attempt: given up if it goes on
    (cli_workers.faults / "kill-workers").unlink()
    wait_for_workers(cli_workers, 2)  # their nannies started them again
    res = cli_run(cfg, "run")
    assert res.exit_code == 0, res.output
    same_tree(tmp_path / "dask" / "out", tmp_path / "local" / "out")


@pytest.mark.cluster
def test_the_scheduler_killed_mid_run_is_one_line_and_the_next_local_run_gives_the_same_tree(
        demo_server, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    local_run_first(tmp_path, demo_server.base, monkeypatch)
    with cli_cluster(tmp_path / "faults", n_workers=1) as cluster:
        cfg = on_cluster(tmp_path, demo_server.base, cluster)
        # the worker that starts the run's third page kills the scheduler, then finishes its page for nobody
        (cluster.faults / "kill-scheduler").write_text(f"{cluster.scheduler.pid} 3", encoding="utf-8")
        res = newsmirror_process(cfg, "run")
        assert cluster.scheduler.wait(timeout=30) == -signal.SIGKILL
    assert res.returncode == 1, res.stderr
    assert len(res.stderr.splitlines()) == 1, res.stderr  # no traceback, no log of Dask's
    assert "lost the Dask scheduler at " + cluster.address in res.stderr and "run again" in res.stderr
    out = tmp_path / "dask" / "out"
    assert not (out / "pages").exists()  # it stopped before the build: nothing half-written
    status = cli_run(cfg, "status")
    assert "died" not in status.output  # the pages it was working on are not the pages' fault: no failed attempt
    cfg.write_text(cfg.read_text(encoding="utf-8").split("\n[workers]\n")[0], encoding="utf-8")  # the local engine
    res = cli_run(cfg, "run")
    assert res.exit_code == 0, res.output
    same_tree(out, tmp_path / "local" / "out")


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


@pytest.mark.cluster
def test_a_scheduler_that_stops_answering_mid_run_is_given_up_with_one_line(demo_server, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    import time

    monkeypatch.setattr("newsmirror.workers.HEARTBEAT_SECONDS", 0.5)  # asked twice a second, given 2 s
    monkeypatch.setattr("newsmirror.workers.ANSWER_SECONDS", 2)
    with cli_cluster(tmp_path / "faults", n_workers=1) as cluster:
        cfg = on_cluster(tmp_path, demo_server.base, cluster)
        # the worker that starts the run's first page stops the scheduler: every connection stays open
        (cluster.faults / "stop-scheduler").write_text(f"{cluster.scheduler.pid} 1", encoding="utf-8")
        started = time.monotonic()
        res = cli_run(cfg, "run")
        took = time.monotonic() - started
        assert list(cluster.faults.glob("stop-scheduler.taken-by-*"))  # it was stopped (and is killed at the end)
    assert res.exit_code == 1, res.output
    lines = [line for line in res.output.splitlines() if line.startswith("newsmirror:")]
    assert len(lines) == 1 and "Traceback" not in res.output, res.output
    assert f"lost the Dask scheduler at {cluster.address} mid-run (no answer in 2 s)" in lines[0]
    assert took < 60  # not the hang a stopped scheduler would otherwise hold the run in


@pytest.mark.cluster
@on_the_shared_cluster
def test_reextract_on_the_cluster_gives_the_local_engines_tree(demo_server, tmp_path, monkeypatch, cli_workers):
    local_run_first(tmp_path, demo_server.base, monkeypatch)
    shutil.copytree(tmp_path / "local", tmp_path / "dask", symlinks=True)  # the same mirror: store, WARCs, tree
    # the extraction improved: the culture source's rules now drop each article's last paragraph
    rules = '\n[sources.rules]\nremove = ["p:last-child"]\n'
    for name in ("local", "dask"):
        cfg = tmp_path / name / "newsmirror.toml"
        cfg.write_text(cfg.read_text(encoding="utf-8") + rules, encoding="utf-8")
    res = cli_run(tmp_path / "local" / "newsmirror.toml", "build", "--reextract")
    assert res.exit_code == 0, res.output
    assert re.search(r"\b[1-9]\d* updated", res.output), res.output  # the tree changes: a test that could fail
    assert not (cli_workers.faults / "pids").exists()  # nothing went to the cluster so far
    cfg = with_workers(tmp_path / "dask" / "newsmirror.toml", f'engine = "dask"\nscheduler = "{cli_workers.address}"')
    res = cli_run(cfg, "build", "--reextract")
    assert res.exit_code == 0, res.output
    ran = analysed_by(cli_workers)
    assert ran and os.getpid() not in ran  # the records were analysed by the workers
    same_tree(tmp_path / "dask" / "out", tmp_path / "local" / "out")


BENCH_ARTICLES = 1000


@pytest.mark.cluster
@pytest.mark.slow
@on_the_shared_cluster
def test_1000_benchmark_articles_on_a_dask_cluster_give_the_local_engines_tree(tmp_path, monkeypatch, cli_workers):
    """The benchmark's site (benchmarks/mirror.py: 1,000 generated articles in 10 feeds) mirrored with its config by
    each engine: the same tree, byte for byte. The cluster is the scheduler and two workers started from the CLI
    (the demo test above covers a cluster the run starts itself). Its text mode (pictures linked, not mirrored):
    pictures are mirrored on this machine whatever the engine, and would double the test's time."""
    from benchmarks.mirror import Server, write_config

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    server = Server(BENCH_ARTICLES, pictures=False)  # (text mode: the pictures are never fetched)
    try:
        on_cli_cluster = f'\n[workers]\nengine = "dask"\nscheduler = "{cli_workers.address}"\n'
        for name, workers in (("local", ""), ("dask", on_cli_cluster)):
            (tmp_path / name).mkdir()
            cfg = write_config(tmp_path / name, server.base, BENCH_ARTICLES, "rules-text")
            cfg.write_text(cfg.read_text(encoding="utf-8") + workers, encoding="utf-8")
            res = cli_run(cfg, "-q", "run")
            assert res.exit_code == 0, res.output
            assert f"{BENCH_ARTICLES} new" in res.output, res.output
    finally:
        server.stop()
    assert len(analysed_by(cli_workers)) >= 2  # the pages were analysed by both workers, none here
    made, expected = same_run(tree(tmp_path / "dask" / "mirror")), same_run(tree(tmp_path / "local" / "mirror"))
    assert len([p for p in expected if p.startswith("pages/")]) >= BENCH_ARTICLES
    assert sorted(made) == sorted(expected)
    assert [p for p in expected if made[p] != expected[p]] == []
