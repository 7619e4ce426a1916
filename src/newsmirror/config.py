"""The one config model, loaded from `newsmirror.toml`.

Every key but those of the minimal file in the README is optional with a
default; unknown keys are errors, and every error names the key, the bad
value and the fix.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from .config_check import (
    KEY_RE,
    ConfigError,
    Model,
    Rules,  # noqa: F401 (a source's CSS rules, imported from here)
    format_validation_error,
    http_url,
    key_name,
    named_once,
    nothing_private_published,
)
from .config_sources import (  # noqa: F401 (a source's options, one model a kind, are the config's too)
    KIND_MODELS,
    FeedSource,
    ListingSource,
    SitemapSource,
    Source,
    UrlsSource,
)
from .redact import secret_in_query, ssh_password


class Link(Model):
    title: str = Field(min_length=1)
    url: str = Field(min_length=1)
    icon: str = ""


class Promos(Model):
    fixed: list[Link] = []
    pool: list[Link] = []
    random: int = Field(default=0, ge=0, le=50)


class Site(Model):
    title: str = Field(min_length=1)
    output: str = "mirror"
    base_url: str | None = None
    language: str = "zh-Hans"
    home_latest: int = Field(default=30, ge=1, le=1000)
    hot_limit: int = Field(default=30, ge=1, le=1000)
    retention: int = Field(default=0, ge=0, description="newest N pages per category kept; 0 keeps all")
    link_policy: Literal["mirror", "keep", "neutralize", "drop"] = "mirror"
    tag_links: bool = False
    share_text: str = "手机上长按并复制下列链接或二维码分享本文章："
    original_label: str = "原文地址（需翻墙访问）："
    home_label: str = "首页"
    hot_label: str = "热点推荐"
    picks_label: str = "编辑推荐"
    latest_label: str = "最新文章"
    archive_label: str = "文章存档"
    counter_url: str | None = None
    counts: str | None = Field(default=None, description="a JSON file {page path: views} for the hot list")
    counter_stats: str | None = Field(default=None, description="the view counter's database (a path) or its "
                                      "stats.json URL: the hot list ranks by views over the last hot_days days")
    hot_days: int = Field(default=7, ge=1, le=366, description="the hot list's window, in days (with counter_stats)")
    templates: str = "templates"
    store: str = "newsmirror.db"
    nav: list[Link] = []
    promos: Promos = Promos()
    formats: list[Literal["markdown", "html"]] = Field(
        default=["markdown"], description='add "html" for a static site in site/ beside the Markdown')
    html_url: str | None = Field(default=None, description="where site/ is served, for share links and feeds")
    feed_items: int = Field(default=50, ge=1, le=1000, description="articles in the site's Atom and JSON feeds")
    variants: list[str] = Field(default=[], description='scripts to render every page in, e.g. ["zh-Hans", '
                                '"zh-Hant"]: the first at the top of the tree, each other one in a folder of its name')

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str | None) -> str | None:
        return http_url(v, "a base URL").rstrip("/") if v else None

    @field_validator("html_url")
    @classmethod
    def _html_url(cls, v: str | None) -> str | None:
        return http_url(v, "html_url").rstrip("/") if v else None

    @field_validator("formats")
    @classmethod
    def _formats(cls, v: list[str]) -> list[str]:
        if "markdown" not in v:
            raise ValueError('formats must include "markdown" (the Markdown pages are the mirror; "html" adds a '
                             "site beside them)")
        return list(dict.fromkeys(v))

    @field_validator("variants")
    @classmethod
    def _variants(cls, v: list[str]) -> list[str]:
        from .variants import VARIANTS

        for code in v:
            if code not in VARIANTS:
                raise ValueError(f"{code!r} is not a script variant; use one of: {', '.join(VARIANTS)}")
        if len(set(v)) != len(v):
            raise ValueError("a script variant is listed twice")
        return v

    @model_validator(mode="after")
    def _one_count_source(self) -> Site:
        if self.counts and self.counter_stats:
            raise ValueError("counts and counter_stats are both set; keep one (counter_stats: the counter's "
                             "database or stats.json URL)")
        return self

    @field_validator("counter_stats")
    @classmethod
    def _stats_source(cls, v: str | None) -> str | None:
        if v and "://" in v:
            http_url(v, "counter_stats (a stats.json URL, or the path of the counter's database)")
        return v

    @field_validator("counter_url")
    @classmethod
    def _counter(cls, v: str | None) -> str | None:
        if v is None:
            return None
        http_url(v, "a counter URL")
        if "{path}" not in v:  # what the counter counts by ({id} alone would name no page it knows)
            raise ValueError("a counter URL needs {path} in it, e.g. https://counter.example/{path}")
        return v


class Fetch(Model):
    user_agent: str = "newsmirror/0.1 (+https://github.com/newsmirror/newsmirror)"
    proxy: str | None = None
    concurrency: int = Field(default=8, ge=1, le=256)
    per_host: int = Field(default=2, ge=1, le=64)
    connect_timeout: float = Field(default=10, gt=0, le=300)
    read_timeout: float = Field(default=30, gt=0, le=600, description="seconds in which nothing of a response "
                                "arrives (headers: until they are whole) before it is cut, tried again next run")
    total_timeout: float = Field(default=120, gt=0, le=3600)
    min_speed: int = Field(default=1000, ge=0, le=100_000_000,
                           description="bytes a second: a response slower than this on average over any "
                                       "min_speed_time seconds (headers included) is cut, a failed attempt tried "
                                       "again next run; 0 turns it off")
    min_speed_time: float = Field(default=20, gt=0, le=3600, description="seconds min_speed is measured over")
    retries: int = Field(default=2, ge=0, le=10)
    backoff: float = Field(default=1.0, ge=0, le=60)
    max_retry_after: float = Field(default=60, ge=0, le=3600)
    max_bytes: int = Field(default=10_000_000, ge=1000)
    max_redirects: int = Field(default=5, ge=0, le=20)
    max_attempts: int = Field(default=3, ge=1, le=100, description="give up on a URL after this many failed runs")
    obey_robots: bool = True
    rate_limit: float = Field(default=0.0, ge=0, le=600, description="seconds between two requests to one host")
    max_crawl_delay: float = Field(default=30, ge=0, le=3600, description="cap on a robots.txt Crawl-delay")
    max_run_seconds: float = Field(default=3000, gt=0, le=86400,
                                   description="articles, pictures and further sitemap files or listing pages not "
                                               "started by then are left for the next run")
    warc: bool = True
    allow_hosts: list[str] = Field(default=[], description="hosts on the operator's own network (private or "
                                                           "loopback addresses) that may be fetched from besides "
                                                           "the sources' own hosts; any other such address is "
                                                           "refused (links, redirects and images alike)")

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, v: str | None) -> str | None:
        if v and not re.match(r"^(https?|socks4|socks5h?)://", v):
            raise ValueError("a proxy must start with http://, https://, socks4://, socks5:// or socks5h://")
        return v or None


class Images(Model):
    download: bool = Field(default=True, description="mirror lead and in-body images into the tree; false "
                                                     "links them where they are (readers behind a firewall "
                                                     "may not see them)")
    max_width: int = Field(default=960, ge=64, le=8192, description="wider images are scaled down (pixels)")
    quality: int = Field(default=80, ge=30, le=95, description="JPEG quality of a re-encoded image")
    reencode: bool = Field(default=False, description="re-encode every image; off: a JPEG that is upright, at most "
                                                      "max_width wide and not over-heavy is kept as the site made "
                                                      "it, only its metadata (EXIF, GPS, XMP, comments) cut out")
    max_bytes: int = Field(default=8_000_000, ge=1000, description="largest image download")
    max_pixels: int = Field(default=40_000_000, ge=10_000, description="width × height cap (decompression bombs)")
    max_attempts: int = Field(default=3, ge=1, le=100, description="runs that try a failing image")
    max_per_article: int = Field(default=40, ge=1, le=10_000,
                                 description="images mirrored per article (the lead image, then the body's in "
                                             "order); the rest show their alt text and are never downloaded")
    max_bytes_per_run: int = Field(default=200_000_000, ge=1000,
                                   description="once a run's images took this many bytes (downloaded, or stored "
                                               "when more), the pictures not started wait for the next run")


class Signing(Model):
    key: str | None = Field(default=None, description="Ed25519 private key (newsmirror keygen): every build then "
                                                      "writes a signed manifest.json")


class Digest(Model):
    enabled: bool = Field(default=False, description="run and build write daily digests into the output's "
                                                     "digests/: an EPUB and one self-contained HTML file per day")
    formats: list[Literal["epub", "html"]] = Field(default=["epub", "html"], description="the digest files made")
    days: int = Field(default=7, ge=1, le=366, description="digests kept in the tree: one for each of the last N "
                                                           "days that have articles (older ones are removed)")
    categories: list[str] = Field(default=[], description="only these categories (default: all)")
    max_bytes: int = Field(default=15_000_000, ge=100_000, le=2_000_000_000,
                           description="a digest's size cap: the articles past it are listed by title and link")
    image_width: int = Field(default=800, ge=64, le=4096, description="pictures wider than this are scaled down")
    image_quality: int = Field(default=70, ge=30, le=95, description="JPEG quality of a scaled picture")

    @field_validator("formats")
    @classmethod
    def _formats(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError('formats needs at least one of "epub", "html" (or set enabled = false)')
        return list(dict.fromkeys(v))


REMOVAL_NOTICES = [
    "该内容已被删除", "此文章已被删除", "该文章已被删除", "文章已被删除", "内容已被删除", "根据相关法律法规",
    "不予显示", "内容不存在", "文章不存在", "页面不存在", "该页面已被删除", "此内容因违规无法查看", "該內容已被刪除",
    "此文章已被刪除",
    "內容不存在", "頁面不存在", "Page not found", "This article has been removed", "This page has been removed",
    "This content is no longer available", "The page you requested could not be found", "Article not found",
]
VOLATILE = [
    r"(阅读|閱讀|浏览|瀏覽|点击|點擊|评论|評論)(数|數|量|次数|次數)?\s*[:：]?\s*[\d,]+",
    r"[\d,]+\s*(人阅读|人閱讀|次阅读|次閱讀|条评论|條評論|views?|reads?|comments?)\b",
]


class Revisit(Model):
    enabled: bool = Field(default=True, description="fetch mirrored articles again on `schedule`, keep every version "
                                                     "and mark the articles deleted at the source")
    schedule: list[float] = Field(default=[1, 6, 24, 72, 168, 720, 2160], min_length=1,
                                  description="hours since an article was first seen at which it is fetched again; "
                                              "after the last, never")
    budget: int = Field(default=200, ge=0, le=100_000, description="revisits (article requests) per run at most")
    show: Literal["latest", "first"] = Field(default="latest", description="the version an edited article's page "
                                                                           "shows")
    confirm_hours: float = Field(default=1, ge=1, le=720, description="a deletion is marked only when a second "
                                                                     "check at least this many hours later agrees")
    retry_hours: float = Field(default=1, gt=0, le=720, description="when a revisit that got no answer (5xx, 429, "
                                                                   "timeout, robots.txt) is tried again")
    removal_notices: list[str] = Field(default=REMOVAL_NOTICES, description="phrases of a page that says the "
                                                                            "article was removed (HTTP 200)")
    ignore: list[str] = Field(default=VOLATILE, description="regular expressions for volatile text (view counters, "
                                                            "dates) left out when versions are compared")

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: list[float]) -> list[float]:
        if any(h <= 0 for h in v) or v != sorted(v) or len(set(v)) != len(v):
            raise ValueError("schedule is hours since first seen, each above 0 and rising, e.g. [1, 6, 24, 72]")
        return v

    @field_validator("ignore")
    @classmethod
    def _patterns(cls, v: list[str]) -> list[str]:
        for i, pat in enumerate(v):
            try:
                re.compile(pat)
            except re.error as exc:
                raise ValueError(f"ignore[{i}]: {pat!r} is not a regular expression ({exc})") from None
        return v


class Remote(Model):
    name: str
    url: str = Field(min_length=1, description="any git URL; ${VAR} is read from the environment at push time, "
                                               "so tokens need not be in this file")
    branch: str | None = Field(default=None, description="the remote's branch; default: the mirror's own (main)")
    squash: bool = Field(default=False, description="publish one parentless commit of the current tree, replacing "
                                                    "the last one: the remote's history stays one commit deep")
    force: bool = Field(default=False, description="overwrite whatever the remote's branch holds (off: a remote "
                                                   "with commits the mirror lacks is reported, not overwritten)")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return key_name(v, "remote")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if ssh_password(v):
            raise ValueError("an ssh URL takes no password (ssh would be handed it on its command line, for every "
                             "user of the machine to see): use an SSH key, e.g. ssh://git@host/you/news.git")
        if secret_in_query(v):
            raise ValueError("a token in the URL's query would be on git's command line: put it in the user:password "
                             "part instead, e.g. https://oauth2:${TOKEN}@host/you/news.git (newsmirror hands that "
                             "to git through a credential helper)")
        return v

    @field_validator("branch")
    @classmethod
    def _branch(cls, v: str | None) -> str | None:
        if v is not None and (not re.match(r"^[A-Za-z0-9._/-]{1,200}$", v) or ".." in v or v.startswith(("/", "-"))
                              or v.endswith(("/", ".lock", "."))):
            raise ValueError("a branch name is letters, digits, '.', '_', '-' and '/', e.g. \"main\" or \"gh-pages\"")
        return v


class Publish(Model):
    on_run: bool = Field(default=True, description="push to every remote at the end of each run and add")
    retries: int = Field(default=3, ge=0, le=20, description="tries again after an unreachable remote")
    backoff: float = Field(default=5.0, ge=0, le=600, description="seconds before the first retry; doubles each time")
    timeout: float = Field(default=600, gt=0, le=7200, description="seconds one push may take")


class Workers(Model):
    engine: Literal["local", "dask"] = Field(default="local", description="where the run's CPU work (analysing "
                                             "pages, pictures) goes: \"local\", this machine's worker processes; "
                                             "\"dask\", a Dask cluster (pip install 'newsmirror[cluster]')")
    scheduler: str | None = Field(default=None, description="with engine = \"dask\": the scheduler's address, e.g. "
                                                            "\"tcp://10.0.0.5:8786\"; without it, a cluster of worker "
                                                            "processes on this machine")

    @field_validator("scheduler")
    @classmethod
    def _scheduler(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^(tcp|tls|ws|wss|inproc)://\S+$", v):
            raise ValueError("a Dask scheduler's address, e.g. \"tcp://10.0.0.5:8786\" (what `dask scheduler` prints)")
        return v

    @model_validator(mode="after")
    def _scheduler_needs_dask(self) -> Workers:
        if self.scheduler is not None and self.engine != "dask":
            raise ValueError('scheduler is for engine = "dask": set engine = "dask", or remove scheduler')
        return self


class Category(Model):
    title: str = Field(min_length=1)



class Config(Model):
    site: Site
    fetch: Fetch = Fetch()
    images: Images = Images()
    signing: Signing = Signing()
    publish: Publish = Publish()
    digest: Digest = Digest()
    revisit: Revisit = Revisit()
    workers: Workers = Workers()
    remotes: Annotated[list[Remote], Field(default_factory=list)]
    categories: dict[str, Category]
    sources: Annotated[list[Source], Field(default_factory=list)]

    # not from the file: where it was read from
    path: Path = Field(default=Path("newsmirror.toml"), exclude=True)

    @field_validator("categories")
    @classmethod
    def _category_keys(cls, v: dict[str, Category]) -> dict[str, Category]:
        if not v:
            raise ValueError('at least one category is needed, e.g. [categories.intl] title = "国际"')
        for key in v:
            if not KEY_RE.match(key):
                raise ValueError(f"category key {key!r}: use 1-40 of a-z, 0-9, '-' and '_'")
        return v

    @model_validator(mode="after")
    def _cross(self) -> Config:
        for i, src in enumerate(self.sources):
            if src.category not in self.categories:
                known = ", ".join(sorted(self.categories))
                raise ValueError(
                    f"sources[{i}].category: {src.category!r} is not a category; "
                    f"add [categories.{src.category}] or use one of: {known}"
                )
        for i, key in enumerate(self.digest.categories):
            if key not in self.categories:
                raise ValueError(f"digest.categories[{i}]: {key!r} is not a category; use one of: "
                                 + ", ".join(sorted(self.categories)))
        named_once(self.sources, "source")
        named_once(self.remotes, "remote")
        return self

    # -- paths, all relative to the config file's folder
    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def output_dir(self) -> Path:
        return (self.root / self.site.output).resolve()

    @property
    def store_path(self) -> Path:
        return (self.root / self.site.store).resolve()

    @property
    def signing_key(self) -> Path | None:
        return (self.root / self.signing.key).resolve() if self.signing.key else None

    @property
    def templates_dir(self) -> Path:
        return (self.root / self.site.templates).resolve()

    def source(self, name: str) -> Source:
        for src in self.sources:
            if src.name == name:
                return src
        raise KeyError(name)


def parse_config(text: str, path: Path) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax") from None
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, path, data)) from None
    cfg.path = path.resolve()
    nothing_private_published(cfg, path)
    return cfg


def load_config(path: str | Path) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file; create one with `newsmirror init DIR` or pass --config") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the config ({exc}); check the file") from None
    return parse_config(text, p)
