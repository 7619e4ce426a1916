"""What one coordinator costs per article, and how far it scales: the local pool against a Dask cluster.

    python benchmarks/cluster.py [--sizes 1000,10000] [--workers 1,2] [--dask-up-to N] [--before SRC] [--no-write]
                                 [--repeat R] [--profile] [--instructions N] [--without-store] [--saturated]

The site server of `benchmarks/mirror.py` (N synthetic Chinese articles, gzip, on 127.0.0.1) serves the pages;
the mirror runs in rules mode with `[images] download = false`, so the phase measured is the pages' own:
fetch, analyse (in the workers), store. For each N, side by side in one run (the machine is shared: compare rows
of one run, not runs):

- *bare client*: a plain aiohttp client fetching the same article pages from the same server, as many at once as
  the mirror (32), keeping each body as received (gzip-coded, as the mirror does): its process's CPU per page is
  the floor for any coordinator that fetches. It varies by a third from one run to the next here, so it runs
  before every local and Dask run (not before the *before* and *without the store* runs, which sit beside one)
  and once after them all, and its median run is the one compared with. Measured alone, and
  also beside as many busy processes as the local pool has workers (*beside the load*), as the coordinator runs
  beside its workers: a process that shares the cores with others spends more CPU on the same work.
- *local*: `newsmirror run` with `[workers] engine = "local"` (its forked process pool).
- *local without the store* (`--without-store`): the same, but every page is dropped once analysed instead of
  stored (no SQLite statement, no commit): what is left of the coordinator's CPU is fetching, shipping to the
  workers and back, and the event loop; the difference with *local* is what the store costs.
- *local, workers replaying* (`--saturated`): the coordinator as the bottleneck. A first run (not measured) has its
  workers record each page's analysis; in this one they answer each page from that record (a tenth of a
  millisecond, not 2.5), so the coordinator fetches, ships and stores as fast as it can: its CPU per page at its
  own top rate, the c that says how many workers one coordinator can feed. Compared with the bare client at its
  top rate. And, beside the plain *local* run, the bare client *at the local run's pace* (its i-th page asked for
  no sooner than i/rate seconds in): a process that handles a page every 1.5 ms wakes for each (an epoll wait, a
  send that wakes the server, buffers one page deep) where one at 15,000 pages a second handles dozens a wake-up,
  so the same client spends three to four times the CPU per page at the pace the workers set; either comparison
  holds the rate equal.
- *dask k*: the same with `engine = "dask"` and the scheduler of a cluster started beside it from the command line
  (`dask scheduler`, `dask worker --nworkers k --nthreads 1 --preload newsmirror.pipeline.analyse`, its profiler
  off, as the README says), all on
  127.0.0.1.

Each mirror run is one process (`--coord`) that runs `newsmirror -q run` in process and stops it when the fetch
phase is over (the build after it is the same for both engines and not measured here). Measured over the fetch
phase: wall time, the coordinator's CPU (the run's process, all its threads), the workers' CPU (the pool's
processes, or the Dask workers' from /proc), and the coordinator's peak RSS (over the whole process, imports
included) and its growth over the phase. *bytes shipped* (a separate local run: pickling costs the coordinator
time) is what crosses the pipe per article, out (the response) and back (the analysis: the article, and where
the worker archived the response: each worker process of the local pool writes its own WARC file).

The model: a coordinator that spends c ms of CPU per article and workers that spend w ms each, with one core each
for the coordinator and every worker, mirror min(1000/c, k·1000/w) articles a second with k workers; the
coordinator saturates at k = w/c workers. On this machine every process shares its 2 cores (with the site server
too), so the prediction checked against the 1- and 2-worker rows is min(that, cores·1000/(c + w + s)), s the
server's CPU per article.

Writes benchmarks/results/cluster.md. Nothing here is a test; it is run by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import mirror as site  # noqa: E402 (the synthetic site, its server and its config)

RESULTS = HERE / "results"
# --instructions: the measured phase lies between a call to getpgid and one to getsid (which nothing else of a run
# calls), where callgrind is told to start and stop counting
PHASE_BEGINS, PHASE_ENDS = os.getpgid, os.getsid
TICK = os.sysconf("SC_CLK_TCK")
CONCURRENCY = 32
WORKER_ENV = {"DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}  # as the README starts `dask worker`
PRELOAD = ("--preload", "newsmirror.pipeline.analyse")  # as it says too: the extractor imported as a worker starts


def proc_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def descendants(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(p.name))
    out, todo = [], [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ---------------------------------------------------------------------------------------------------------------
# the bare client


def bare(urls_file: str, rate: float = 0.0) -> None:
    """`--bare FILE`: fetch every URL of FILE, CONCURRENCY at once; JSON (cpu_s, wall_s, pages, bytes) on stdout.
    `rate` (pages a second): no faster, the i-th page asked for no sooner than i/rate seconds after the first."""
    import aiohttp

    urls = Path(urls_file).read_text().split()

    async def main() -> tuple[int, int]:
        got = [0, 0, 0]  # pages, bytes, pages begun
        it = iter(urls)
        conn = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=conn, auto_decompress=False) as session:
            start = time.perf_counter()

            async def lane() -> None:
                for url in it:
                    if rate:
                        got[2] += 1
                        wait = start + got[2] / rate - time.perf_counter()
                        if wait > 0:
                            await asyncio.sleep(wait)
                    async with session.get(url, headers={"Accept-Encoding": "gzip"}) as resp:
                        body = await resp.read()
                        got[0] += resp.status == 200
                        got[1] += len(body)

            PHASE_BEGINS(0)
            await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
            PHASE_ENDS(0)
        return got[0], got[1]

    ru0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    pages, nbytes = asyncio.run(main())
    ru1, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - t0
    cpu = ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime
    print(json.dumps({"cpu_s": cpu, "wall_s": wall, "pages": pages, "bytes": nbytes}))


# ---------------------------------------------------------------------------------------------------------------
# one mirror run, in process, stopped after the fetch phase


# --saturated: a run whose workers record each page's analysis, then runs whose workers answer from the record
_TAPE_DIR: list[str] = []  # the record's folder (set in the run's process before its workers are forked)
_TAPE: list = []  # this worker process's (process id, its recording connection or its replay connections)


def _tape_key(resp) -> str:  # noqa: ANN001
    return urlsplit(resp.url).path  # (the page's path: its server's port differs from one server to the next)


def recorded(resp, rules, warc, cap, *rest):  # noqa: ANN001, ANN201
    """SEAMS.analyse_page, its result also kept in a file of this worker process (in _TAPE_DIR)."""
    from newsmirror.pipeline.analyse import analyse_page

    result = analyse_page(resp, rules, warc, cap, *rest)
    if not _TAPE or _TAPE[0] != os.getpid():
        con = sqlite3.connect(Path(_TAPE_DIR[0]) / f"{os.getpid()}.sqlite", isolation_level=None)
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("CREATE TABLE IF NOT EXISTS tape (path TEXT PRIMARY KEY, result BLOB)")
        _TAPE[:] = [os.getpid(), con]
    _TAPE[1].execute("INSERT OR REPLACE INTO tape VALUES (?, ?)", (_tape_key(resp),
                                                                   pickle.dumps(result, pickle.HIGHEST_PROTOCOL)))
    return result


def replayed(resp, rules, warc, cap, *rest):  # noqa: ANN001, ANN201
    """SEAMS.analyse_page answered from what `recorded` kept (a page it did not keep is analysed)."""
    if not _TAPE or _TAPE[0] != os.getpid():
        _TAPE[:] = [os.getpid(), [sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
                                  for p in sorted(Path(_TAPE_DIR[0]).glob("*.sqlite"))]]
    for con in _TAPE[1]:
        row = con.execute("SELECT result FROM tape WHERE path=?", (_tape_key(resp),)).fetchone()
        if row:
            return pickle.loads(row[0])
    from newsmirror.pipeline.analyse import analyse_page

    return analyse_page(resp, rules, warc, cap, *rest)


class _Stop(BaseException):
    """Raised at the end of the fetch phase: the build is not measured."""


def coord(cfg: str, worker_pids: list[int], prof: str | None, count_bytes: bool, scheduler_pid: int = 0,
          no_store: bool = False, tape: str | None = None, replay: bool = False) -> None:
    """`--coord CONFIG`: `newsmirror -q run` in process, measured over its fetch phase; JSON on stdout. `tape`: the
    workers record each analysis there (`replay`: answer from it instead)."""
    import cProfile

    from newsmirror.cli import main as nm_main
    from newsmirror.pipeline import mirror as pm
    from newsmirror.pipeline.seams import SEAMS
    from newsmirror.workers import Calls

    out: dict = {"rss_start_mb": rss_mb()}
    inner = pm.fetch_and_analyse
    shipped = [0, 0, 0]  # bytes out, bytes back, calls

    if no_store:  # --without-store: the pages analysed and dropped, none stored (its "new": the pages analysed)
        from newsmirror.pipeline import fetching

        def dropped(ctx, pages, report, flush=lambda: None):  # noqa: ANN001, ANN202
            report.new += len(pages)
            return [None] * len(pages)

        fetching.store_pages = dropped
    if count_bytes:
        orig_call = Calls.__call__

        async def counted(self, fn, *args):  # noqa: ANN001, ANN202
            shipped[0] += len(pickle.dumps((fn, args), pickle.HIGHEST_PROTOCOL))
            result = await orig_call(self, fn, *args)
            shipped[1] += len(pickle.dumps(result, pickle.HIGHEST_PROTOCOL))
            shipped[2] += 1
            return result

        Calls.__call__ = counted  # type: ignore[method-assign]

    sent = Calls._send  # the batches sent to the workers

    def counted_send(self) -> None:  # noqa: ANN001
        before = self.tasks
        sent(self)
        out["tasks"] = out.get("tasks", 0) + self.tasks - before

    Calls._send = counted_send  # type: ignore[method-assign]

    def cpu(who: int) -> float:
        ru = resource.getrusage(who)
        return ru.ru_utime + ru.ru_stime

    async def measured(ctx, todo, fetcher, report):  # noqa: ANN001, ANN202
        if ctx.cfg.workers.engine == "dask":  # the cluster is opened (and its workers warmed) before the clock
            from newsmirror.workers import DaskPool

            ctx.cluster = DaskPool(ctx.cfg.workers.scheduler)
            ctx.cluster.client.run(lambda: __import__("newsmirror.pipeline.analyse"))
        profiler = cProfile.Profile(time.process_time) if prof else None  # CPU, not waits
        w0 = sum(proc_cpu_s(p) for p in worker_pids)
        d0 = proc_cpu_s(scheduler_pid) if scheduler_pid else 0.0
        c0, k0, t0, r0 = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN), time.perf_counter(), rss_mb()
        if profiler:
            profiler.enable()
        try:
            PHASE_BEGINS(0)
            try:
                return await inner(ctx, todo, fetcher, report)
            finally:
                PHASE_ENDS(0)
        finally:
            if profiler:
                profiler.disable()
                profiler.dump_stats(prof)
            out.update(wall_s=time.perf_counter() - t0, coord_cpu_s=cpu(resource.RUSAGE_SELF) - c0,
                       workers_cpu_s=cpu(resource.RUSAGE_CHILDREN) - k0 + sum(proc_cpu_s(p) for p in worker_pids) - w0,
                       scheduler_cpu_s=proc_cpu_s(scheduler_pid) - d0 if scheduler_pid else 0.0,
                       rss_phase_start_mb=r0, rss_phase_end_mb=rss_mb(), todo=len(todo), new=report.new,
                       failed=report.failed, duplicates=report.duplicates)

    pm.fetch_and_analyse = measured
    if os.environ.get("NM_BENCH_SPAWN"):  # --instructions: the workers exec'd, so that valgrind follows none of them
        try:
            from newsmirror import loop_pool

            loop_pool.START_METHOD = "spawn"
        except ImportError:  # the code before the LoopPool (--before): its executor's workers spawned instead
            import multiprocessing

            get = multiprocessing.get_context
            multiprocessing.get_context = lambda method=None: get("spawn" if method == "fork" else method)

    def stop() -> None:
        raise _Stop

    SEAMS.before_build = stop
    if tape:  # (before the pool's workers are forked: they answer so)
        _TAPE_DIR[:] = [tape]
        SEAMS.analyse_page = replayed if replay else recorded
    sys.argv = ["newsmirror", "--config", cfg, "-q", "run"]
    try:
        nm_main()
    except _Stop:
        pass
    except SystemExit as exc:
        out["exit"] = exc.code
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["shipped"] = shipped
    print(json.dumps(out))


# ---------------------------------------------------------------------------------------------------------------
# the runs


def config(folder: Path, base: str, n: int, engine: str, scheduler: str | None) -> Path:
    path = site.write_config(folder, base, n, "rules-text")
    text = path.read_text(encoding="utf-8") + f'\n[workers]\nengine = "{engine}"\n'
    if scheduler:
        text += f'scheduler = "{scheduler}"\n'
    path.write_text(text, encoding="utf-8")
    return path


class Cluster:
    """`dask scheduler` and `dask worker --nworkers k` on 127.0.0.1, started from the command line."""

    def __init__(self, k: int, folder: Path) -> None:
        dask = str(Path(sys.executable).with_name("dask"))
        self.log = open(folder / "cluster.log", "w")  # noqa: SIM115
        self.procs: list[subprocess.Popen] = []
        sched_file = folder / "scheduler.json"
        self.procs.append(subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                            "--no-dashboard", "--scheduler-file", str(sched_file)],
                                           stdout=self.log, stderr=subprocess.STDOUT, cwd=folder))
        deadline = time.time() + 60
        while not sched_file.exists() and time.time() < deadline:
            time.sleep(0.2)
        self.address = json.loads(sched_file.read_text())["address"]
        self.procs.append(subprocess.Popen([dask, "worker", self.address, "--nworkers", str(k), "--nthreads", "1",
                                            "--no-dashboard", "--host", "127.0.0.1", *PRELOAD],
                                           stdout=self.log, stderr=subprocess.STDOUT, cwd=folder,
                                           env={**os.environ, **WORKER_ENV}))
        from distributed import Client

        with Client(self.address, timeout=60) as c:
            c.wait_for_workers(k, timeout=120)
        self.workers = [p for p in descendants(self.procs[1].pid)]  # the nannies' worker processes (and nannies)

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.log.close()


def mirror_run(server: site.Server, n: int, engine: str, k: int, keep: Path | None, *, prof: bool = False,
               count_bytes: bool = False, src: Path | None = None, no_store: bool = False, tape: Path | None = None,
               replay: bool = False) -> dict:
    """One run of the mirror; `tape`: its workers record each page's analysis there (`replay`: answer from it)."""
    label = f"{engine}-{k}" if engine == "dask" else engine
    if no_store:
        label += " without the store"
    if tape is not None:
        label += ", workers replaying" if replay else " (recording)"
    if src is not None:
        label += " (before)"
    folder = Path(tempfile.mkdtemp(prefix=f"nm-cluster-{label}-{n}-"))
    cluster = Cluster(k, folder) if engine == "dask" else None
    try:
        cfg = config(folder, server.base, n, engine, cluster.address if cluster else None)
        cmd = [sys.executable, __file__, "--coord", str(cfg), "--worker-pids",
               ",".join(map(str, cluster.workers if cluster else [])),
               "--scheduler-pid", str(cluster.procs[0].pid if cluster else 0)]
        if prof:
            cmd += ["--prof", str(folder / "coord.prof")]
        if count_bytes:
            cmd += ["--count-bytes"]
        if no_store:
            cmd += ["--no-store"]
        if tape is not None:
            cmd += ["--tape", str(tape), *(["--replay"] if replay else [])]
        s0, busy0 = server.cpu_s(), site.machine_busy_s()
        env = {**os.environ, "PYTHONPATH": str(src)} if src is not None else None  # that code, not this one
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=folder, env=env)
        if proc.returncode != 0 or not proc.stdout.strip():
            raise SystemExit(f"{label} N={n} failed:\n{proc.stderr[-3000:]}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r.update(label=label, engine=engine, k=k, n=n, server_cpu_s=server.cpu_s() - s0,
                 busy_s=site.machine_busy_s() - busy0)
        if prof:
            import pstats

            stats = pstats.Stats(str(folder / "coord.prof"))
            stats.sort_stats("tottime").print_stats(30)
            stats.sort_stats("cumulative").print_stats(40)
        return r
    finally:
        if cluster:
            cluster.stop()
        if keep:
            dest = keep / f"{label}-{n}"
            shutil.rmtree(dest, ignore_errors=True)
            shutil.move(str(folder), dest)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def bare_run(server: site.Server, n: int, busy: int = 0, rate: float = 0.0) -> dict:
    """The bare client over the N pages; `busy`: with that many processes spinning beside it; `rate`: at most that
    many pages a second."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(server.base + site.article_path(i) for i in range(n)))
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    try:
        s0 = server.cpu_s()
        proc = subprocess.run([sys.executable, __file__, "--bare", f.name, "--rate", str(rate)], capture_output=True,
                              text=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r["server_cpu_s"] = server.cpu_s() - s0
        return r
    finally:
        for p in spinners:
            p.kill()
            p.wait()
        os.unlink(f.name)


def report_run(runs: dict[str, list[dict]], r: dict) -> None:
    runs.setdefault(r["label"], []).append(r)
    print(f"{r['label']} N={r['n']}: {r['new'] / r['wall_s']:.0f} articles/s, coordinator "
          f"{ms(r['coord_cpu_s'], r['new']):.3f} ms/article, workers {ms(r['workers_cpu_s'], r['new']):.3f}, "
          f"peak RSS {r['peak_rss_mb']:.0f} MB", file=sys.stderr)


def median_of(runs: list[dict]) -> dict:
    """One row for the runs of one engine: each figure their median (a run's figures stay together only with one)."""
    out = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, float):  # (times, CPU, memory; not counts)
            out[key] = statistics.median(r[key] for r in runs)
    out["runs"] = len(runs)
    return out


