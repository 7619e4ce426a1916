"""The hot list (热点推荐) ranked by the counter: pixels from the pages themselves, counted by a real counter,
read back from its database or its stats.json."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

from newsmirror.counter.db import CounterDB
from tests.counter.test_service import counter, get
from tests.test_pipeline import cli_run, demo_config

VIEWS = {"culture/n3001": 3, "intl/n2001": 2, "intl/a103612902": 2, "culture/n3003": 1}


def hot_titles(out) -> list[str]:
    return re.findall(r"^\d+\. \S+ \[(.+?)\]\(\.\./pages/(\w+/\w+)\.md\)", (out / "indexes/hot.md").read_text("utf-8"),
                      re.M)


def test_the_hot_list_ranks_by_the_counters_views_over_the_window(demo_server, tmp_path):
    db = tmp_path / "views.db"
    today = datetime.now(UTC).date()
    yesterday = (today - timedelta(days=1)).isoformat()
    earlier = CounterDB(db)  # what readers opened yesterday
    earlier.add({(yesterday, f"pages/{page}.md"): n for page, n in VIEWS.items()})
    earlier.close()
    with counter(db, "--dedupe-window", "0") as c:
        cfg = demo_config(tmp_path, demo_server.base, site_extra=f'counter_url = "{c.base}/{{path}}"')
        assert cli_run(cfg, "run").exit_code == 0
        out = tmp_path / "out"
        for page in ("intl/n2002", "culture/n3002"):  # readers open pages today: their pixels reach the counter,
            text = (out / f"pages/{page}.md").read_text(encoding="utf-8")  # and count from tomorrow on
            pixel = re.search(r'<img src="([^"]+)" width="0" height="0"', text).group(1)
            assert pixel == f"{c.base}/pages/{page}.md"
            for _ in range(5):
                assert get(pixel)[0] == 200
        stats_url = f"{c.base}/stats.json"
        cfg.write_text(cfg.read_text(encoding="utf-8").replace("[site]\n", f'[site]\ncounter_stats = "{stats_url}"\n'
                                                               "hot_days = 3\n", 1), encoding="utf-8")
        res = cli_run(cfg, "build")
        assert res.exit_code == 0, res.output
        from_url = hot_titles(out)
        hot = (out / "indexes/hot.md").read_text(encoding="utf-8")
        assert c.stop() == 0
    ranked = [p for _, p in from_url]
    # by views; n2001 and the seed tie at 2, and the newer (n2001, 2024) goes first; unviewed ones by recency
    assert ranked[:4] == ["culture/n3001", "intl/n2001", "intl/a103612902", "culture/n3003"]
    assert set(ranked[4:]) == {"culture/n3002", "intl/n2002"}
    window = f"{today - timedelta(days=3)} – {yesterday}"
    assert f"最近 3 天：{window} UTC" in hot and "3 次阅读" in hot

    # the same from the counter's database file, with the counter stopped; a flood of views of made-up pages
    # (a counter run without --mirror counts them) pushes none of the mirror's out
    flood = CounterDB(db)
    flood.add({(yesterday, f"pages/intl/fake{i}.md"): 10 for i in range(1200)})
    flood.close()
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(stats_url, str(db)), encoding="utf-8")
    assert cli_run(cfg, "build").exit_code == 0
    assert hot_titles(out) == from_url

    # the counter cannot be reached: one clear line, and the hot list by recency
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(str(db), stats_url), encoding="utf-8")
    res = cli_run(cfg, "build")
    assert res.exit_code == 0 and f"cannot read view counts from {stats_url}" in res.output
    assert "ranked by recency" in (out / "indexes/hot.md").read_text(encoding="utf-8")
    assert [p for _, p in hot_titles(out)][0] == "culture/n3003"  # the newest

    # the database file damaged past its first pages: one clear line, the hot list by recency, the run goes on
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    assert len(data) > 5 * 4096
    data[2 * 4096:len(data) - 4096] = b"\xff" * (len(data) - 3 * 4096)
    db.write_bytes(bytes(data))
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(stats_url, str(db)), encoding="utf-8")
    res = cli_run(cfg, "build")
    assert res.exit_code == 0 and "not a usable counter database" in res.output, res.output
    assert "ranked by recency" in (out / "indexes/hot.md").read_text(encoding="utf-8")


def test_counts_and_counter_stats_cannot_both_be_set(demo_server, tmp_path):
    cfg = demo_config(tmp_path, demo_server.base, site_extra='counts = "v.json"\ncounter_stats = "views.db"')
    res = cli_run(cfg, "run")
    assert res.exit_code == 2 and "counts and counter_stats are both set" in res.output
