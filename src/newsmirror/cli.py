"""The `newsmirror` command line.

Exit codes: 0 all well, 1 some articles or sources failed (the rest were
mirrored), 2 usage or config error (or another run holds the lock).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__
from .console import (
    CONFIG_ENV,
    INTERRUPT,
    common_options,
    ctrl_c,
    fail,
    log,
    progress_bars,
    setup_logging,
    summary,
    with_mirror,
)
from .models import RunReport
from .textsafe import printable

if TYPE_CHECKING:  # (imported by the commands that run it: see console.py)
    from .pipeline import Mirror

PKG = Path(__file__).parent


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config", default="newsmirror.toml", show_default=True, type=click.Path(dir_okay=False),
              envvar=CONFIG_ENV, show_envvar=True, help="The config file (also accepted after the subcommand).")
@click.option("-v", "--verbose", count=True, help="More log lines (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Fewer log lines.")
@click.version_option(__version__, prog_name="newsmirror")
@click.pass_context
def cli(ctx: click.Context, config: str, verbose: int, quiet: int) -> None:
    """Keep a censorship-resistant mirror of news sites."""
    state = ctx.ensure_object(dict)
    state.update(config=config, verbose=verbose, quiet=quiet)
    setup_logging(verbose, quiet)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@common_options(config=False)
def init(directory: Path) -> None:
    """Write a commented starter newsmirror.toml and a copy of the templates into DIRECTORY."""
    directory.mkdir(parents=True, exist_ok=True)
    cfg = directory / "newsmirror.toml"
    if cfg.exists():
        fail(f"{cfg} exists already; edit it, or init another folder")
    shutil.copy(PKG / "starter.toml", cfg)
    tpl = directory / "templates"
    tpl.mkdir(exist_ok=True)
    for f in (PKG / "render" / "templates").iterdir():
        if f.is_file() and not (tpl / f.name).exists():
            shutil.copy(f, tpl / f.name)
    click.echo(f"wrote {cfg} and {tpl}/ (edit a template there to change the pages; delete it to use the default)")
    click.echo(f"next: edit the sources in {cfg}, then run: newsmirror --config {cfg} run")


@cli.command()
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable).")
@click.pass_context
@common_options()
def run(ctx: click.Context, sources: tuple[str, ...]) -> None:
    """Discover, fetch, extract, render, index and commit what is new."""

    def go(m: Mirror) -> int:
        unknown = [s for s in sources if s not in {x.name for x in m.cfg.sources}]
        if unknown:
            fail(f"--source {unknown[0]!r}: no such source in {m.cfg.path}; use one of: "
                 + ", ".join(s.name for s in m.cfg.sources))
        return summary(asyncio.run(m.run(sources or None)))

    with_mirror(ctx, go)


@cli.command()
@click.argument("urls", nargs=-1, required=True)
@click.option("--category", "-c", help="The category for these articles (needed when there are several).")
@click.pass_context
@common_options()
def add(ctx: click.Context, urls: tuple[str, ...], category: str | None) -> None:
    """Mirror the given article URLs now, as editor's picks."""

    def go(m: Mirror) -> int:
        cats = list(m.cfg.categories)
        cat = category
        if cat is None:
            if len(cats) > 1:
                fail(f"--category is needed: one of {', '.join(cats)}")
            cat = cats[0]
        if cat not in m.cfg.categories:
            fail(f"--category {cat!r}: no such category; use one of: {', '.join(cats)}")
        bad = [u for u in urls if not u.startswith(("http://", "https://"))]
        if bad:
            fail(f"{bad[0]!r} is not an http(s) URL")
        return summary(asyncio.run(m.add(list(urls), cat)))

    with_mirror(ctx, go)