def median_run(runs: list[dict]) -> dict:
    """The run of median CPU per page (the lower of the two middle ones for an even count)."""
    return sorted(runs, key=lambda r: r["cpu_s"] / max(1, r["pages"]))[(len(runs) - 1) // 2]


def ms(x: float, n: int) -> float:
    return 1000 * x / max(1, n)


def table(n: int, bare_r: dict, bare_busy: dict, rows: list[dict], shipped: dict | None,
          paced: dict | None = None) -> tuple[str, list[str]]:
    b = ms(bare_r["cpu_s"], bare_r["pages"])
    bb = ms(bare_busy["cpu_s"], bare_busy["pages"])
    lines = ["| run | articles | seconds | articles/s | coordinator CPU ms/article | × bare client | "
             "× bare client beside the load | workers' CPU ms/article | Dask scheduler CPU ms/article | "
             "server CPU ms/article | coordinator peak RSS MB | RSS growth over the phase MB |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    bares = [("bare aiohttp client", bare_r),
             (f"bare aiohttp client beside {bare_busy['busy']} busy processes", bare_busy)]
    if paced:
        bares.append((f"bare aiohttp client at the local run's pace ({paced['rate']:.0f}/s)", paced))
    for label, r in bares:
        c = ms(r["cpu_s"], r["pages"])
        lines.append(f"| {label} | {r['pages']:,} | {r['wall_s']:.2f} | {r['pages'] / r['wall_s']:.0f} | {c:.3f} | "
                     f"{c / b:.1f} | {c / bb:.1f} | – | – | {ms(r['server_cpu_s'], r['pages']):.3f} | – | – |")
    notes = []
    local = next((r for r in rows if r["label"] == "local"), None)
    for r in rows:
        a = r["new"]
        c = ms(r["coord_cpu_s"], a)
        sched = f"{ms(r['scheduler_cpu_s'], a):.3f}" if r["engine"] == "dask" else "–"
        lines.append(f"| {r['label']} | {a:,} | {r['wall_s']:.2f} | {a / r['wall_s']:.0f} | {c:.3f} | {c / b:.1f} | "
                     f"{c / bb:.1f} | "
                     f"{ms(r['workers_cpu_s'], a):.3f} | {sched} | "
                     f"{ms(r['server_cpu_s'], a):.3f} | {r['peak_rss_mb']:.0f} | "
                     f"{r['rss_phase_end_mb'] - r['rss_phase_start_mb']:.1f} |")
        if r.get("failed") or r.get("duplicates") or a != n:
            notes.append(f"{r['label']} N={n}: {a} new, {r.get('failed')} failed, {r.get('duplicates')} duplicates")
    storeless = next((r for r in rows if r["label"] == "local without the store"), None)
    if local and storeless:
        c, c0 = ms(local["coord_cpu_s"], local["new"]), ms(storeless["coord_cpu_s"], storeless["new"])
        notes.append(f"N={n:,}: the store's share of the coordinator's CPU: {c:.3f} − {c0:.3f} (without it) = "
                     f"{c - c0:.3f} ms/article, {100 * (c - c0) / c:.0f}%; without it the coordinator spends "
                     f"{c0 / b:.1f}× the bare client's CPU")
    replaying = next((r for r in rows if r["label"] == "local, workers replaying"), None)
    if replaying:
        c = ms(replaying["coord_cpu_s"], replaying["new"])
        notes.append(f"N={n:,}: the coordinator as the bottleneck (workers replaying, "
                     f"{replaying['new'] / replaying['wall_s']:.0f} articles/s): {c:.3f} ms/article, {c / b:.1f}× the "
                     f"bare client at its own top rate ({bare_r['pages'] / bare_r['wall_s']:.0f}/s)" + (
                         f"; with the local run's workers (w = {ms(local['workers_cpu_s'], local['new']):.3f} "
                         f"ms/article) it saturates at k = w/c = {ms(local['workers_cpu_s'], local['new']) / c:.0f} "
                         f"workers ({1000 / c:.0f} articles/s)" if local else ""))
    if local and paced:
        c, cp = ms(local["coord_cpu_s"], local["new"]), ms(paced["cpu_s"], paced["pages"])
        notes.append(f"N={n:,}: at the pace the workers set ({paced['rate']:.0f} articles/s), the coordinator "
                     f"{c:.3f} ms/article against the bare client's {cp:.3f} at that pace: {c / cp:.1f}×")
    dask2 = next((r for r in rows if r["engine"] == "dask" and r["k"] == 2), None)
    if local and dask2:
        from newsmirror.pipeline.context import DASK_PAGE_BATCH, PAGE_BATCH, PAGE_DELAY

        notes.append(f"N={n:,}: dask (2 workers) / local articles/s = "
                     f"{(dask2['new'] / dask2['wall_s']) / (local['new'] / local['wall_s']):.2f} (aim ≥ 0.85); "
                     f"pages a task: {local['new'] / max(local.get('tasks', 0), 1):.0f} local, "
                     f"{dask2['new'] / max(dask2.get('tasks', 0), 1):.0f} Dask (up to {PAGE_BATCH} and "
                     f"{DASK_PAGE_BATCH}, sent when full or {PAGE_DELAY * 1000:.0f} ms after their first page)")
    if shipped:
        out, back, calls = shipped["shipped"]
        a = shipped["new"]
        notes.append(f"N={n:,}: bytes shipped per article (local run, pickled): {out / a / 1000:.1f} KB out (the "
                     f"response as received), {back / a / 1000:.1f} KB back (the article and its WARC reference), "
                     f"over {calls / a:.2f} calls per article")
    return "\n".join(lines), notes


def model(n: int, bare_r: dict, rows: list[dict], cores: int) -> str:
    ref = next((r for r in rows if r["engine"] == "dask" and r["k"] == 2), None) or rows[-1]
    a = ref["new"]
    c, w = ms(ref["coord_cpu_s"], a), ms(ref["workers_cpu_s"], a)
    sat = w / c
    lines = [f"From the {ref['label']} run at N={n:,}: coordinator c = {c:.3f} ms/article, workers w = {w:.3f} "
             f"ms/article. Predicted articles/s with k workers, one core each and one for the coordinator: "
             f"min(1000/c, k·1000/w) = min({1000 / c:.0f}, k·{1000 / w:.0f}); the coordinator saturates at "
             f"k = w/c = **{sat:.0f} workers** ({1000 / c:.0f} articles/s).", "",
             "| workers | predicted articles/s | bound by |", "| ---: | ---: | --- |"]
    for k in (1, 2, 4, 16, 64):
        p = min(1000 / c, k * 1000 / w)
        lines.append(f"| {k} | {p:.0f} | {'the coordinator' if 1000 / c < k * 1000 / w else 'the workers'} |")
    lines += ["", f"Checked on this machine ({cores} cores shared by the coordinator, the workers, the Dask scheduler "
              f"and the site server; d = the scheduler's CPU ms/article, s = the server's): predicted min(1000/c, "
              f"k·1000/w, {cores}·1000/(c + w + d + s)) against measured:", "",
              "| run | predicted articles/s | measured articles/s | measured / predicted |",
              "| --- | ---: | ---: | ---: |"]
    for r in rows:
        if r["engine"] != "dask":
            continue
        a = r["new"]
        c1, w1, s1 = ms(r["coord_cpu_s"], a), ms(r["workers_cpu_s"], a), ms(r["server_cpu_s"], a)
        d1 = ms(r["scheduler_cpu_s"], a)
        p = min(1000 / c1, r["k"] * 1000 / w1, cores * 1000 / (c1 + w1 + d1 + s1))
        got = a / r["wall_s"]
        lines.append(f"| {r['label']} | {p:.0f} | {got:.0f} | {got / p:.2f} |")
    return "\n".join(lines)


def memory_table(memory: list[tuple[int, dict]]) -> str:
    """Peak RSS of the local runs by N, and what each article adds to it (between the smallest and each N)."""
    lines = ["| articles | coordinator peak RSS MB | RSS at the start of the fetch phase MB | its growth over the "
             "phase MB | peak KB per article more than at the smallest N |", "| ---: | ---: | ---: | ---: | ---: |"]
    n0, r0 = memory[0]
    for n, r in memory:
        slope = "–" if n == n0 else f"{(r['peak_rss_mb'] - r0['peak_rss_mb']) * 1024 / (n - n0):.2f}"
        lines.append(f"| {n:,} | {r['peak_rss_mb']:.0f} | {r['rss_phase_start_mb']:.0f} | "
                     f"{r['rss_phase_end_mb'] - r['rss_phase_start_mb']:.1f} | {slope} |")
    return "\n".join(lines) + "\n"


def instructions(n: int, before: Path | None) -> str:
    """`--instructions N`: The instructions per page of the bare client and of the coordinator (local engine, its
    fetch phase), each counted by valgrind's callgrind over the phase alone. Unlike CPU time, which varies by a
    third from one run to the next on a shared machine, the count varies by a few per cent (how many pages each turn
    of the event loop finds ready): what a change to the coordinator saves is seen at once. (valgrind slows a
    process fifty-fold: N = 1,000 takes two minutes. The pool's workers are spawned for it, not forked, and run
    at full speed untraced.)"""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    server = site.Server(n, pictures=False)
    out: dict[str, float] = {}
    try:
        def counted(label: str, args: list[str], env: dict | None = None) -> dict:
            folder = Path(tempfile.mkdtemp(prefix=f"nm-callgrind-{label}-"))
            try:
                if args[0] == "--coord":
                    args[1] = str(config(folder, server.base, n, "local", None))
                proc = subprocess.run(["valgrind", "--tool=callgrind", "--zero-before=getpgid", "--dump-before=getsid",
                                       f"--callgrind-out-file={folder}/cg.%p.out", sys.executable, __file__, *args],
                                      capture_output=True, text=True, cwd=folder, env={**os.environ, **(env or {})})
                dumps = list(folder.glob("cg.*.out.1"))
                if proc.returncode != 0 or len(dumps) != 1:
                    raise SystemExit(f"{label}: the run under valgrind failed:\n{proc.stderr[-2000:]}")
                ir = int(next(ln for ln in dumps[0].read_text().splitlines() if ln.startswith("summary:")).split()[1])
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                return {"ir": ir, "pages": r.get("new", r.get("pages"))}
            finally:
                shutil.rmtree(folder, ignore_errors=True)

        urls = Path(tempfile.mkdtemp(prefix="nm-callgrind-urls-")) / "urls.txt"
        urls.write_text("\n".join(f"{server.base}{site.article_path(i)}" for i in range(n)))
        runs = [("bare aiohttp client", counted("bare", ["--bare", str(urls)])),
                ("coordinator, local engine", counted("local", ["--coord", "", "--worker-pids", ""],
                                                      {"NM_BENCH_SPAWN": "1"}))]
        if before is not None:
            runs.append(("coordinator, local engine (before)", counted("before", ["--coord", "", "--worker-pids", ""],
                                                                       {"NM_BENCH_SPAWN": "1",
                                                                        "PYTHONPATH": str(before)})))
        shutil.rmtree(urls.parent, ignore_errors=True)
    finally:
        server.stop()
    bare_ir = runs[0][1]["ir"] / runs[0][1]["pages"]
    lines = ["| run | pages | instructions a page | × bare client |", "| --- | ---: | ---: | ---: |"]
    for label, r in runs:
        per = r["ir"] / r["pages"]
        out[label] = per
        lines.append(f"| {label} | {r['pages']:,} | {per / 1000:,.0f}k | {per / bare_ir:.2f} |")
        print(f"{label} N={n}: {per / 1000:,.0f}k instructions a page, {per / bare_ir:.2f}× the bare client",
              file=sys.stderr)
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--workers", default="1,2", help="Dask worker counts, comma-separated")
    ap.add_argument("--engines", default="local,dask")
    ap.add_argument("--dask-up-to", type=int, default=0, help="run Dask only at sizes up to this (the larger ones "
                                                             "measure the local engine alone: its memory)")
    ap.add_argument("--keep", type=Path, help="keep each run's folder here")
    ap.add_argument("--no-write", action="store_true", help="print the tables only")
    ap.add_argument("--repeat", type=int, default=1, help="run each engine this many times (interleaved) at the "
                                                           "sizes up to --repeat-up-to; each figure is their median")
    ap.add_argument("--repeat-up-to", type=int, default=10_000)
    ap.add_argument("--profile", action="store_true", help="print the coordinator's cProfile of each run's phase")
    ap.add_argument("--instructions", type=int, default=0, metavar="N",
                    help="also count the instructions a page of the bare client and the coordinator at N pages, "
                         "under valgrind (1,000: two minutes); with --before, of the code before too")
    ap.add_argument("--before", type=Path, help="also run the local engine at the first size (and those up to "
                                                 "--dask-up-to) with the package at this src folder (a checkout of "
                                                 "an earlier commit): before/after")
    ap.add_argument("--without-store", action="store_true", help="also run the local engine with the pages dropped "
                                                                  "once analysed, not stored: what the store costs")
    ap.add_argument("--saturated", action="store_true",
                    help="also run the local engine with its workers answering from a record of a first run's "
                         "analyses: the coordinator at its own top rate; and the bare client at the local run's pace")
    ap.add_argument("--bare", help=argparse.SUPPRESS)
    ap.add_argument("--rate", type=float, default=0.0, help=argparse.SUPPRESS)
    ap.add_argument("--tape", help=argparse.SUPPRESS)
    ap.add_argument("--replay", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--coord", help=argparse.SUPPRESS)
    ap.add_argument("--worker-pids", default="", help=argparse.SUPPRESS)
    ap.add_argument("--scheduler-pid", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--prof", help=argparse.SUPPRESS)
    ap.add_argument("--count-bytes", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-store", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.bare:
        bare(args.bare, args.rate)
        return
    if args.coord:
        coord(args.coord, [int(p) for p in args.worker_pids.split(",") if p], args.prof, args.count_bytes,
              args.scheduler_pid, args.no_store, args.tape, args.replay)
        return
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    ks = [int(k) for k in args.workers.split(",") if k.strip()]
    engines = [e.strip() for e in args.engines.split(",")]
    keep = args.keep.resolve() if args.keep else None
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
    from newsmirror.workers import pool_size

    started = time.strftime("%Y-%m-%d %H:%M")
    sections = []
    memory: list[tuple[int, dict]] = []  # (N, the local run at N)
    for n in sizes:
        server = site.Server(n)
        try:
            load, calib = float(Path("/proc/loadavg").read_text().split()[0]), site.calibrate()
            busy = pool_size()  # the local pool's workers
            # the bare client varies by a third from one run to the next on a shared machine: measured before every
            # local and Dask run and once after them all (alone), and around them beside the load; the median run is
            # the one compared with
            bares, bares_busy = [bare_run(server, n)], [bare_run(server, n, busy)]
            runs: dict[str, list[dict]] = {}  # label → its runs, in order
            reps = args.repeat if n <= args.repeat_up_to else 1
            tape = None
            if args.saturated and "local" in engines:  # (recording costs the workers: a run of its own, not measured)
                tape = Path(tempfile.mkdtemp(prefix=f"nm-cluster-tape-{n}-"))
                mirror_run(server, n, "local", 0, None, tape=tape)
            for _rep in range(reps):  # (the runs of one repetition together, then the next: interleaved)
                if args.before and (n == sizes[0] or n <= args.dask_up_to):
                    report_run(runs, mirror_run(server, n, "local", 0, keep, src=args.before.resolve()))
                for engine in engines:
                    if engine == "dask" and args.dask_up_to and n > args.dask_up_to:
                        continue
                    for k in (ks if engine == "dask" else [0]):
                        bares.append(bare_run(server, n))
                        report_run(runs, mirror_run(server, n, engine, k, keep, prof=args.profile))
                    if engine == "local" and args.without_store:
                        report_run(runs, mirror_run(server, n, "local", 0, keep, no_store=True))
                    if engine == "local" and tape is not None:
                        bares.append(bare_run(server, n))
                        report_run(runs, mirror_run(server, n, "local", 0, keep, tape=tape, replay=True))
            if tape is not None:
                shutil.rmtree(tape, ignore_errors=True)
            rows = [median_of(rs) for rs in runs.values()]
            local = next((r for r in rows if r["label"] == "local"), None)
            paced = None
            if args.saturated and local:  # the bare client at the pace the workers set the local run
                paced = {**bare_run(server, n, rate=local["new"] / local["wall_s"]),
                         "rate": local["new"] / local["wall_s"]}
            shipped = mirror_run(server, min(n, 1000), "local", 0, None, count_bytes=True) if n == sizes[0] else None
            bares.append(bare_run(server, n))
            bares_busy.append(bare_run(server, n, busy))
            bare_r, bare_busy = median_run(bares), {**median_run(bares_busy), "busy": busy}
            t, notes = table(n, bare_r, bare_busy, rows, shipped, paced)
            spread = ", ".join(f"{ms(b['cpu_s'], b['pages']):.3f}" for b in bares)
            spread_busy = ", ".join(f"{ms(b['cpu_s'], b['pages']):.3f}" for b in bares_busy)
            if reps > 1:
                t += f"\n\nEach mirror row: the median of {reps} runs of it, interleaved with the others'."
            t += (f"\n\nThe bare client's runs (ms/page), alone: {spread}; beside the load: {spread_busy} (the rows "
                  f"above are their medians). Machine at the start: load {load:.2f}, calibration {calib:.0f} ms.")
            print(f"bare N={n}: {spread}; beside the load {spread_busy}", file=sys.stderr)
            sections.append((n, t, notes, model(n, bare_r, rows, os.cpu_count() or 1) if any(
                r["engine"] == "dask" for r in rows) else ""))
            memory.extend((n, r) for r in rows if r["label"] == "local")
        finally:
            server.stop()
    argv = ["CHECKOUT/src" if args.before and a == str(args.before) else a for a in sys.argv[1:] if a != "--no-write"]
    cmd = "python benchmarks/cluster.py" + "".join(f" {a}" for a in argv)
    where = ""
    if args.before:  # (the folder is outside the repository: named by the commit checked out there)
        head = subprocess.run(["git", "-C", str(args.before), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        where = f" (CHECKOUT: a checkout of commit {head or 'unknown'}, the code before)"
    text = (f"# Cluster benchmark: the coordinator's cost, local pool against Dask\n\n`{cmd}`{where}, "
            f"started {started}, "
            f"Python {platform.python_version()}, {os.cpu_count()} cores (shared with other work: compare rows of one "
            f"run). Code measured: {site.source_fingerprint()}.\n\n" + __doc__.split("\n\n", 2)[2].split(
                "\n\nWrites")[0] + "\n")
    for n, t, notes, m in sections:
        text += f"\n## N = {n:,}\n\n{t}\n\n" + "\n".join(f"- {x}" for x in notes) + "\n"
        if m:
            text += f"\n### Throughput model\n\n{m}\n"
    if len(memory) > 1:
        text += "\n## The coordinator's memory by the number of articles (local engine)\n\n" + memory_table(memory)
    if args.instructions:
        text += (f"\n## Instructions a page (valgrind callgrind), N = {args.instructions:,}\n\n"
                 + instructions.__doc__.split(":", 1)[1].strip().replace("\n    ", " ") + "\n\n"
                 + instructions(args.instructions, args.before.resolve() if args.before else None) + "\n")
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "cluster.md").write_text(text, encoding="utf-8")
        print(f"wrote {RESULTS / 'cluster.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
