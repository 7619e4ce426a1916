"""The options of each source kind, one model a kind, and the config's `Source`: their union, told apart by
`kind`. Each module of newsmirror.sources reads the kinds of one model here and names it (OPTIONS); the models
live on the config's side because the config may not import the stages that read them."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union, get_args

from pydantic import Field, field_validator, model_validator

from .config_check import Model, Rules, css_selector, http_url, key_name


class SourceBase(Model):
    """What every source takes, whatever its kind."""

    name: str
    kind: str
    category: str
    limit: int = Field(default=100, ge=1, le=10000,
                       description="URLs that need fetching taken from the source in one run; the rest next run")
    pick: bool | None = None
    rules: Rules | None = None
    obey_robots: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _keys_of_its_kind(cls, data: object) -> object:
        """A key of another kind (max_sitemaps on an rss source, say) is told as such, not as an unknown key: the
        fix is to remove it or change the kind, not to check its spelling."""
        kind = data.get("kind") if isinstance(data, dict) else None
        if kind in KIND_MODELS and KIND_MODELS[kind] is cls:
            for key in data:
                if key not in cls.model_fields and (owners := kinds_with_key(key)):
                    article = "an" if kind in ("rss", "atom") else "a"
                    raise ValueError(f"{key} is a key of {' or '.join(owners)} sources, not of {article} {kind} "
                                     "source; remove it (or change the kind)")
        return data

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return key_name(v, "source")

    @property
    def is_pick(self) -> bool:
        return self.pick if self.pick is not None else self.kind == "urls"


def _needs_url(source: SourceBase, url: str | None, hint: str = "") -> None:
    if not url:
        raise ValueError(f"a {source.kind} source needs url = \"https://…\"{hint}")
    http_url(url, "url")


class FeedSource(SourceBase):
    """An RSS or Atom feed."""

    kind: Literal["rss", "atom"]
    url: str | None = None

    @model_validator(mode="after")
    def _url(self) -> FeedSource:
        _needs_url(self, self.url)
        return self


class ListingSource(SourceBase):
    """A section front whose article links are picked by CSS selector or URL regex, over `max_pages` pages."""

    kind: Literal["listing"]
    url: str | None = None
    link_selector: str | None = None
    link_pattern: str | None = None
    next_selector: str | None = None
    max_pages: int = Field(default=1, ge=1, le=100)

    @field_validator("link_selector", "next_selector")
    @classmethod
    def _selector(cls, v: str | None) -> str | None:
        css_selector(v)  # (the message names the key)
        return v

    @field_validator("link_pattern")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        if v:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"{v!r} is not a regular expression ({exc})") from None
        return v

    @model_validator(mode="after")
    def _url_and_links(self) -> ListingSource:
        _needs_url(self, self.url)
        if not (self.link_selector or self.link_pattern):
            raise ValueError('a listing source needs link_selector = "CSS" or link_pattern = "regex"')
        return self


class SitemapSource(SourceBase):
    """A sitemap or sitemap index (or a home page, to find them in robots.txt)."""

    kind: Literal["sitemap"]
    url: str | None = None
    max_age_days: float = Field(default=3, gt=0, le=36500, description="sitemap: only URLs newer than this")
    max_sitemaps: int = Field(default=50, ge=1, le=10000)
    max_depth: int = Field(default=3, ge=1, le=10)

    @model_validator(mode="after")
    def _url(self) -> SitemapSource:
        _needs_url(self, self.url, " (a sitemap, or the site's home page to find its sitemaps in robots.txt)")
        return self


class UrlsSource(SourceBase):
    """A hand-kept list of URLs: a file beside the config (`path`) or at a URL."""

    kind: Literal["urls"]
    path: str | None = None
    url: str | None = None

    @model_validator(mode="after")
    def _path_or_url(self) -> UrlsSource:
        if not (self.path or self.url):
            raise ValueError('a urls source needs path = "picks.txt" (a text or CSV file of URLs) or a url')
        return self


SOURCE_MODELS = (FeedSource, ListingSource, SitemapSource, UrlsSource)

# each source kind → its options model (the registry `Source` is built from)
KIND_MODELS: dict[str, type[SourceBase]] = {
    kind: model for model in SOURCE_MODELS for kind in get_args(model.model_fields["kind"].annotation)
}

Source = Annotated[Union[SOURCE_MODELS], Field(discriminator="kind")]  # noqa: UP007 (a tuple of models)


def kinds_with_key(key: str) -> list[str]:
    """The kinds whose options include `key` (an empty list for a key of no kind, or of every kind)."""
    owners = [kind for kind, model in KIND_MODELS.items() if key in model.model_fields]
    return [] if key in SourceBase.model_fields else owners
