"""Config: the minimal file works, every error names the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsmirror.config import ConfigError, load_config, parse_config

from .conftest import MINIMAL


def parse(text: str):
    return parse_config(text, Path("/tmp/x/newsmirror.toml"))


def test_minimal_config_loads_with_defaults():
    cfg = parse(MINIMAL.replace("{base}", "http://127.0.0.1:8000"))
    assert cfg.site.title == "新闻镜像"
    assert cfg.site.base_url == "https://github.com/example/news/blob/main"
    assert cfg.site.link_policy == "mirror" and cfg.site.counter_url is None and not cfg.site.tag_links
    assert cfg.sources[0].url == "http://127.0.0.1:8000/gb/prog204/feed"
    assert cfg.output_dir == Path("/tmp/x/mirror")
    assert cfg.store_path == Path("/tmp/x/newsmirror.db")
    assert cfg.fetch.retries >= 1 and cfg.fetch.max_bytes > 0


def errors(text: str) -> str:
    with pytest.raises(ConfigError) as exc:
        parse(text)
    return str(exc.value)


BASE = MINIMAL.replace("{base}", "http://127.0.0.1:8000")


@pytest.mark.parametrize("change, expected", [
    (('title = "新闻镜像"', 'title = "新闻镜像"\ncolor = 1'), "unknown key 'site.color'"),
    (('category = "intl"', 'category = "world"'), "'world' is not a category"),
    (('kind = "rss"', 'kind = "gopher"'), "sources[0].kind = 'gopher'"),
    (('url = "http://127.0.0.1:8000/gb/prog204/feed"', 'url = "ftp://x/feed"'), "http:// or https://"),
    (('base_url = "https://github.com/example/news/blob/main"', 'base_url = "github.com/x"'), "site.base_url"),
    (('name = "ntd-intl"', 'name = "NTD Intl!"'), "sources[0].name"),
    (('[categories.intl]\ntitle = "国际"', '[categories.intl]\ntitle = ""'), "categories.intl.title"),
    (('output = "mirror"', 'output = "mirror"\nlink_policy = "nuke"'), "site.link_policy = 'nuke'"),
    (('output = "mirror"', 'output = "mirror"\ncounter_url = "https://c.example/x.gif"'), "{path}"),
    (('output = "mirror"', 'output = "mirror"\ncounter_url = "https://c.example/{id}.gif"'), "{path}"),
    (('output = "mirror"', 'output = "."'), "holds this config file, which would be published"),
    (('output = "mirror"', 'output = "mirror"\ncounter_stats = "ftp://c.example/stats.json"'), "counter_stats"),
    (('base_url = "https://github.com/example/news/blob/main"', 'base_url = "https://x.example/a b"'), "space"),
    (('output = "mirror"', 'output = "mirror"\nstore = "mirror/db/newsmirror.db"'), "holds the store"),
    (('title = "新闻镜像"', 'title = 新闻镜像'), "not valid TOML"),
    (('category = "intl"', 'category = "intl"\n[fetch]\nmin_speed = -1'), "fetch.min_speed = -1"),
    (('category = "intl"', 'category = "intl"\n[fetch]\nmin_speed_time = 0'), "fetch.min_speed_time = 0"),
    (('category = "intl"', 'category = "intl"\n[workers]\nengine = "ray"'), "workers.engine = 'ray'"),
    (('category = "intl"', 'category = "intl"\n[workers]\nscheduler = "tcp://10.0.0.5:8786"'),
     'set engine = "dask"'),
    (('category = "intl"', 'category = "intl"\n[workers]\nengine = "dask"\nscheduler = "10.0.0.5"'),
     "workers.scheduler = '10.0.0.5'"),
])
def test_bad_values_name_the_key(change, expected):
    old, new = change
    assert old in BASE
    msg = errors(BASE.replace(old, new))
    assert expected in msg
    assert "newsmirror.toml" in msg and "\n" not in msg.strip()


def test_listing_needs_a_selector_or_pattern_and_rules_must_parse():
    text = BASE + '\n[[sources]]\nname = "l"\nkind = "listing"\nurl = "http://127.0.0.1:1/"\ncategory = "intl"\n'
    assert "link_selector" in errors(text)
    ok = text + 'link_selector = "a.x"\n[sources.rules]\nbody = "div["\n'
    assert "rules.body" in errors(ok)
    assert "sources[1].link_selector" in errors(text + 'link_selector = "a[x"\n')
    assert "sources[1].next_selector" in errors(text + 'link_selector = "a"\nnext_selector = "a.next["\n')
    assert "rules.remove" in errors(text + 'link_selector = "a"\n[sources.rules]\nremove = [".ad", "div["]\n')


def test_a_signing_key_or_counter_database_inside_the_output_is_refused():
    assert "holds the signing key" in errors(BASE + '\n[signing]\nkey = "mirror/keys/mirror.key"\n')
    text = BASE.replace('output = "mirror"', 'output = "mirror"\ncounter_stats = "mirror/views.db"')
    assert "holds the counter's database" in errors(text)


def test_duplicate_source_names_and_missing_sections():
    dup = BASE + '\n[[sources]]\nname = "ntd-intl"\nkind = "rss"\nurl = "http://127.0.0.1:1/f"\ncategory = "intl"\n'
    assert "used twice" in errors(dup)
    assert "categories is missing" in errors('[site]\ntitle = "x"\n')


def test_load_config_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="newsmirror init"):
        load_config(tmp_path / "nope.toml")


def test_remotes_are_optional_and_checked():
    assert parse(BASE).remotes == [] and parse(BASE).publish.on_run
    one = '\n[[remotes]]\nname = "gh"\nurl = "git@github.com:a/b.git"\n'
    two = BASE + one + one
    assert "remotes[1].name: 'gh' is used twice" in errors(two)
    bad = BASE + '\n[[remotes]]\nname = "gh"\nurl = "/srv/b.git"\nbranch = "../x"\n'
    assert "remotes[0].branch = '../x': a branch name is" in errors(bad)
    assert "unknown key 'remotes[0].pushurl'" in errors(BASE + '\n[[remotes]]\nname = "a"\nurl = "u"\npushurl = "v"\n')


@pytest.mark.parametrize("kind, key, owner", [
    ("rss", 'max_sitemaps = 5', "sitemap"),
    ("sitemap", 'link_selector = "a"', "listing"),
    ("listing", 'path = "picks.txt"', "urls"),
])
def test_a_key_of_another_source_kind_is_an_error_naming_the_key_and_its_kind(kind, key, owner):
    extra = 'link_selector = "a"\n' if kind == "listing" else ""
    text = BASE + (f'\n[[sources]]\nname = "x"\nkind = "{kind}"\nurl = "http://127.0.0.1:1/"\ncategory = "intl"\n'
                   f'{extra}{key}\n')
    msg = errors(text)
    name = key.split(" ")[0]
    assert f"sources[1]: {name} is a key of {owner} sources, not of " in msg and f"{kind} source; remove it" in msg
    assert "\n" not in msg.strip()


def test_every_source_kind_has_its_options_and_a_module_that_reads_it():
    import importlib

    from newsmirror.config import KIND_MODELS
    from newsmirror.sources import READERS, readers

    assert set(KIND_MODELS) == set(readers()) == {"rss", "atom", "listing", "sitemap", "urls"}
    for name in READERS:
        module = importlib.import_module(f"newsmirror.sources.{name}")
        assert all(KIND_MODELS[kind] is module.OPTIONS for kind in module.KINDS)


def source_text(kind: str, keys: str) -> str:
    return BASE + f'\n[[sources]]\nname = "x"\nkind = "{kind}"\ncategory = "intl"\n{keys}'


@pytest.mark.parametrize("kind, own, key, owner", [
    ("rss", 'url = "http://127.0.0.1:1/"', 'link_pattern = "x"', "listing"),
    ("atom", 'url = "http://127.0.0.1:1/"', "max_depth = 2", "sitemap"),
    ("listing", 'url = "http://127.0.0.1:1/"\nlink_selector = "a"', "max_age_days = 2", "sitemap"),
    ("sitemap", 'url = "http://127.0.0.1:1/"', "max_pages = 2", "listing"),
    ("urls", 'path = "picks.txt"', 'next_selector = "a"', "listing"),
])
def test_each_kind_refuses_the_keys_of_another_in_one_line(kind, own, key, owner):
    assert parse(source_text(kind, own + "\n")).sources[1].kind == kind
    msg = errors(source_text(kind, f"{own}\n{key}\n"))
    name = key.split(" ")[0]
    assert msg.endswith(f"newsmirror.toml: sources[1]: {name} is a key of {owner} sources, not of "
                        f"{'an' if kind in ('rss', 'atom') else 'a'} {kind} source; remove it (or change the kind)")
    assert "\n" not in msg
    from pydantic import ValidationError

    from newsmirror.config import KIND_MODELS

    model = KIND_MODELS[kind]  # the kind's own model refuses it too, made in code as from the file
    assert name not in model.model_fields and all(k in model.model_fields for k in ("name", "category", "limit"))
    fields = dict(line.split(" = ") for line in f"{own}\n{key}".splitlines())
    with pytest.raises(ValidationError, match=f"{name} is a key of {owner} sources"):
        model(name="x", kind=kind, category="intl", **{k: v.strip('"') for k, v in fields.items()})


def test_a_key_of_several_kinds_names_them_and_a_key_of_none_is_unknown():
    msg = errors(source_text("urls", 'path = "p.txt"\nmax_pages = 2\n'))
    assert "sources[1]: max_pages is a key of listing sources" in msg
    assert errors(source_text("rss", 'url = "http://127.0.0.1:1/"\ncolour = 1\n')).endswith(
        "unknown key 'sources[1].colour'; remove it or check its spelling (see `newsmirror init`)")
    # an error inside a kind's own key names it as the file does (no kind in the middle)
    assert "sources[1].max_depth = 99: " in errors(source_text("sitemap", 'url = "http://127.0.0.1:1/"\n'
                                                                        "max_depth = 99\n"))


def test_an_unknown_or_missing_kind_is_one_line_listing_the_kinds():
    msg = errors(source_text("gopher", 'url = "http://127.0.0.1:1/"\n'))
    assert msg.endswith("sources[1].kind = 'gopher': not a source kind; use one of: rss, atom, listing, sitemap, urls")
    assert "\n" not in msg
    msg = errors(BASE + '\n[[sources]]\nname = "x"\ncategory = "intl"\nurl = "http://127.0.0.1:1/"\n')
    assert msg.endswith("sources[1].kind is missing; add it, one of: rss, atom, listing, sitemap, urls")
    assert "\n" not in msg
