"""Shared fixtures: small FAQ folders written to tmp_path, and the shipped FAQ."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from faq import FaqService, Matcher, load_faq
from faq._cache import cache_dir

SMALL_FAQ = """\
- id: dog-bite
  category: injury
  question: 被别人家的狗咬了，谁来负责？
  variants:
    - 狗咬了人谁来赔
    - 被邻居家的狗咬伤了
    - 遛狗不拴绳把我咬了
  keywords: [狗咬]
  answer: 饲养人或者管理人承担侵权责任。
  basis:
    - 民法典 第一千二百四十五条

- id: wage-arrears
  category: wages
  question: 老板拖欠工资不给怎么办？
  variants:
    - 老板不给工钱
    - 工资拖了三个月没发
    - 干完活老板不结账
  answer: 可以向劳动监察投诉，或者申请劳动仲裁。
  basis:
    - 中华人民共和国劳动合同法 第三十条
  handoff: true

- id: divorce-custody
  category: family
  question: 离婚后孩子归谁抚养？
  variants:
    - 离婚了孩子跟谁
    - 抚养权怎么判
    - 离婚孩子判给谁
  answer: 以最有利于未成年子女为原则。
  basis:
    - 民法典 第一千零八十四条

- id: divorce-visitation
  category: family
  question: 离婚后对方不让我看孩子怎么办？
  variants:
    - 离婚后不让我探望孩子
    - 前妻不让见孩子
    - 探望权怎么执行
  answer: 不直接抚养子女的父或者母有探望子女的权利。
  basis:
    - 民法典 第一千零八十六条

- id: homestead
  category: land
  question: 农村一户能有几处宅基地？
  variants:
    - 宅基地能买卖吗
    - 一户一宅是什么意思
    - 宅基地能卖给城里人吗
  keywords: [宅基地]
  answer: 农村村民一户只能拥有一处宅基地。
  basis:
    - 土地管理法 第六十二条
"""

SMALL_SYNONYMS = """\
工资: [工钱, 薪水]
孩子: [娃, 小孩]
离婚: [离了婚]
"@天气": [下雨, 天气, 下雪]
"""

CATEGORIES = """\
injury:
  name: 人身损害
  keywords: [狗咬, 打伤]
wages:
  name: 欠薪与劳动报酬
  keywords: [工资]
family:
  name: 婚姻家庭
  keywords: [离婚]
land:
  name: 土地承包与宅基地
  keywords: [宅基地]
other:
  name: 其他问题
  keywords: []
"""


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the parsed YAML of test folders out of the user's cache; share the
    big dictionaries (read-only) so tests need not rebuild them."""
    user = cache_dir()
    folder = tmp_path_factory.mktemp("cache")
    for shared in user.glob("*.pickle") if user else ():
        if not shared.name.startswith("yaml-"):
            (folder / shared.name).symlink_to(shared)
    old = os.environ.get("MINSHI_CACHE_DIR")
    os.environ["MINSHI_CACHE_DIR"] = str(folder)
    yield folder
    if old is None:
        del os.environ["MINSHI_CACHE_DIR"]
    else:
        os.environ["MINSHI_CACHE_DIR"] = old


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def make_faq(tmp_path: Path) -> Callable[..., Path]:
    """Write an FAQ folder: entries (file name → YAML text) plus our own support files."""

    def make(entries: dict[str, str] | None = None, synonyms: str = SMALL_SYNONYMS) -> Path:
        folder = tmp_path / "faq"
        write(folder / "categories.yaml", CATEGORIES)
        write(folder / "synonyms.yaml", synonyms)
        write(folder / "legal_dict.txt", "宅基地\n抚养权\n探望权\n")
        for name, text in (entries if entries is not None else {"small.yaml": SMALL_FAQ}).items():
            write(folder / name, text)
        return folder

    return make


@pytest.fixture
def small_faq(make_faq: Callable[..., Path]) -> Path:
    return make_faq()


@pytest.fixture
def small_matcher(small_faq: Path) -> Matcher:
    data = load_faq(small_faq)
    return Matcher(data.entries, data.synonyms, data.legal_words)


@pytest.fixture(scope="session")
def shipped() -> FaqService:
    service = FaqService()
    service.load()
    return service