@cli.command()
@click.option("--reextract", is_flag=True, help="Extract every article again from its WARC record first (no network).")
@click.pass_context
@common_options()
def build(ctx: click.Context, reextract: bool) -> None:
    """Re-render every page and index from the store (no network), and commit."""

    def go(m: Mirror) -> int:
        if reextract:
            return summary(m.reextract())
        result, committed = m.rebuild()
        click.echo(f"{len(result.written)} files written, {len(result.removed)} removed"
                   + (f", {len(result.failed)} failed to render" if result.failed else "")
                   + ("; committed" if committed else "; nothing to commit"))
        for what, reason in result.failed[:20]:
            click.echo(f"  failed: {printable(what)}: {printable(reason)}")
        if len(result.failed) > 20:
            click.echo(f"  … and {len(result.failed) - 20} more")
        return 1 if result.failed else 0

    with_mirror(ctx, go)


@cli.command()
@click.option("--since", help="The articles of the last span of time: 1d, 12h, 2w (default: 1d).")
@click.option("--from", "from_", metavar="DATE", help="The first day (YYYY-MM-DD, as the pages date articles).")
@click.option("--to", metavar="DATE", help="The last day (default: --from's day, or today).")
@click.option("--category", "-c", "categories", multiple=True, help="Only this category (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["epub", "html"]),
              help="epub (an e-book) or html (one self-contained file); default: from -o's suffix, else epub.")
@click.option("--variant", help="The script: zh-Hans or zh-Hant (default: the mirror's first).")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write.")
@click.pass_context
@common_options()
def digest(ctx: click.Context, since: str | None, from_: str | None, to: str | None, categories: tuple[str, ...],
           fmt: str | None, variant: str | None, output: Path) -> None:
    """Write the articles of a day (or a range) as one file to read with no network: EPUB or one-file HTML."""
    from .digest import DigestError, day_range, make_digest, parse_day, parse_since, select, since_range
    from .digest.select import check_categories
    from .fsutil import atomic_write
    from .render import DISPLAY_TZ
    from .store import now
    from .transform.script import VARIANTS

    def go(m: Mirror) -> int:
        try:
            if since and (from_ or to):
                raise DigestError("--since and --from/--to both given; use one")
            if from_ or to:
                last = parse_day(to, "--to") if to else now().astimezone(DISPLAY_TZ).date()
                rng = day_range(parse_day(from_, "--from") if from_ else last, last)
            else:
                rng = since_range(parse_since(since or "1d"))
            cats = check_categories(m.cfg, list(categories))
        except DigestError as exc:
            fail(str(exc))
        if variant is not None and variant not in VARIANTS:
            fail(f"--variant {variant!r}: not a script; use one of: {', '.join(VARIANTS)}")
        form = fmt or ("html" if output.suffix.lower() in (".html", ".htm") else "epub")
        script = variant or (m.cfg.site.variants[0] if m.cfg.site.variants else None)
        articles = select(m.store, m.cfg, rng, cats)
        if not articles:
            click.echo(f"no articles between {rng.label.replace(' – ', ' and ')}"
                       + (f" in {', '.join(cats)}" if cats else "") + "; nothing written")
            return 0
        data, content = make_digest(m.cfg, m.store, m.out, articles, rng, script, form)
        try:
            atomic_write(output.resolve(), data)
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}; check the folder and its permissions", 1)
        size = f"{len(data) / 1_000_000:.1f} MB" if len(data) >= 1_000_000 else f"{len(data) / 1000:.0f} KB"
        click.echo(f"wrote {output} ({form}, {content.count} articles, {size})"
                   + (f"; {len(content.left_out)} past the size cap (digest.max_bytes) listed by title and link"
                      if content.left_out else ""))
        return 0

    with_mirror(ctx, go, lock=False)


