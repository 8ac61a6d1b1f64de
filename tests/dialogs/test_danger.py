"""The danger detector: emergencies told in plain words or dialect are found with
the right kind; past events, figures of speech and legal questions are not; and
the held-out half of the labelled set meets its accuracy targets.

The sentences below were written for these tests and are not in the
evaluation files (benchmarks/data/danger-*.jsonl).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import pytest

from dialogs.danger import Danger, DangerKind, detect

DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data"

DANGER = [
    # weapon
    ("邻居拿着杀猪刀冲到我家来了", DangerKind.WEAPON),
    ("他拿把斧头在我门上砍", DangerKind.WEAPON),
    ("他拿着刀说要砍我 现在怎么办", DangerKind.WEAPON),
    ("我老公把刀架在我娃脖子上", DangerKind.WEAPON),
    # violence
    ("我哥喝醉了把我嫂子往死里打", DangerKind.VIOLENCE),
    ("俺公公在打俺 娃吓得直哭", DangerKind.VIOLENCE),
    ("他以前就打我 现在还在打", DangerKind.VIOLENCE),
    ("救命", DangerKind.VIOLENCE),
    # poisoning
    ("我爸把半瓶百草枯喝下去了", DangerKind.POISONING),
    ("娃娃把农药当成水喝了", DangerKind.POISONING),
    ("额大把滴滴畏喝咧", DangerKind.POISONING),
    # medical
    ("我爹早上起来就说不了话 一边身子不能动", DangerKind.MEDICAL),
    ("有个老人在公交站晕了过去", DangerKind.MEDICAL),
    ("我老婆生孩子 血止不住", DangerKind.MEDICAL),
    # drowning
    ("我娃掉到村头的涝池里了", DangerKind.DROWNING),
    ("尕娃掉进井里了 井很深", DangerKind.DROWNING),
    ("有人被河水冲走了", DangerKind.DROWNING),
    # fire
    ("后山起火了 往村里烧", DangerKind.FIRE),
    ("我家的柴禾垛着了 火好大", DangerKind.FIRE),
    ("锅炉房爆炸了", DangerKind.FIRE),
    # gas
    ("屋里生着炭盆子 人头晕眼花的", DangerKind.GAS),
    ("家里煤气管子漏了 满屋子都是味", DangerKind.GAS),
    ("俺家老汉叫煤烟打了", DangerKind.GAS),
    # electrocution
    ("我男人修电线 被电住了", DangerKind.ELECTROCUTION),
    ("雷雨天电线断了掉在院子里 冒火花", DangerKind.ELECTROCUTION),
    ("娃用手抠插座 被电打了", DangerKind.ELECTROCUTION),
    # trapped
    ("我女儿被人贩子带走了", DangerKind.TRAPPED),
    ("我家的窑洞塌了 老人在里头", DangerKind.TRAPPED),
    ("娃娃找不着了", DangerKind.TRAPPED),
    # self-harm, including beside a legal or money question
    ("我真想一死了之", DangerKind.SELF_HARM),
    ("活着一点意思都没有", DangerKind.SELF_HARM),
    ("我刚买了一瓶敌敌畏 准备今晚喝", DangerKind.SELF_HARM),
    ("我不想活了 钱要不回来 娃也不认我", DangerKind.SELF_HARM),
    ("人活着有撒意思", DangerKind.SELF_HARM),
]

NEAR_MISSES = [
    # past events and legal questions about them
    "我家去年着了一场火 房子还没修 能申请补助吗",
    "他前年拿刀把我砍伤了 判了三年 民事赔偿咋要",
    "我被人打伤了 住了一个礼拜院 出院了 对方不管",
    "喝农药的那个邻居后来救活了",
    "两口子打起来了 邻居劝开了 现在没事了",
    # figures of speech
    "气死我了 老板又扣工资",
    "这是救命钱 他借了不还",
    "爆炸新闻 村长被抓了",
    "要命的工资三个月没发了",
    "老板说要砍我工资",
    "我不想活在这个村了 想搬到城里 户口咋迁",
    "想死你了宝贝",
    # everyday questions with a danger word in them
    "冬天怎么防煤气中毒",
    "他们拿着锄头去地里干活了",
    "我的车不动了 打不着火",
    "我在找我娃的出生证明 找不到了",
    "我家的羊被电死了",
    "手机掉水里了 还能修吗",
    "我想死后把地留给小儿子 要写遗嘱吗",
    # a story, a dream
    "晚上做梦梦见有人拿刀追我",
    "电视剧里演的那个跳楼的老板最后咋样了",
]


@pytest.mark.parametrize(("text", "kind"), DANGER)
def test_danger_is_found_with_its_kind(text: str, kind: DangerKind) -> None:
    found = detect(text)
    assert found is not None, text
    assert found.kind == kind, (text, found)


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_miss_is_not_danger(text: str) -> None:
    assert detect(text) is None


# Bugs found in the first version, each with sentences written for this test.


def test_fire_coming_closer_is_not_a_past_event() -> None:
    """ "烧过" is past, "烧过来" is a fire spreading towards the village now."""
    assert _kind("火从山坡上烧过来了 快跑") == DangerKind.FIRE
    assert _kind("后山的火眼看就烧过来了") == DangerKind.FIRE
    assert detect("前年烧过一回 保险赔了") is None
    assert detect("这块地烧过荒 今年还能种吗") is None


def test_search_goes_on_after_a_match_about_an_animal() -> None:
    """ "羊棚塌了" is about the sheep; the search retries from the next character."""
    assert _kind("羊棚塌了 俺爹还在里面 刨不出来") == DangerKind.TRAPPED
    assert _kind("狗掉进涝池了 我娃跳下去捞 也没上来") == DangerKind.DROWNING
    assert detect("羊掉进水窖了 咋弄上来") is None


def test_held_down_and_beaten() -> None:
    assert _kind("他把俺摁在炕上打") == DangerKind.VIOLENCE
    assert _kind("几个人把他按在地上往死里踢") == DangerKind.VIOLENCE


def test_ba_da_needs_a_person_beaten() -> None:
    """ "把…打" only with a person in between, not a wall or 打发/打听."""
    assert _kind("她男人把她堵在屋里打") == DangerKind.VIOLENCE
    assert detect("装修师傅把我家墙打穿了") is None
    assert detect("村长把他打发回去了") is None


def test_a_legal_question_asked_while_it_happens_is_still_danger() -> None:
    assert _kind("他拿刀抵着我要钱 这算抢劫吗") == DangerKind.WEAPON
    assert detect("他上个月拿刀抵着我要钱 能判几年") is None


def test_poisoning_and_drowning_lean_towards_warning() -> None:
    """A money question does not hide a poisoning; a death told beside it does."""
    assert _kind("娃喝了老鼠药 新农合能报吗") == DangerKind.POISONING
    assert detect("老汉在水库淹死了 管理站有没有责任") is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("额真的撑不住了 不想再拖累娃", DangerKind.SELF_HARM),
        ("渠里漂着个人 快来", DangerKind.DROWNING),
        ("屋里生着炭火 俺和娃都头晕想吐", DangerKind.GAS),
        ("我男人被电住了 松不开手", DangerKind.ELECTROCUTION),
        ("娃放学到现在还没回家 电话也打不通", DangerKind.TRAPPED),
        ("娃吃了降压药 吃了一整盒", DangerKind.POISONING),
    ],
)
def test_indirect_wording_is_found(text: str, kind: DangerKind) -> None:
    assert _kind(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "降压药吃了头还是晕 要换药吗",
        "他喊着要打死我 后来没动手",
        "他气冲冲走了 门都摔坏了",
        "大水把桥冲走了 娃上学绕远路",
        "我的车着了 能开走了",
        "麦子着了雨 发芽了咋办",
        "我想死我妈了",
        "老人出去转了 还没回来",
    ],
)
def test_everyday_sentences_with_danger_words_are_not_danger(text: str) -> None:
    assert detect(text) is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("冰面上刚才有三个学生在滑 现在掉下去两个", DangerKind.DROWNING),
        ("矿井冒顶了 下面还有我们村七个人", DangerKind.TRAPPED),
        ("我家那口子拿着根钢筋 一直往我哥头上抡", DangerKind.WEAPON),
        ("我在大桥上 你们别劝我", DangerKind.SELF_HARM),
        ("对不起爸妈 我现在在水库边上", DangerKind.SELF_HARM),
        ("液化气罐子着了", DangerKind.FIRE),
    ],
)
def test_hazard_and_harm_far_apart_are_found(text: str, kind: DangerKind) -> None:
    """A short message naming a hazard and, anywhere else, what it does to someone."""
    assert _kind(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "线被人偷了 整个村停电了",
        "他动不动就摔碗",
        "水管子掉了 厨房漏水",
        "我家猪掉进粪坑了 拉上来了",
        "河里的水被截了 庄稼浇不上",
        "电线掉下来了 停电一天了 啥时候修",
        "我想了结这个案子",
        "被人骗走了两万块",
        "被电信诈骗了怎么办",
        "水管爆了 地板泡了",
        "喊破喉咙也没用 没人管我们的工资",
        "他吓得脸都白了",
        "老板电话打不通 不知道怎么办",
        "房东联系不上 押金不知道咋办",
        "包工头手机关机了 一起来的工友也联系不上",
        "养猪场臭得不行 熏得头疼",
        "河里有人倒垃圾 水都臭了",
    ],
)
def test_hazard_words_without_harm_to_anyone_are_not_danger(text: str) -> None:
    assert detect(text) is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("吃了二十几片安眠药", DangerKind.POISONING),
        ("孩子被一个女的领走了 找不到了", DangerKind.TRAPPED),
        ("我妈洗衣服的时候被洗衣机电了 手一直在抖", DangerKind.ELECTROCUTION),
        ("我老公又家暴了 孩子吓得直哭", DangerKind.VIOLENCE),
        ("矿上塌方 压住了三个人", DangerKind.TRAPPED),
        ("娃把爷爷的胃药吃了七八粒", DangerKind.POISONING),
        ("隔壁院子里有个女的在喊救命", DangerKind.VIOLENCE),
    ],
)
def test_numbers_quantities_and_objects_in_between_do_not_hide_danger(
    text: str, kind: DangerKind
) -> None:
    assert _kind(text) == kind


def _kind(text: str) -> DangerKind | None:
    found = detect(text)
    return found.kind if found else None


def test_every_kind_has_a_sample() -> None:
    assert {kind for _, kind in DANGER} == set(DangerKind)


def test_spaces_punctuation_and_full_width_do_not_matter() -> None:
    found = detect("  他！拿 着 刀，说 要 砍 我！！ ")
    assert found == Danger(DangerKind.WEAPON, "拿着刀")
    assert detect("ＳＯＳ") == Danger(DangerKind.VIOLENCE, "sos")


def test_empty_and_punctuation_only_are_not_danger() -> None:
    assert detect("") is None
    assert detect(" ？！…") is None


def test_danger_is_immutable() -> None:
    found = detect("有人触电了")
    assert found is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.kind = DangerKind.FIRE  # type: ignore[misc]


def _load(name: str) -> list[tuple[str, DangerKind | None]]:
    rows = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows.append((row["text"], DangerKind(row["kind"]) if row["kind"] else None))
    return rows


def test_evaluation_set_has_the_promised_shape() -> None:
    tune, heldout = _load("danger-tune.jsonl"), _load("danger-heldout.jsonl")
    per_kind = Counter(kind for _, kind in heldout)
    assert all(per_kind[kind] >= 15 for kind in DangerKind), per_kind
    assert per_kind[None] >= 100
    both = tune + heldout
    assert sum(kind is not None for _, kind in both) >= 200
    assert sum(kind is None for _, kind in both) >= 200
    assert not {text for text, _ in tune} & {text for text, _ in heldout}


FRESH_SETS = sorted(path.name for path in DATA.glob("danger-fresh*.jsonl"))


def test_every_fresh_set_is_checked() -> None:
    assert len(FRESH_SETS) >= 8, FRESH_SETS


@pytest.mark.parametrize("name", ["danger-heldout.jsonl", *FRESH_SETS])
def test_evaluation_targets_are_met(name: str) -> None:
    """Recall >= 0.98 and false alarms <= 3%, or two where a set has too few near
    misses for 3% to allow two. The fresh sets were written after the detector and
    scored once before it was improved on them; now they guard against regressions."""
    heldout = _load(name)
    danger = [text for text, kind in heldout if kind is not None]
    near = [text for text, kind in heldout if kind is None]
    missed = [text for text in danger if detect(text) is None]
    alarms = [text for text in near if detect(text) is not None]
    assert 1 - len(missed) / len(danger) >= 0.98, missed
    assert len(alarms) <= max(0.03 * len(near), 2), alarms
