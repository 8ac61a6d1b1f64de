"""Shared fixtures: small FAQ folders written to tmp_path, and the shipped FAQ."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from faq import FaqService, Matcher, load_faq
from faq._cache import cache_dir

# Each entry keeps to the content rules of `minshi faq check` (faq/_rules.py):
# a short answer, at least 10 distinct variants, 3 of them long stories.
SMALL_FAQ = """\
- id: dog-bite
  category: injury
  question: 被别人家的狗咬了，谁来负责？
  variants:
    - 狗咬了人谁来赔
    - 被邻居家的狗咬伤了
    - 遛狗不拴绳把我咬了
    - 被恶狗咬伤了能要多少赔偿
    - 狗把娃咬了主人管不管
    - 被狗咬了打针的钱谁出
    - 散养的狗咬人要赔吗
    - 狗主人不承认是他家狗咬的
    - 俺放学回来路过村口，老张家那条黄狗突然窜出来把我小腿咬了一大口
    - 早上出门去地里干活，邻居家的大狗没拴住追着我咬，裤子撕烂了还流了血
    - 我家孩子在巷子里玩，被对门养的狗扑倒咬了胳膊，去医院打疫苗花了八百多
  keywords: [狗咬]
  short_answer: 狗的饲养人或者管理人要赔，除非能证明是被咬的人故意招惹。
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
    - 厂里欠了半年工资不发
    - 干了活拿不到钱
    - 讨薪找哪个部门
    - 东家拖着薪水不给
    - 工资被压着不发合法吗
    - 我在镇上的砖厂干了八个月，老板一分钱工资都没给，说等年底，现在年底了人也找不到
    - 去年在饭店当服务员，走的时候老板扣着两个月的工钱不给，打电话也不接
    - 我们十几个人在厂里上班，老板说资金周转不开，已经拖了三个月工资，大家都等着钱过年
  short_answer: 先留好干活的证据，再向劳动监察投诉或者申请劳动仲裁。
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
    - 娃判给谁带
    - 闹离婚两个娃咋分
    - 孩子不到两岁离婚归谁
    - 孩子八岁了离婚能自己选跟谁吗
    - 离婚时男方非要孩子
    - 我和老公过不下去要离婚了，两个孩子一个五岁一个一岁，他家非要把儿子留下，我能都带走吗
    - 媳妇跑回娘家要离婚，说孩子必须跟她，俺娘说孙子得留在咱家，到底法院咋判
    - 结婚十年准备协议离婚，孩子今年十岁了，孩子自己说想跟我，法院会不会听孩子的意见
  short_answer: 先由双方协商；协商不成，法院按最有利于孩子的原则判。
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
    - 离婚后想孩子了见不着
    - 前夫把孩子藏起来不让我看
    - 孩子奶奶不让我见娃
    - 多久能看一次孩子
    - 探视孩子的时间怎么定
    - 去年离的婚孩子判给了他爸，现在他们一家搬走了电话也换了，我一年多没见到孩子
    - 离婚协议写了每个月可以接孩子两次，可前妻每次都找借口，不是说孩子病了就是说出门了
    - 我每个月按时给孩子打钱，可是前夫家里人堵着门不让我进，孩子想我了哭着打电话
  short_answer: 不直接抚养孩子的一方有权探望，对方不让见可以请法院处理。
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
    - 庄基地能转让给外村人吗
    - 家里兄弟两个能批两块宅基地吗
    - 房子卖了还能再申请宅基地吗
    - 宅基地归谁所有
    - 老宅子和新宅基地能同时要吗
    - 俺爹有一处老院子，俺结婚后又在村东头申请了一块地盖房，现在村里说要收回一处
    - 我想把村里的老房子连宅基地一起卖给县城来的一个老板，他说给十万，这样签合同有没有效
    - 我们兄弟三个都成家了，村里只给批了一块宅基地，说一户只能有一处，分户以后能不能再批
  keywords: [宅基地]
  short_answer: 一户只能有一处宅基地，宅基地不能卖给本村以外的人。
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
    return Matcher.for_faq(data)


@pytest.fixture(scope="session")
def shipped() -> FaqService:
    service = FaqService()
    service.load()
    return service