@cli.command()
@click.option("--remote", "remotes", multiple=True, help="Only this remote (repeatable).")
@click.pass_context
@common_options()
def publish(ctx: click.Context, remotes: tuple[str, ...]) -> None:
    """Push the mirror's repository to every [[remotes]] entry, each on its own (exit 1 if any failed)."""

    def go(m: Mirror) -> int:
        names = [r.name for r in m.cfg.remotes]
        if not names:
            fail(f"no [[remotes]] in {m.cfg.path}; add one, e.g. [[remotes]] name = \"github\" "
                 f"url = \"git@github.com:you/mirror.git\"")
        unknown = [r for r in remotes if r not in names]
        if unknown:
            fail(f"--remote {unknown[0]!r}: no such remote in {m.cfg.path}; use one of: {', '.join(names)}")
        report = RunReport()
        m.publish(report, remotes or None)
        for name in report.pushed:
            click.echo(f"{name}: ok")
        for name, reason in report.push_failures:
            click.echo(f"{name}: FAILED: {reason}")
        return 0 if report.ok else 1

    with_mirror(ctx, go)


@cli.command()
@click.pass_context
@common_options()
def status(ctx: click.Context) -> None:
    """Per source: articles, last run, failures and their reasons."""
    from .status import show_status

    with_mirror(ctx, show_status, lock=False)


@cli.command()
@click.option("--dir", "directory", default="newsmirror-demo", show_default=True, type=click.Path(path_type=Path),
              help="Where the demo mirror and its config go.")
@click.option("--port", default=8765, show_default=True, help="Port of the demo site on 127.0.0.1 (0: any).")
@click.option("--day", default=1, show_default=True, type=click.IntRange(1, 2),
              help="2: the site a day later, one article edited and one deleted; the mirror revisits them (two "
                   "checks an hour apart, in simulated time) and shows both.")
@common_options(config=False)
def demo(directory: Path, port: int, day: int) -> None:
    """Serve the bundled demo news site on 127.0.0.1 and mirror it into --dir."""
    from .config import parse_config
    from .demo.server import DAY2_ROUTES, SiteServer
    from .pipeline import Mirror, RunLocked

    try:
        server = SiteServer(port=port)
    except OSError:
        server = SiteServer(port=0)
        log.warning("port %d is busy; the demo site uses port %d", port, server.port)
    with server:
        directory.mkdir(parents=True, exist_ok=True)
        cfg_path = directory / "newsmirror.toml"
        text = (PKG / "demo" / "newsmirror.toml").read_text(encoding="utf-8").replace("{base}", server.base)
        cfg_path.write_text(text, encoding="utf-8")
        cfg = parse_config(text, cfg_path)
        click.echo(f"demo site: {server.base}/gb/prog204/feed.xml and {server.base}/news/culture/index.html")
        mirror = Mirror(cfg, progress_bars())
        try:
            mirror.lock()
            with ctrl_c(mirror):
                code = 0
                if day == 1 or mirror.store.article_count() == 0:  # day 2 starts from day 1's mirror
                    code = summary(asyncio.run(mirror.run()))
                if day == 2:
                    server.routes.update(DAY2_ROUTES)
                    code = max(code, _demo_day2(mirror))
        except RunLocked as exc:
            fail(str(exc))
        finally:
            mirror.close()
    out = cfg.output_dir
    click.echo(f"\nthe mirror (a git repository): {out}")
    click.echo(f"  home page:  {out / 'README.md'}")
    pages = sorted((out / "pages").rglob("*.md")) if (out / "pages").exists() else []
    for p in pages:
        click.echo(f"  page:       {p}")
    revisits = out / "indexes" / "revisits"
    for name, label in (("edited.md", "edited:    "), ("deleted.md", "deleted:   ")):
        if (revisits / name).is_file():
            click.echo(f"  {label} {revisits / name}")
    click.echo(f"  history:    git -C {out} log --stat")
    click.echo(f"  config:     {cfg_path}  (run `newsmirror --config {cfg_path} status`)")
    sys.exit(code)


