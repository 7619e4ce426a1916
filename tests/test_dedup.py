"""Near-duplicate fingerprints: the same article a few characters apart is near; two articles are not."""

from __future__ import annotations

from newsmirror.dedup import MAX_DISTANCE, distance, fingerprint, from_signed, same_title, simhash, to_signed

PARAS = [
    "记者从市住房和城乡建设局获悉，城南片区十二个老旧小区的综合改造工程已于本月初全部完工，涉及居民三千二百余户。",
    "这些小区大多建于上世纪九十年代，屋面渗漏、管网老化、道路破损等问题长期困扰居民，每逢雨季，不少楼栋的顶层住户都要用盆接水。",
    "改造工程从去年三月启动，按照“先地下、后地上”的顺序推进，共更换供水管道八点六公里，新建雨污分流管网五公里。",
    "市住建局有关负责人表示，下一步将建立长效管理机制，引入专业物业服务，确保改造成果能够长期保持。",
    "在改造方案确定之前，街道先后召开了四十多场居民议事会，逐楼征求意见，加装电梯、增设停车位和充电桩等需求都被纳入了设计。",
    "今年七十二岁的居民王桂兰说，以前下雨天最怕的就是家里漏水，现在屋顶修好了，楼下还新修了小花园，老人们傍晚都愿意出来走走。",
    "据介绍，改造资金由中央补助、市区两级财政和产权单位共同承担，居民个人出资部分主要用于自家门窗和室内管线的更换。",
    "施工期间，各小区设立了临时便民服务点，为行动不便的老人提供送水、代购等服务，尽量减少施工对居民生活的影响。",
    "下一步，市里还计划启动另外二十个小区的改造，预计惠及居民五千余户，相关方案将于年内向社会公开征求意见。",
]
OTHER = [
    "The Harbour Bridge reopened to traffic on Sunday morning, ending two years of closures that forced commuters "
    "onto ferries and a lengthy detour through the industrial district.",
    "City engineers replaced more than four hundred corroded steel cables and resurfaced the entire deck.",
]


def body(paras: list[str]) -> str:
    return "".join(f"<p>{p}</p>" for p in paras)


def test_the_same_article_a_few_characters_apart_is_near():
    # (an article of some length: in a short text a few characters are a large part of its shingles)
    a = fingerprint("城南老旧小区改造完成", body(PARAS) + "<p>评论（0）</p>")
    b = fingerprint("城南老旧小区改造完成", body(PARAS) + "<p>评论(0)</p>")
    assert a is not None and b is not None and a != b
    assert distance(a, b) <= MAX_DISTANCE


def test_different_articles_are_far_apart():
    a = fingerprint("城南老旧小区改造完成", body(PARAS))
    b = fingerprint("城南老旧小区改造完成", body(PARAS[:1] + [p[::-1] for p in PARAS[1:]]))  # one paragraph shared
    c = fingerprint("Harbour Bridge reopens", body(OTHER))
    assert a is not None and b is not None and c is not None
    assert distance(a, b) > MAX_DISTANCE and distance(a, c) > MAX_DISTANCE


def test_a_short_text_has_no_fingerprint():
    assert fingerprint("标题", "<p>短讯：今日天气晴。</p>") is None


def test_fingerprints_fit_sqlite_integers_and_come_back_unchanged():
    fp = simhash(" ".join(PARAS))
    assert -(1 << 63) <= to_signed(fp) < 1 << 63
    assert from_signed(to_signed(fp)) == fp
    assert simhash(" ".join(PARAS)) == fp  # the same in every process: no per-process hash seed


def test_titles_of_one_article_match_and_a_series_does_not():
    assert same_title("城南老旧小区改造完成", "城南老旧小区改造完成 ")
    assert same_title("城南老旧小区改造完成，三千户告别漏水", "城南老旧小区改造完成，三千户告别漏水_城南日报")
    assert not same_title("城市新闻第12号", "城市新闻第13号")  # a template's series: much text shared, not one article


def _simhash_bit_by_bit(text: str) -> int:
    """SimHash as the paper states it: a weight per bit, +1 for each distinct shingle whose hash has it, -1 else."""
    import hashlib

    norm = " ".join(text.split())
    weights = [0] * 64
    for shingle in {norm[i:i + 4] for i in range(max(1, len(norm) - 3))}:
        h = int.from_bytes(hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if h >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def test_simhash_is_the_bit_by_bit_definition():
    # the fingerprints stored by earlier versions stay comparable: the fast sum gives the very same bits
    import random

    r = random.Random(7)
    texts = ["", "a", " ".join(PARAS), " ".join(OTHER)] + [
        "".join(chr(r.choice([r.randint(0x4E00, 0x4E40), r.randint(97, 100), 32])) for _ in range(r.randint(1, 2000)))
        for _ in range(60)]
    for t in texts:
        assert simhash(t) == _simhash_bit_by_bit(t), t[:40]


def test_fingerprints_within_the_distance_share_a_band():
    from newsmirror.dedup import bands

    r = __import__("random").Random(3)
    for _ in range(500):
        a = r.getrandbits(64)
        b = a
        for bit in r.sample(range(64), r.randint(0, MAX_DISTANCE)):
            b ^= 1 << bit
        assert any(x == y for x, y in zip(bands(a), bands(b), strict=True))
    assert bands(0xFFFF_0000_1234_ABCD) == (0xABCD, 0x1234, 0, 0xFFFF)


def textbook_simhash(text: str) -> int:
    """SimHash as Charikar defines it, one shingle and one bit at a time: what simhash() must equal."""
    import hashlib

    norm = " ".join(text.split())
    shingles = {norm[i:i + 4] for i in range(max(1, len(norm) - 3))}
    votes = [0] * 64
    for s in shingles:
        h = int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "big")
        for bit in range(64):
            votes[bit] += h >> bit & 1
    return sum(1 << bit for bit in range(64) if 2 * votes[bit] > len(shingles))


def test_the_fingerprint_is_the_textbook_simhash_and_stays_what_stores_hold():
    texts = ["", "a", "abcd", "ab  cd\nef", *PARAS, *OTHER, "".join(PARAS) * 3, " ".join(OTHER) * 5]
    assert [simhash(t) for t in texts] == [textbook_simhash(t) for t in texts]
    # fingerprints are kept in the store: a new version computes the very same ones, or old articles go unmatched
    assert simhash("国家主席习近平对法国进行国事访问。The same article served twice with a character of "
                   "difference.") == 0xAF9032851AA92F4E
    assert simhash("") == 0xE4A6A0577479B2B4