def _demo_day2(mirror: Mirror) -> int:
    """The demo's second day: revisit a day later, when one article was edited and another deleted, then an hour
    later again, the check that confirms the deletion. The clock is moved, not waited for."""
    from datetime import timedelta

    from .store import now

    code = 0
    for later in (timedelta(days=1), timedelta(days=1, hours=1, minutes=1)):
        mirror.clock = lambda later=later: now() + later
        click.echo(f"day 2: revisiting as at {mirror.clock():%Y-%m-%d %H:%M} UTC")
        code = max(code, summary(asyncio.run(mirror.run())))
    return code


@cli.group()
def counter() -> None:
    """The view counter behind the pages' pixel (counter_url), and the numbers for the hot list."""


@counter.command("serve")
@click.option("--db", "db", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The SQLite file of counts (made if missing).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--dedupe-window", default=1800.0, show_default=True, type=click.FloatRange(0),
              help="Seconds in which one client's repeat views of a page count once (0: count every view).")
@click.option("--rate-limit", default=120, show_default=True, type=click.IntRange(0),
              help="Requests a minute one client may make (0: no limit).")
@click.option("--flush-interval", default=2.0, show_default=True, type=click.FloatRange(0.05, 3600),
              help="Seconds between two writes of the counts.")
@click.option("--prefix", default="/", show_default=True,
              help="The part of the pixel's path before the page path (counter_url = https://host/PREFIX{path}).")
@click.option("--mirror", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="The mirror's output tree: only its pages are counted (read again every minute).")
@click.option("--forwarded", is_flag=True,
              help="Behind a reverse proxy: the client is the last X-Forwarded-For address (the one it added).")
@common_options(config=False)
def counter_serve(db: Path, host: str, port: int, dedupe_window: float, rate_limit: int, flush_interval: float,
                  prefix: str, mirror: Path | None, forwarded: bool) -> None:
    """Count page views: GET /<page path> answers a 1×1 GIF; GET /stats.json?days=7&limit=50 lists the top pages.

    No address, user agent or referrer is stored or logged."""
    from .counter.db import CounterDBError
    from .counter.service import Settings, serve

    if not prefix.startswith("/") or not prefix.endswith("/"):
        fail(f"--prefix {prefix!r}: begin and end it with /, e.g. /goodnews/")
    try:
        serve(Settings(db=db, dedupe_window=dedupe_window, rate_limit=rate_limit, flush_interval=flush_interval,
                       prefix=prefix, mirror=mirror, forwarded=forwarded), host=host, port=port)
    except CounterDBError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port")


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@common_options(config=False)
def keygen(path: Path) -> None:
    """Make an Ed25519 key pair for signing the mirror (OpenSSH formats): PATH (private, keep it) and PATH.pub
    (publish it)."""
    from .publish.keys import SigningError
    from .publish.keys import keygen as make_key

    try:
        priv, pub, fp = make_key(path)
    except (SigningError, OSError) as exc:
        fail(str(exc))
    click.echo(f"wrote {priv} (private: keep it off the published repo) and {pub} (public)")
    click.echo(f"fingerprint: {fp}")
    click.echo(f'next: add to newsmirror.toml:  [signing]  key = "{priv}"')


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--pubkey", help="The operator's public key (ssh-ed25519 AAAA…, or base64, or a .pub file), trusted for "
                               "this check.")
@click.option("--trust", metavar="FINGERPRINT",
              help="Pin the key with this fingerprint (check it out of band, not from this copy): if the copy's "
                   "signature verifies with it, it is trusted from now on without --pubkey.")
@click.option("--max-age", "max_age", type=click.FloatRange(min=0, min_open=True), metavar="DAYS",
              help="Refuse a copy signed more than DAYS days ago (the mirror signs when its content changes).")
@common_options(config=False)
def verify(directory: Path, pubkey: str | None, trust: str | None, max_age: float | None) -> None:
    """Check a clone or downloaded copy of a mirror against its signed manifest.json.

    Trusted: only a key you give (--pubkey) or pinned earlier (--trust FINGERPRINT, kept in
    $XDG_CONFIG_HOME/newsmirror/trusted.json, else ~/.config/newsmirror/trusted.json), never the key a copy
    names. Refused (exit 1): a signature by an unknown key (valid or not), a copy older than one seen for that
    key (a lower serial: a stale or replayed copy), one signed more than --max-age days ago, and any file
    added, changed, missing or not a regular file. Exit 0 when all is well, 2 for a bad option or trust store.
    """
    from .publish.manifest import verify as check
    from .publish.trust import TrustStore, TrustStoreError, normalize_fingerprint

    if trust and normalize_fingerprint(trust) is None:
        fail(f"--trust {printable(trust)}: not a key fingerprint; give the 32 hex digits the operator publishes "
             "(abcd:ef01:… as `verify` and the mirror's home page show them)")
    try:
        store = TrustStore()
    except TrustStoreError as exc:
        fail(printable(exc))
    v = check(directory, pubkey, trust=trust, max_age_days=max_age, store=store,
              label=directory.resolve().name)
    fp = printable(v.fingerprint)
    if v.signature != "ok":
        click.echo(f"signature: {printable(v.signature)}")
    elif v.trusted:
        click.echo(f"signature: ok (key fingerprint {fp}, {v.trusted})")
    else:
        click.echo(f"signature: valid for an UNKNOWN key {fp}: pin it with --trust {fp} after checking the "
                   "fingerprint out of band (from the operator, not from this copy)")
    if v.signature == "ok":
        when = f"signed {printable(v.signed_at)}" if v.signed_at else "no signing time"
        click.echo(f"{when}, serial {v.serial}" if v.serial is not None else
                   f"{when}, no serial (made by an older version)")
    for label, paths in (("added", v.added), ("changed", v.changed), ("missing", v.missing)):
        for p in paths:
            click.echo(f"  {label}: {printable(p)}")
    for p, kind in v.special.items():
        click.echo(f"  unexpected: {printable(p)} ({printable(kind)}: not checked, never read)")
    if v.search_index == "absent":
        click.echo("search index: not in this copy (a clone of main; the snapshot branch holds it)")
    elif v.search_index == "checked":
        click.echo("search index: checked as one signed entry")
    for reason in v.refused:
        click.echo(f"refused: {printable(reason)}")
    if store.changed:
        try:
            store.save()
        except TrustStoreError as exc:
            if v.pinned:
                fail(printable(exc))
            click.echo(f"warning: {printable(exc)} (the serial seen was not recorded)", err=True)
        else:
            if v.pinned:
                click.echo(f"pinned: key {fp} in {printable(store.path)}")
    if v.ok:
        click.echo("ok: every file is as signed")
        sys.exit(0)
    counts = f"{len(v.added)} added, {len(v.changed)} changed, {len(v.missing)} missing"
    counts += f", {len(v.special)} unexpected" if v.special else ""
    why = [counts] + (["the key is not trusted"] if v.signature == "ok" and not v.trusted else []) + \
        (["refused"] if v.refused else [])
    click.echo("NOT OK: " + "; ".join(why))
    sys.exit(1)


@cli.command("extract")
@click.argument("inputs", nargs=-1, required=True, metavar="PATH_OR_URL...")
@click.option("--url", help="The address a saved file came from (resolves its relative links).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json", "jsonl"]), default="text",
              show_default=True)
@common_options(config=False)
def extract_command(inputs: tuple[str, ...], url: str | None, fmt: str) -> None:
    """Run the mirror's extractor on saved pages (.html or .html.gz) or URLs.

    One result per input, in input order; a bad input gets an error and the rest go on.
    Exit 1 when any input could not be read or fetched.
    """
    from .config import Fetch
    from .extract_cmd import load_inputs, render, result

    results = [result(src) for src in load_inputs(list(inputs), url, Fetch())]
    click.echo(render(results, fmt), nl=False)
    sys.exit(1 if any(r["error"] for r in results) else 0)


def main() -> None:
    INTERRUPT.install()
    cli(prog_name="newsmirror")


if __name__ == "__main__":
    main()
