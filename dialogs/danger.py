"""Danger detection: does a message tell of an emergency happening now?

Why this exists: a resident who types "他拿着刀说要砍我" or "娃掉水窖里了" must see
110/120/119 at once, before any FAQ answer or form question, at every step of
every flow. A fixed word list missed most real emergencies (people describe
them in ordinary words and dialect, with typos) and warned on harmless
sentences that happen to contain a trigger word ("救命钱", "去年着火了保险赔不赔",
"爆炸新闻").

How it works, in order:

1. Normalise: NFKC, lower case, keep only letters and digits (spaces and
   punctuation go, so "拿 着 刀！" reads "拿着刀").
2. Blank out figures of speech and safety questions ("气死我了", "救命钱",
   "火烧眉毛", "怎么防煤气中毒", "堵车") so their words cannot match.
3. A wish to die in the resident's own words ("不想活了", "活着没意思") is
   self-harm, whatever else the message says.
4. Drop the message when it is about something else: a story, film, rumour
   or what-if ("电视上", "听说", "万一"), a past or finished event ("去年",
   "打过", "救过来了", "气话"), a question of money or law that shows it is
   over ("赔不赔", "医药费", "申请") -- unless it also says that something is
   happening now ("还在", "快来", "救命"). A bare "这算抢劫吗" does not drop
   a danger: people ask it while the knife is still at their throat.
   Self-harm acts, poisoning and drowning lean towards warning: a question of
   money or law drops them only beside a death ("淹死了 村上有没有责任").
5. Try each kind of danger in a fixed order (self-harm first, medical last:
   the first kind that matches names the reply). Each kind is a handful of
   patterns of a person or thing with a danger verb and a sign that it is
   happening ("掉+进+水窖", "拿着+镰刀+追", "炉子...+叫不醒"), not whole
   sentences. A match right after an animal or a thing ("羊掉井里了",
   "手机掉水里了") does not count, and the search goes on from the next
   character ("羊棚塌了 我大在里面刨不出来").

Pure standard library, no project imports, well under a millisecond a message.
The labelled evaluation set is benchmarks/data/danger-*.jsonl, scored by
benchmarks/danger_bench.py.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class DangerKind(StrEnum):
    """What kind of danger a message tells of; the reply depends on it."""

    SELF_HARM = "self_harm"
    WEAPON = "weapon"
    VIOLENCE = "violence"
    POISONING = "poisoning"
    MEDICAL = "medical"
    DROWNING = "drowning"
    FIRE = "fire"
    GAS = "gas"
    ELECTROCUTION = "electrocution"
    TRAPPED = "trapped"


@dataclass(frozen=True)
class Danger:
    """A danger found in a message: its kind and the normalised text that matched."""

    kind: DangerKind
    matched: str


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# ---------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------

# People are written many ways in northwest speech: 俺/额 (I), 娃/尕娃 (child),
# 婆姨 (wife), 老汉 (husband or old man), 大 (dad; not 大豆, 大棚, 大烟 ...).
_PERSON = (
    r"我|俺|额|咱|他|她|你|人|娃|孩子|儿子|女儿|丫头|闺女|媳妇|婆姨|老婆|老公|男人|女人|嫂子|"
    r"老人|老汉|婆婆|公公|妈|爸|爹|娘|爷|奶|弟|哥|姐|妹|孙子|孙女|侄子|"
    r"大(?![豆棚麦米蒜葱烟门学家概约小多声夫伙型病事会风雨雪水半])"
)
# Family members who go missing or are taken.
_KIN = r"娃|孩子|儿子|女儿|丫头|小孩|老人|老汉|我妈|我爸|姑娘|女子|孙子|孙女|闺女"

# Knives, guns, crossbows. Not a sickle, a chaff cutter or scissors: those
# are farm tools (below) and need a threat next to them.
_WEAPON = r"(?<![镰铡剪刨剃刮铅卷])刀|(?<![水具])枪|匕首|凶器|弩|弓箭"
# Farm tools, sticks, bottles, stools: in everyone's hands every day
# ("拿着锄头去地里"), a weapon only with a threat or an attack next to them.
_TOOL = (
    r"斧|棍|棒(?!棒糖)|锨|锹|镰|锄|铡|钢管|铁棍|砖|剪刀|剪子|镐|镢|耙|叉|杈|铲|榔头|锤|"
    r"酒瓶|瓶子|石头|板凳|凳子|椅子|皮带|鞭子|铁链|扳手"
)
_HOLD = (
    r"(?:(?:拿|提|拎|举|掏|握|揣|抄|持|抡|操|扛|端|舞|攥|抓|挥|背)"
    r"(?:着|起|出|了|个|上|把|一把)?|(?:别|带|藏)着)"
)
# ...and the threat: chasing, hitting, shouting, drunk -- but not the work
# the tool is for (砍柴, 劈柴, 打枣, 铲土).
_THREAT = (
    r"要(?!去|到|上|下地|下田|给|干)|喊|冲|追|砍(?!柴|树|草|玉米|苞谷|枝)|"
    r"打(?!草|枣|场|井|柴|药|农药|扫|工)|劈(?!柴|木)|砸|杀(?!鸡|羊|猪)|捅|拍|"
    r"铲(?!土|雪|草|粪|地|沙)|剁(?!肉|菜|馅)|指|威胁|堵|围|逼|过来|来了|进来|门口|乱|我家|"
    r"撕扯|找我|算账|疯|醉|喝多|红了眼|眼睛.{0,2}红|骂"
)
# ...and what a knife or tool does to a person (not 砍柴, 打枣, 铲雪).
_STRIKE = (
    r"捅|砍(?!柴|树|草)|顶|抵|架|指|戳|刺|扎|划|打(?!枣|草|场|井|药|农药)|劈(?!柴|木)|"
    r"砸(?!核桃|钉)|抽|铲(?!土|雪|草|粪|地|沙)"
)
# A knife in a kitchen or at a slaughter is work, not a threat.
_KNIFE_WORK = (
    r"切|削|剁|割|宰|磨|砍柴|劈柴|杀鸡|杀羊|杀猪|刻|剖|修|打猎|去打|剥|给(?:羊|猪|鸡|鱼|牛)"
)

# Pesticides, rat poison, cleaners, fuels, poisonous plants and food, with
# common misspellings (滴滴威, 白草枯, 农要, 老属药): harmful in any amount.
# Anything sold as a "...液" or "...剂" is not food (but 口服液 is medicine).
_TOXIC = (
    r"农[药要]|[敌滴低迪][敌滴低迪][畏位喂威为卫]|[百白柏][草曹][枯哭苦姑菇]|甲胺磷|乐果|敌百虫|草甘膦|"
    r"除草剂|杀虫剂|老[鼠属]药|耗子药|鼠药|毒鼠强|灭鼠|杀鼠|蟑螂药|灭蟑|毒药|"
    r"消毒液|消毒水|洗衣液|洗衣凝珠|凝珠|洗洁精|洁厕|漂白|碱水|蓬灰|蚊香|花露水|风油精|卫生球|樟脑|"
    r"(?<!口服)(?<!营养)(?<!输)液|剂|"
    r"汽油|柴油|煤油|机油|防冻液|甲醇|工业酒精|硫酸|火碱|烧碱|干燥剂|假酒|"
    r"毒蘑菇|草乌|川乌|乌头|断肠草|曼陀罗|发芽的?(?:洋芋|土豆)|(?:没(?:炒|煮)熟|生)的?豆角"
)
# Medicines harm only in quantity ("降压药吃了还是高" is an everyday question).
_MEDS = r"安眠药|安定|药片|止痛药|降压药|感冒药|退烧药|降糖药|钙片|药丸"

# Water a person can fall into (not a cellar for potatoes, not a battery).
_WATER = (
    r"水库|涝池|池塘|鱼塘|鱼池|泳池|水塘|水窖|水缸|冰窟窿|冰窟|冰河|粪池|化粪池|粪坑|茅坑|蓄水池|"
    r"水坑|水池|机井|泥潭|泥水|淤泥|沼泽|黄河|水渠|渠|河|井|坝|湖|海|水|"
    r"(?<!电)池|(?<![薯菜地芋豆])窖"
)
_GASES = r"煤气|燃气|天然气|液化气|瓦斯|沼气|氯气|氨气|毒气|硫化氢"
_ELECTRIC = (
    r"电线|电门|插座|插头|插线板|变压器|电闸|电箱|电表箱|配电箱|高压线|高压|电网|电褥子|"
    r"充电器|电瓶|线头|灯头|电缆|电线杆|电杆"
)
# Things that catch fire (a car only when it burns: "车着了" is a started engine).
_BURNS = (
    r"房|屋|柴|草|垛|堆|油|棚|场|门|林|山|树|楼|杆|车|窗帘|衣服|沙发|家具|仓库|库房|厂|店|"
    r"电线|电视|冰箱|电瓶|麦|玉米|秆|坡|果园|院|厨房|被子|房子|车子|柴火|柴禾"
)
# Coal smoke and carbon monoxide: a source and a sign, in either order.
_CO_SOURCE = r"炉|炭|火盆|烟筒|烧炕|燃气|煤|烤火|暖气|锅炉|车库"
_CO_SIGN = (
    r"叫不醒|叫不起|起不来|没起来|没醒|头疼|头晕|头昏|恶心|想吐|晕|吐|不醒|不动|没反应|"
    r"迷糊|站不稳|白沫|没气"
)

# ---------------------------------------------------------------------------
# Figures of speech, names of things and safety questions whose words look
# like danger words: blanked out before any pattern runs.
# ---------------------------------------------------------------------------
_FIGURES = _any(
    # "...死了" meaning "very": 气死我了, 笑死, 累死了, 冻死了, 想死你了
    r"(?:气|笑|累|热|冷|冻|饿|困|渴|急|烦|吓|丢|羞|高兴|开心|乐|美|疼|痛|忙|卡|闷|难受|愁|折腾)"
    r"(?:得)?(?:要)?死",
    r"想死(?:你|我)了",
    r"(?:打|砍)死(?:也|都)不|死(?:也|都)不|死活|拼死|拼命|死磕|死缠|死心|死机|死刑|死胡同",
    r"要(?:人|老)?命的|要了老命|要人命|命根子",
    # 救命钱, 救命稻草, 救过我的命
    r"救命(?:钱|的钱|稻草|之恩|恩人|药)|救过.{0,2}命",
    # 爆炸新闻, 肺都要炸了, 炸酱面, 爆胎, 火爆, 火大, 火锅, 大火煮开, 嗓子冒烟
    r"爆炸(?:新闻|性|消息)|太炸|炸锅|(?:脑袋|脑子|头|肺|肚子|心).{0,4}(?:炸|爆)|气炸|"
    r"炸酱|油炸|炸鸡|炸糕|炸串|爆米花|爆炒|爆料|爆胎|胎.{0,2}爆",
    r"火爆|火大|上火|肝火|发火|火气|火烧眉毛|水深火热|火药桶|火锅|火车|火龙果|火葬|打火机|火柴|"
    r"心里.{0,4}着了?火|着了?火一样|嗓子.{0,2}冒烟|大火(?:煮|炒|烧开|收汁|蒸|炖|熬)",
    # 跳楼价, 被他电到了 (charmed), 电打火 (a stove lighter), 烧到39度 (a fever)
    r"跳楼价|跳起来|电到我了|被.{1,2}电到|电打火|电子打火|(?:发)?烧到(?:\d|三十|四十)",
    r"夹枪带棒|唇枪舌剑|刀子嘴|杀人不眨眼|落水狗|翻脸不认人|六亲不认",
    r"气(?:得)?(?:要)?吐血|气得脸.{0,2}[青紫白]|吐血(?:价|甩)",
    r"(?:电脑|手机|游戏)中毒|中毒(?:太深|很深)|卷款|(?:钱|款|货|会计|老板).{0,4}卷(?:走|跑)",
    r"遭雷劈|天打雷劈|(?:会|要|该)被雷劈|被雷(?:到|得)|(?:胎|气球|气门芯|气垫).{0,4}漏气",
    # stuck in traffic, in a contract, a debt, a dead-end village, at home
    r"(?:公司|合同|套路贷|网贷|债|官司|工作|婚姻|房贷|股票).{0,4}(?:困住|绑死|套牢|不让)",
    r"困(?:在|住)?(?:这个|这|那个)?(?:合同|公司|债|官司|婚姻|网贷|工作|生意|厂)|"
    r"困.{0,12}(?:一辈子|半辈子|这辈子)|困在家里?(?!.{0,6}(?:水|火|出不|救|塌))",
    r"(?:被)?(?:困|堵)在(?:高速|路上|半路|服务区|车站|机场)|堵车|塞车|"
    r"(?:封路|路(?:被)?(?:封|堵)了?).{0,3}(?:出不去|出不来|进不去)",
    # prevention and safety questions: 怎么防煤气中毒, 怕着火, 怕娃掉进去, 消防
    r"(?:怎么|如何|咋)?(?:预防|防止|防范|以防|防)(?:煤气|煤烟|一氧化碳|食物)?"
    r"(?:中毒|溺水|触电|火灾|着火)",
    r"(?:怕|小心|别|会不会|会|容易|可能|担心|生怕)(?:娃|孩子|人|老人|有人)?"
    r"(?:爆炸|着火|塌|漏气|触电|被电|中毒|淹|掉|摔|跌|走丢|丢)",
    r"消防|防火|灭火器|急救(?:知识|培训|证)",
    # things, not people, that are locked in; the police taking someone
    r"(?:锁|关)在(?:门外|外面|柜|箱|抽屉)|关起门|(?:打|点)(?:不)?着火|"
    r"被(?:警察|公安|派出所|法院|检察院).{0,3}(?:抓|带)走",
)

# ---------------------------------------------------------------------------
# Self-harm
# ---------------------------------------------------------------------------

# -- A wish to die, in the resident's own words. Never dropped by the
# past/legal check, so it is kept to phrasings that only mean this
# ("不想活了", not "不想活在这个村"; "想死了", not "想死我妈了").
_SELF_HARM_WISH = _any(
    # not wanting to live: 不想活了, 活不下去, 活够了, 没脸活了, 撑不下去了
    r"不想(?:再)?活(?!在|到|动|儿)|不活(?:了|咧|啦)|活不下去|活够了|没(?:有)?活路|buxianghuo|zisha",
    r"没脸(?:再)?(?:活|见人)|没法活|活不成|(?:我|俺|额)(?:真)?活腻|死的心都有|让我(?:去)?死|"
    r"(?:这条|我这条)命(?:不要|也不要|豁出去)",
    r"(?:我|俺|额|真的|实在|真)(?:真的|实在|是)?(?:撑|熬|挺|坚持)不(?:下去|住)了|"
    r"不想(?:再)?(?:熬|撑)(?!夜)",
    # not wanting to wake up: 不想再醒来, 睡过去就别醒了, 睡一觉不醒
    r"不想(?:再)?醒|(?:别|不要)(?:再)?醒|一睡不醒|睡(?:一觉|过去|下)(?:就)?(?:再也)?不(?:再)?醒",
    # life has no point: 活着没意思, 人活着有撒意思, 活着太累了, 我还活个撒
    r"活着?(?:真|也|还)?(?:没|没有|有啥|有撒|有什么|还有啥|还有撒|还有什么)啥?"
    r"(?:意思|劲|盼头|意义|用)",
    r"活得?(?:真|也)?没(?:啥)?意思|活着.{0,4}(?:意思|意义|盼头).{0,3}(?:没|没有)|活着?没(?:有)?盼头",
    r"活(?:着|得)(?:太|好|真)(?:累|苦|难|受罪|痛苦|煎熬|折磨|窝囊)|活着(?:多余|就是受罪)|"
    r"活着(?:干啥|干嘛|干什么|做啥|有啥用|还有啥用)|(?:还|我|俺|额)活(?:个|着)(?:撒|啥|什么|甚|干啥|干嘛|做啥)(?!时)",
    # wanting to die: 想死, 去死 (not 碰上去死了), 死了算了, 不如死了, 寻无常
    r"想(?:去)?死(?!你|他|她|人|我了|我(?:妈|爸|大|娘|爹|娃|奶|爷)|后|以后|之后)|"
    r"(?<![上下进过出回])去死|寻死|求死|寻(?:了)?无常|走绝路|一死了之|死了之|一死百了",
    r"死了(?:算了|倒好|好了|干净|也没人|大家|就解脱|就轻松|就不用)|不如死|还不如.{0,3}死|"
    r"死球算了|死了算球",
    # ending it: 一了百了, 结束生命, 了结自己, 解脱
    r"一了百了|结束(?:自己|生命|我的生命|这一切|我自己)|(?:了结|了断)(?:自己|我自己)?|把自己了结",
    r"(?:死|药|跳|走了|不在了|结束).{0,6}(?:就|才)?(?:能|可以)?解脱",
    # saying goodbye: 离开这个世界, 遗书, 对不起 然后就关机了, 你们好好过, 不会回来的
    r"离开这个世界|(?:跟|和)这个世界.{0,3}(?:再见|告别|道别)|先走一步|永别|"
    r"下辈子(?:再见|再也不|不来|不做人|再做|再来)|遗书|遗言|寻短见|短见|轻生",
    r"对不起.{0,12}(?:关机|不接)|(?:对不起|好好的|照顾好|别怪|原谅|别难过).{0,12}"
    r"(?:先走了|走了|再见|永别)|(?:妈|爸)先走了",
    r"我走了以?后.{0,8}照顾|(?:照顾好|帮我照顾).{0,6}(?:我走|以后)|走了算了|"
    r"以后(?:娃|孩子|家里|我妈|我爸)就(?:靠|交给|拜托)(?:你们|你)",
    r"这辈子就(?:这样|到这)(?:吧|了)|受够了.{0,10}(?:走了|不活|死|解脱|结束)|你们(?:要)?好好(?:过|活)|"
    r"去(?:一个)?很远的地方(?:了|咧)?(?!打工|上|工作|读|看)|去另一个世界",
    r"(?:我|俺|额)(?:再也|永远)不(?:会)?(?:再)?回来|(?:我|俺|额)不会(?:再)?回来(?:了|的)|"
    r"再也不(?:回来|回去)|(?:我|俺|额)[^的]{0,6}走了?.{0,3}不(?:回来|回去)了|"
    r"(?:再也)?见不到我了|(?:交代|安排)(?:一下)?(?:我的)?后事|我的后事|(?:别|不要|不用)救我",
    # wanting to follow the dead: 想去陪我妈, 他走了我也想跟他去
    r"(?:想|要)(?:去)?(?:陪|找)(?:我|俺|额)?(?:妈|爸|大|娘|爹|老伴|老汉|婆姨|孩子|娃)|"
    r"死在(?:这|你|他|她)|"
    r"(?:走了|死了|没了|去世|不在了).{0,8}想(?:跟|随)(?:着)?(?:他|她|我妈|我爸|老伴|娃)(?:一起|一块)?去",
    # a burden: 我是多余的, 活着就是个拖累, 不想再拖累家里, 这个家没我更好
    r"(?:我|自己|俺|额)(?:就|真|只)?是(?:个)?多余|是个?累赘|不想(?:再)?(?:连累|拖累)|想消失|消失算了|"
    r"(?:我|俺|额|活着)(?:就|只)?是(?:个|家里的|大家的|你们的)?(?:拖累|累赘|负担|包袱|废物|多余)",
    r"没(?:有)?(?:我|俺|额).{0,6}(?:更好|会好|轻松|清净|省心)|"
    r"(?:我|俺|额)(?:走|死|不在)了.{0,6}(?:轻松|清净|省心|更好|就好了|高兴|满意|开心|称心|如意|如愿)",
    r"不会再(?:麻烦|拖累|连累)(?:谁|任何人|大家)|再也不(?:会)?(?:麻烦|拖累|连累)",
    # nothing left: 没什么好留恋的, 了无牵挂, 死给你们看
    r"没(?:什么|啥|撒|有)?.{0,3}(?:留恋|牵挂)的|没(?:什么|啥|撒)(?:好)?(?:留恋|牵挂)|了无牵挂|"
    r"死给(?:你|他|她)们?看",
)

# -- Self-harm as an act or a plan (自杀, 跳楼, 喝药, 上吊): also said of
# others and in legal questions ("自杀的人保险赔不赔"), so a past event drops
# it like the other kinds.
_SELF_HARM_ACT = _any(
    # the act named: 自杀 (自沙), 割腕, 上吊, 卧轨, 服毒, 杀了我自己, 想不开
    r"自[杀沙刹煞]|自尽|自残|割腕|割(?:了)?(?:手腕|腕|脉|脖子|喉)|上吊|吊死|卧轨|投河|投井|服毒|"
    r"想不开|(?:杀|沙|弄死|了结)(?:了)?(?:我)?自己",
    # a blade at one's own throat: 拿剪刀对着自己的脖子
    r"(?:对着|抵着|架在|割|划|扎|捅)(?:我)?自己(?:的)?(?:脖子|手腕|手|胸口|肚子|喉咙)?",
    # jumping or under a wheel: 我准备去跳楼, 说要跳, 往车轮子底下钻
    r"(?:想|要|就|准备|打算|会|去|敢)(?:去)?(?:跳(?:楼|河|崖|井|水库|黄河|桥|渠|下去)|撞车)|"
    r"跳下去(?!捞|救|拉|抓|找|摸)|跳楼|(?:想|要|准备|打算|说要)跳(?!舞|绳|槽|级|广场|高|远|皮筋|房子)|"
    r"往.{0,3}车(?:轮子?|底|前)?.{0,3}(?:钻|撞|扑)",
    # at the edge: 站在窗户上, 在黄河桥上 别劝我, 在大桥上 脑子很乱
    r"(?:站|爬|坐)(?:在|到|上)(?:了)?(?:楼顶|天台|桥栏|崖边|楼边|窗台|窗户|窗子|护栏|栏杆)",
    r"(?:楼顶|天台|桥|崖|河边|水库边|井边|黄河).{0,8}"
    r"(?:不想|想跳|要跳|跳(?!舞|绳)|再见|别劝|别拦|别管|别找|不下来|不下去|不回来|"
    r"脑子.{0,2}乱|心里.{0,2}乱|想不通)",
    # poison or pills wanted: 我想喝药, 想吃一瓶安眠药
    r"(?:想|要|就|准备|打算)(?:去)?喝(?:农)?药|今晚就喝|喝药死|"
    r"(?:想|要|准备|打算)(?:去)?(?:吃|喝|吞)(?:一|半|整)?(?:瓶|盒|把)?"
    r"(?:安眠药|药片|安定|农药|老鼠药|药)",
    # ...or ready: 买好了农药今晚就喝, 农药买回来了藏在柜子里, 药都准备好了,
    # 攒了一瓶安眠药, 把家里的药全找出来了
    rf"买(?:了|好了|好)?.{{0,4}}(?:{_TOXIC}|{_MEDS}|绳子|药).{{0,10}}"
    r"(?:准备|今晚|今天|晚上|喝|吃|死|藏|偷偷)",
    rf"(?:{_TOXIC}|{_MEDS}|绳子).{{0,4}}买(?:回来|好)了?.{{0,6}}(?:藏|偷偷|今晚|准备|喝|吃)",
    r"绳子.{0,4}准备好|准备好了?(?:绳子|药|农药)|买好了?(?:农药|药|绳子)|"
    r"(?:药|农药|安眠药|绳子|刀片)(?:都|也|已经)(?:准备|备|买)好",
    rf"(?:攒|存|囤)(?:了|下|着)?(?:一|好多|好几|半)?(?:瓶|盒|板|把)?(?:{_MEDS}|农药)|"
    r"(?:药|安眠药|农药)(?:全|都)(?:找|拿|翻|倒)出来",
    # a rope: 绳子挂到房梁上, 拿绳子吊在树上
    r"绳子.{0,6}(?:房梁|梁上|脖子|吊)|(?:房梁|梁上).{0,4}(?:绳子|吊)",
    # a will and a time: 写好了遗嘱 准备今晚就走; 我死了我娃咋办
    r"(?:遗嘱|遗书|后事).{0,10}(?:今晚|今天|就走)|我死了.{0,8}(?:咋办|怎么办|照顾|就好了|就解脱)",
)

# ---------------------------------------------------------------------------
# Weapon: someone holds a knife, gun or tool against a person, or threatens
# to cut, stab or kill ("拿着刀", "提个斧头追着打", "刀架在脖子上").
# ---------------------------------------------------------------------------
_WEAPON_RE = _any(
    # holding a knife or gun, not to cut vegetables: 拿着刀 (not 拿刀切菜),
    # 揣着刀, 手里有刀
    rf"{_HOLD}.{{0,5}}(?:{_WEAPON})(?!.{{0,4}}(?:{_KNIFE_WORK}))",
    rf"手(?:里|上|中)(?:有|拿着?|握着?|攥着?|提着?|举着?|抓着?)(?:一)?(?:把|个|根)?.{{0,3}}"
    rf"(?:{_WEAPON})",
    # holding a tool with a threat: 拿着镰刀追着打, 举着酒瓶子要砸人
    rf"{_HOLD}.{{0,5}}(?:{_TOOL}).{{0,12}}(?:{_THREAT})",
    # using it on someone: 用剪子扎我, 用铁锹把我爸的头打破了, 刀架在脖子上,
    # 把刀子拍在桌上, 刀藏在袖子里, 刀捅进肚子
    rf"用.{{0,2}}(?:{_WEAPON}|{_TOOL}).{{0,8}}(?:{_STRIKE})",
    rf"(?:{_WEAPON}|{_TOOL}).{{0,4}}(?:架在|抵在|顶着|顶在|指着|对着|比划|逼)",
    rf"把.{{0,3}}(?:{_WEAPON}|{_TOOL}).{{0,3}}(?:拿出|掏出|架|抵|举|拍|亮|抽出|藏|揣|别)",
    r"(?:刀|刀子).{0,3}(?:捅|扎|刺|插)(?:进|到|在)|"
    r"(?:捅|扎|刺)(?:进|到)(?:了)?.{0,3}(?:肚子|胸|脖子|心口|腰|背)",
    # threats to kill: 要砍死我们, 要沙我 (杀), 说要捅死我 (not 砍我工资)
    r"(?:砍|捅|杀|沙|劈|剁|宰|扎)(?:死|了)?(?:我|俺|额|咱|你|他|她|人|谁|全家|一家)"
    r"(?!的?(?:工资|钱|价|补贴|预算))",
    # wounds: 被捅了, 被人砍了 (not 工资被砍了, 树被人砍了, 被雷劈了)
    r"(?<![资贴算钱价树草柴苗枝])被(?!雷).{0,3}(?:捅|砍|刺|扎|劈)(?:了|伤|中|倒)|"
    r"(?:捅|砍|刺|扎)了.{0,3}刀|同归于尽",
    # guns and knives drawn: 开枪了, 上了膛, 动刀子了, 持刀; 拿到追我 (刀)
    r"开(?:了)?枪|枪响|上(?:了)?膛|动(?:了)?刀子|动起刀|见人就(?:砍|捅|杀)|持刀|"
    r"拿(?:到|道)(?:追|砍|捅|要砍)",
)

# ---------------------------------------------------------------------------
# Violence: being beaten or attacked right now, a child or a wife beaten.
# "打" only with a person after it ("打我", "打婆姨"), not 打工/打电话, not
# "打孩子的老师", and not a parent's "真想打他一顿".
# ---------------------------------------------------------------------------
_VIOLENCE_RE = _any(
    rf"(?<![我俺额]想|真想)打(?:{_PERSON})"
    r"(?!电话|手机|的|钱|款|工|针|疫苗|招呼|交道|听|官司|牌|扑克|麻将|游戏)",
    # beaten badly: 往死里打, 打得鼻青脸肿, 头打破了, 打死 (not 打死老鼠)
    r"往死(?:里|理|了)?(?:打|踢|踹|揍|捶|弄|整)|打人|打起来了|见人就打|"
    r"(?<![蛇鼠狼虫蚊蝇狗猫鸡])打死(?!.{0,4}(?:老鼠|鼠|蚊|苍蝇|虫|蛇|狼))",
    r"打得.{0,6}(?:血|起不来|跪|不动|不行|半死|爬不起|晕|求饶|满院|鼻青脸肿|头破|一道一道|"
    r"青一块|紫|是伤|淤青|肿)|抽得.{0,6}(?:血|一道一道|青|紫)",
    r"(?:头|脸|腿|胳膊|鼻子|眼睛|牙)(?:都|也)?(?:被)?(?:打|砸|砍|踢)(?:破|伤|断|烂|肿|瞎|掉|出血|开)",
    # being beaten: 被打得起不来, 挨打, 群殴 (not 被打了 told afterwards)
    r"被(?:人|他|她|他们|男人|老公|老汉)?打(?:着|得|伤|倒|死|哭|晕|昏|趴|翻|出血|在|$)|"
    r"挨打|殴打|挨揍|被揍|毒打|暴打|痛打|厮打|撕打|扭打|群殴|围殴|打群架",
    # ...unless it is still going on: 被打了 他还在外面, 被打得跑回娘家 他追过来了
    r"被.{0,5}打(?:了|得).{0,14}(?:还没走|没走|还在|不让走|堵着|快来|救命|快报警|流血|出血|起不来|"
    r"头破|追过来|追来|找上门|追到)",
    # held, cornered or tied and beaten: 把我按在地上打, 围在地里打, 绑起来打
    r"(?:围|追|按|摁|拴|绑|堵|拖|拽)(?:着|在|住|到|起来)?.{0,6}"
    r"(?:打(?!农药|药|工|井|草|枣|电话|针|场|扫)|踢|揍|捶)|(?:关|锁)(?:在)?.{0,4}打",
    r"(?:按|摁|压)(?:在|到|倒)(?:了)?.{0,5}(?:打|捶|揍|踢|掐|扇|踩)|按在地上|摁在地上|骑在.{0,3}身上",
    # chased: 追着我打, 有人在追我 (not 他在追她, courting; not 追着我要钱)
    r"追(?:着)?(?:我|俺|额|她|他|人|娃)(?:打|砍|杀|捅)|追着(?:我|俺|额|人|娃|她|他)"
    r"(?!要|讨|问|说|骂|喊)|(?:有人|他们|几个人|一伙人)?在追(?:我|俺|额)",
    # 把 + a person + 打: 把我嫂子往死里打, 把娃堵在厕所打
    # (not 把我家墙打了个洞, 把他打发走了, 把他打听清楚)
    rf"把(?:{_PERSON})(?:{_PERSON}|家的?|们|的){{0,3}}"
    r"(?:往死里|按在地上|摁在地上|堵在.{0,4}|拖到.{0,4}|拉到.{0,4}|打得)?"
    r"(?:打|捶|揍|踢|踹)(?!官司|电话|工|扮|扫|理|针|发|听|算|包|开|印|通|量|折)",
    r"打了(?:一晚上|一夜|半天|一早上|好久|一顿)(?!麻将|牌)",
    # still at it: 现在还在打, 在打一个娃, 又打我, 又动手了
    r"(?:还在|正在|又在|在)(?:打|揍|踢|捶)(?:人|着|我|俺|额|她|他|娃|咧|呢|$)|"
    rf"(?:还在|正在|又在|在)打(?:一个|个|那个|这个)(?:{_PERSON}|小孩|学生|女的|男的)|"
    r"又(?:打|揍)(?:我|俺|额|她|他|娃|人|老婆|婆姨|媳妇)|(?<![没不])动(?:起)?手(?:了|咧|打)|又动手",
    # choking, hair-pulling, pushing, kicking, slapping, burning, whipping
    rf"掐.{{0,3}}脖子|勒.{{0,3}}脖子|(?:拽|揪|抓|扯)着.{{0,5}}头发|往墙上撞|头往.{{0,3}}撞|踹倒|"
    rf"把(?:{_PERSON}).{{0,6}}推(?:倒|下|进|到)",
    r"(?:踢|踹|踩|抽|扇|捶|烫)(?:我|俺|额|她|他|人|娃|孩子)|还在踢|揍(?:我|俺|额|人|他|她|娃)|在揍|"
    r"(?:摁|按)住.{0,6}(?:揍|打)|扇(?:我|俺|额|她|他)|耳光",
    r"(?:拿|用).{0,4}(?:皮带|鞭子|绳子|烟头|开水|火钳|烙铁).{0,3}(?:抽|打|烫|勒|泼)",
    # a fight with blood, abuse going on, a threat to life
    r"打架.{0,8}(?:血|动刀|出人命)|见血了|(?:正在|还在)打架|家暴(?:我|俺|额)|家暴.{0,4}(?:还在|正在)",
    r"弄死(?:我|俺|额|你|他|她|人)|要(?:我|俺|额|你|他|她)的?命|出人命|(?:就|要)要命",
)
# A bare cry for help and nothing else ("救命", "快来人啊", "就命"): the kind
# is not known, so it gets the violence reply, which names all three numbers.
_CRY_RE = re.compile(r"(?:救命|就命|快来人|来人|救救我|救救|help|sos|jiuming)+(?:啊|呀|吧|了|哇)*")

# ---------------------------------------------------------------------------
# Poisoning: pesticide, rat poison, cleaner swallowed, pills in quantity,
# bad food or drink followed by sickness ("喝了敌敌畏", "把老鼠药当糖吃了",
# "吃了山上的蘑菇 一家人都吐了").
# ---------------------------------------------------------------------------
_POISONING_RE = _any(
    # a poison swallowed, licked, bitten: 喝了除草剂, 把农药瓶子里的水喝咧,
    # 咬破了洗衣凝珠, 杀虫剂喷到嘴里
    rf"(?:喝|吃|吞|灌|服|咽|舔|嚼|含|咬)(?:了|下|下去|进去|掉|破|错|光)*.{{0,8}}(?:{_TOXIC})",
    rf"(?:{_TOXIC}).{{0,8}}(?:喝|吃|吞|灌|服|舔|咬)(?:了|下|进|咧|掉|啦|光|破)|"
    rf"(?:{_TOXIC}).{{0,6}}(?:喷|倒|灌)(?:到|进)(?:了)?嘴",
    # pills in quantity: 吞了一把安眠药, 吃了半盒感冒药, 降压药全吃了,
    # 吃了一个礼拜的量 (not 降压药吃了还是高)
    r"(?:喝|吃|吞|灌)(?:了|下|掉).{0,4}(?:一|半|整|好几|好多|一大|大|全|几|两)"
    r"(?:瓶|把|盒|板|颗|片|粒|整瓶|大把|瓶子|袋|包).{0,6}(?:药|安定|片)",
    r"药.{0,6}(?:吃|喝|吞)(?:了|光|完)(?:好多|一把|一瓶|不少|一大把|半瓶|一整瓶|一盒|全部)|"
    r"吃了.{0,8}的量",
    rf"(?:{_MEDS}|药).{{0,8}}(?:吃|喝|吞)(?:了|下|掉)(?:一|半|好几|好多)?(?:整)?(?:瓶|把|盒|板|大把)",
    rf"(?:{_MEDS}|药).{{0,6}}全(?:吃|喝|吞|部吃)|(?:吞|吃|喝)(?:了|下)(?:好多|一堆|一大堆|很多|大把)"
    rf"(?:{_MEDS}|药)|(?:吃|喝|吞)(?:了)?(?:一|半|整)?(?:瓶|盒|板|把)(?:{_MEDS})",
    r"(?:娃|孩子|奶|爷|妈|爸|大|老人|老汉|婆姨|媳妇|男人)吃错(?:了)?药",
    # poisoned by someone or by mistake: 误喝, 往我饭里放了东西, 投毒
    # (not 煤气中毒, gas; not 中毒的羊肉)
    r"误(?:食|喝|吃|服)|下(?:了)?毒|投(?:了)?毒|被毒|"
    r"(?<![气烟炭碳])中毒(?!的(?:羊|牛|猪|鸡|鸭|鱼|肉|狗|猫))|"
    r"(?:往|在).{0,4}(?:饭|水|碗|杯|茶|酒|菜|汤|锅)里.{0,3}(?:放|下|加|倒|撒)(?:了)?(?:东西|药|毒|农药)",
    # something eaten or drunk, then the signs: 喝了自家酿的酒 眼睛看不清,
    # 吃了野菜 嘴麻, 吃了发芽的洋芋 头晕恶心
    r"(?:喝|吃|吞)(?:了|完|错|过|下).{0,14}"
    r"(?:叫不醒|不醒|口吐白沫|白沫|抽搐|在抽|吐个不停|吐了一地|昏迷|晕倒|晕过去|昏|看不见|看不清|"
    r"嘴麻|舌头麻|浑身(?:发)?麻|发麻|心慌|上吐下泻|又吐又拉|脱水|发紫|嘴唇.{0,2}[紫青乌]|"
    r"迷迷糊糊|头晕.{0,2}(?:恶心|想吐)|恶心.{0,2}头晕)",
    # ...or many people sick after a meal: 吃完席回来 好多人都在吐
    r"(?:吃|喝)(?:了|完).{0,14}(?:一家人|全家|一家子|好多人|几个人|十几个人|人都|都).{0,4}"
    r"(?:吐|拉|肚子疼|倒|晕)",
    # sprayed pesticide and fell ill
    rf"(?:打|喷|撒)(?:了|完)?(?:{_TOXIC}).{{0,14}}(?:头晕|晕|吐|恶心|出汗|抽|倒|不对|迷糊|喘)",
    # a poison taken for food or drink: 把老鼠药当糖吃了, 洁厕灵当成醋喝了
    r"当(?:成|作)?(?:糖|糖豆|饮料|水|酒|醋|奶|零食|可乐|果汁|饭).{0,4}(?:吃|喝|舔)",
    # "drank medicine" in northwest speech is pesticide: 喝药了, 喝了几口;
    # an empty pesticide bottle beside someone
    r"喝了(?:几|两|一|半)口(?!水|酒|茶|汤|奶|饭|粥|饮料)|喝(?:了)?药(?:了|咧|啦)|"
    r"空的?农药瓶|农药瓶.{0,3}空|嘴里.{0,4}(?:药味|农药)",
)

# ---------------------------------------------------------------------------
# Medical: collapsed, unconscious, not breathing, a stroke, a heart attack,
# heavy bleeding, a fall or accident, choking, labour going wrong.
# ---------------------------------------------------------------------------
_MEDICAL_RE = _any(
    # unconscious, collapsed: 叫不醒, 晕倒了, 倒在地上, 一头栽下去就没起来
    r"叫不醒|喊不醒|叫不答应|(?:叫|喊).{0,2}不(?:答应|应)|不省人事|人事不省|昏迷|昏过去|昏倒|"
    r"晕过去|晕倒|晕在|倒地|瘫倒|栽倒|没(?:有)?(?:知觉|意识)|意识不清|神志不清",
    rf"(?:{_PERSON})[^的]{{0,3}}(?:晕|昏)(?:了|咧|过去)|(?:晕|昏)了过去|还没醒|醒不过来|醒不来|"
    r"叫不起来|叫不动",
    r"倒在.{0,3}(?:地|田|路|厕所|炕|院|屋|边|上|里)|没(?:有)?(?:动静|声音了)|突然倒(?!闭|霉)|"
    r"一下子倒(?!闭|霉)|倒下(?:了|去)|栽(?:下去|过去|倒)|一头栽|(?:就|再也?)没(?:有)?起来",
    # a person fallen or not moving (not 他倒了杯水)
    rf"(?:{_PERSON})[^的]{{0,3}}倒(?:了|咧)(?!一|杯|碗|盆|水|茶|酒|垃圾|半|点|些|出来|进)|"
    rf"(?:{_PERSON})[^的]{{0,4}}(?:不动了|一动不动|不动弹|没反应|不哭也不动)|"
    r"(?:躺|倒|摔|跌|打得).{0,6}起不来|躺(?:着|在).{0,6}不动|躺在.{0,3}(?:路|地)上",
    # breath and heart: 喘不上气, 出不上气, 心脏不跳了, 胸口疼得厉害 出冷汗
    r"没(?:有)?呼吸|没气了|(?:出|喘|上|透|吸)不(?:上|过|来|动|了)(?:气|来气)|喘不上来|"
    r"喘(?:得|不).{0,4}(?:厉害|不行|说不出)|心梗|心肌梗|心跳.{0,3}停|心脏.{0,3}(?:不跳|停)|快不行了",
    r"(?:胸口|心口)(?:疼|痛|闷|憋|绞)(?:得|的)(?:厉害|要命|受不了|不行|直)|"
    r"(?:胸口|心口)(?:疼|痛|闷).{0,6}(?:冷汗|大汗|白|喘不|晕|倒)|(?:捂|按)着(?:胸口|心口)|"
    r"疼.{0,4}(?:冷汗|大汗)|冷汗直流|脸.{0,3}(?:煞白|惨白|刷白|发青|青紫)",
    # a stroke: 中风 (中封), 嘴歪了, 半边身子动不了, 说话不清, 突然不认人
    r"脑溢血|脑(?:子)?出血|脑梗|中[风封疯]|嘴.{0,2}歪|口眼歪斜|嘴角.{0,3}(?:流口水|歪)|"
    r"(?:半边|一边|半个)身子|身子不能动",
    r"说不(?:出|了)话|不会说话|说话不清|话也?说不清|口齿不清|(?:手|胳膊|腿).{0,2}抬不起|"
    r"(?:突然|一下子|醒来|醒了).{0,4}不认(?:得)?人",
    # a fit, turning blue, cold, an attack of a known illness
    r"抽风|抽搐|浑身抽|(?:高烧|发烧|度).{0,6}抽|抽起来|抽过去|口吐白沫|吐白沫|翻白|"
    r"脸.{0,3}[紫青乌](?:了)?|发紫|嘴唇.{0,2}(?:紫|乌|青)|身上冰凉|手脚冰凉|"
    r"(?:哮喘|羊癫疯|羊角风|癫痫|心脏病|低血糖).{0,3}(?:犯|发作|发了)",
    # heavy bleeding (not a cut finger), labour going wrong
    r"血流不止|血止不住|止不住|大出血|流了?好多血|出了?好多血|(?:一直|还在|不停)(?:流|冒|淌)血|"
    r"血(?:一直|不停|哗哗|直)(?:流|冒|淌)|冒血|一地血|血流了|满脸是血|大口子|吐(?:出来的?是)?血|咳血",
    r"(?:怀孕|孕妇|要生|生娃|流产|肚子疼|月子).{0,10}(?:出血|流血|见红|疼得)|见红|羊水破",
    # a fall from a height, a limb in a machine, impaled, a bad burn
    r"从.{0,8}(?:掉|摔|跌|滚)下来|(?:房顶|楼上|架子|树上|梯子|崖上|脚手架)上?(?:掉|摔|跌)下来|"
    r"摔了一跤.{0,8}(?:血|迷糊|不动|起不来)",
    r"(?:手|指头|手指|胳膊|腿|脚)(?:头)?(?:被)?.{0,3}(?:铡|绞|轧|切|砍|剁|锯)(?:掉|断|了|下来)|"
    r"(?:铡|绞|轧|锯|剁)(?:掉|断)(?:了)?.{0,3}(?:手|指|胳膊|腿|脚)",
    r"腿断了|骨头.{0,3}(?:断|露)|(?:扎|刺|戳|插)(?:穿|透)|钢筋.{0,4}(?:扎|穿|插)|"
    r"中暑|烫伤|烧伤|烫.{0,8}(?:皮|一大片|泡)|疼得(?:打滚|满地|昏|晕|直叫唤)",
    # choking, something swallowed: 噎住了, 花生米卡住了, 吞了纽扣电池
    r"噎住|卡住了?(?:喉咙|嗓子)|卡在(?:喉咙|嗓子|气管)|"
    r"(?:吃|咽|吞|花生|枣|糖|果冻|骨头|鱼刺|豆|饭).{0,6}卡住|憋(?:红|紫|青)",
    r"吞(?:了|下去|下|进去)?.{0,6}(?:电池|硬币|钉子|针|磁铁|珠子|纽扣|玻璃)|"
    r"(?:电池|硬币|钉子|磁铁|针|珠子|玻璃).{0,4}吞(?:了|下|进)",
    # bitten, gored, run over (not 撞了人家的墙)
    r"被.{0,2}蛇咬|被.{0,2}(?:狗|牛|马|驴)(?:咬|顶|踢)了?.{0,8}(?:血|口子|不动|起不来|昏|晕|肚子)",
    r"(?:撞|轧|碾)(?:了|倒|到|着)?(?:人|娃|孩子|老人)(?!家)|被.{0,3}(?:撞|轧|碾)(?:了|倒|伤)|"
    r"车祸|被车撞|翻(?:到)?(?:沟|崖)",
    # sudden onset, dying, an ambulance asked for
    r"突然.{0,8}(?:头疼|头痛|吐(?!槽)|晕|倒(?!闭|霉)|抽|说不出|不认|胸口|心口|喘不|不会动|动不了|不动)",
    r"(?:人|娃|孩子|妈|爸|大|爷|奶|老汉|老人|男人|婆姨|媳妇)(?:快|要)死了|"
    r"(?:娃|孩子|妈|爸|大|爷|奶|老汉|老人|男人|婆姨|媳妇)[^的]{0,3}不行了|"
    r"还有救吗|(?:叫|喊|打|等)(?:个|辆)?救护车",
)

# ---------------------------------------------------------------------------
# Drowning: a person fell into water, a well, a canal, a reservoir, a
# cesspit, was swept away, or went into the water and did not come up
# ("娃掉水窖里了", "被水冲走了", "两个娃耍水 只上来一个").
# ---------------------------------------------------------------------------
_DROWNING_RE = _any(
    # fell, slipped, jumped in: 掉进涝池, 滑下去, 跳河 (跳喝), 冲进水库
    rf"(?:掉|落|跌|栽|滑|摔|陷|(?:冲|翻|跳|溜|沉)(?:进|到|入|下))(?:进|到|入|下|在)?(?:了)?.{{0,6}}"
    rf"(?:{_WATER})",
    rf"(?:{_WATER}).{{0,8}}(?:掉|滑|沉|跌|栽)(?:进去|下去|进(?!去))(?!咋办|怎么办|的话|咋弄)",
    r"跳(?:了)?(?:河|黄河|水库|井|渠|涝池|水窖|喝|合|何)|溺水|落水|淹着|淹死|淹(?:了|着)(?:人|娃)",
    # swept away: 被水冲走了, 有人被冲到下游 (not 大水把桥冲走了, 他气冲冲走了)
    r"被(?:水|洪水|河水|大水|山洪|浪)(?:给)?(?:冲|卷)(?:走|跑|没|下去)|"
    r"(?:浪|漩涡).{0,3}(?:卷|冲|吸)(?:进去|下去|走)|冲不见",
    rf"(?:{_PERSON}|有人)[^的]{{0,6}}(?<!冲)冲(?:走|跑|没|下去|不见|到下游|出去好远)|"
    r"(?:冲|卷)(?:走|跑)了?(?:一个|个|两个)?(?:人|娃|孩子)|"
    rf"(?:把|将)(?:{_PERSON}).{{0,3}}(?:冲|卷)(?:走|跑|没|下去)",
    # in the water and not coming up: 水里扑腾, 河里喊救命, 水窖里有个娃,
    # 沉下去了, 只上来一个, 渠里漂着一个娃
    rf"(?:水|{_WATER})里.{{0,6}}(?:扑腾|扑通|喊|挣扎|救命)|(?:{_WATER})(?:里|中)(?:有|还有)(?:个|一个)?"
    r"(?:人|娃|孩子|老人)",
    r"沉下去|扑腾|没上来|捞不上来|没露头|没浮上来|只上来(?:了)?一个",
    r"(?:人|娃|孩子|老人|老汉).{0,8}(?:水|河|渠|库|塘|池|坝|湖|海)(?:里|中间|上|面|中)?.{0,2}(?:漂|浮)|"
    r"(?:水|河|渠|库|塘|池|坝|湖|海)(?:里|中间|上|面|中)(?:漂|浮)着?.{0,3}(?:人|娃|孩子|老人|尸)",
    # through the ice
    r"冰(?:面)?.{0,3}(?:破|裂|塌)了?.{0,8}(?:掉|落|下去|人|娃)|冰(?:面|上).{0,4}(?:掉|落|陷|沉)(?:下去|进去)",
    # went to the water and is missing: 去河里洗澡 人没了, 渠边玩 找不见了
    r"(?:游泳|洗澡|耍水|玩水|下水|下河|摸鱼|捞鱼|河边|水边|岸边|水库|涝池|水渠|渠边|渠上|河里)"
    r".{0,14}(?:没上来|没回来|不见|找不见|找不到|沉|淹|冲走|没露头|人没了)",
    r"(?:没回来|找不见|找不到|不见了).{0,16}"
    r"(?:下水|下河|河边|水库|涝池|水渠|耍水|游泳|水(?:好|很|太)?大|涨水|发水)",
)

# ---------------------------------------------------------------------------
# Fire: something is burning or exploded now ("房子着火了", "草垛烧起来了",
# "麦草垛子着咧", "锅炉炸了", "火往村里烧过来了").
# ---------------------------------------------------------------------------
_FIRE_RE = _any(
    # fire named: 着火, 起火 (起伙), 失火, 烧起来, 冒烟 (not 烟囱老冒黑烟)
    r"着火|着伙|起火|起伙|失火|火灾|烧起来|烧着了|着起来|烧了起来|燃起来|大火|冒火|火苗|火星|火光|"
    r"浓烟|(?<![老总常天])冒.?烟|全是烟|都是烟|都是火",
    # spreading: 烧过来, 烧到, 越烧越大, 一个接一个烧, 火很大
    r"烧过来|烧到|在烧|越烧越|一个接一个(?:地)?(?:烧|着)|到处(?:都)?在(?:烧|着)|"
    r"火很大|火好大|火太大|火着(?:得|了|咧|大)|着了(?:好大|一大片|一片)",
    # a thing on fire: 柴房着了, 垛子着咧, 炕烧着了, 柴房烧塌了
    # (not 车着了, the engine; not 麦子着了雨)
    rf"(?:{_BURNS}|炕|锅|灶|烟囱)(?<!车)(?<!车子)(?:子)?着(?:了|咧|啦|起来|大|得)"
    r"(?!凉|风|魔|迷|道|急|雨|霜|水|潮|冻)",
    rf"(?:{_BURNS})(?:烧|燃)(?:了|咧|啦|塌|垮|没了|光了|起来)(?!一晚上|一夜|一天|半天|好几|多久|多少)|"
    r"烧(?:塌|垮|穿)",
    # set alight: 把窗帘点着了, 把柴禾引着了, 火掉出来 (not lighting the stove)
    r"(?<![炉灶烟柴蜡])点着|把(?!炉|灶|火).{0,4}(?:引着|燎着|引燃)|火.{0,6}(?:掉|溅|蹦|窜|跑)出来",
    # explosions and arson
    r"爆炸|炸了|炸开|爆了|放火|纵火|点火烧|泼(?:了)?汽油|(?:叫|被|让)人?(?:给)?点(?:了|着)",
    # out of control: 灭不了, 火窜到房顶, 烟往上窜
    r"灭不(?:了|掉|住)|扑不灭|火.{0,4}(?:跑到|窜到|蔓延|烧到|往.{0,3}烧|窜|蹿)|"
    r"烟(?:往|直)?(?:上|外|屋里)?(?:窜|蹿|涌)",
)

# ---------------------------------------------------------------------------
# Gas: coal smoke (煤烟) or carbon monoxide from a stove or heated kang, a
# gas leak, a biogas pit, cellar or well without air, and the signs people
# describe without naming it ("一家人早上起来都头疼恶心").
# ---------------------------------------------------------------------------
_GAS_RE = _any(
    # a leak: 煤气漏了, 液化气管子脱了, 天然气管子裂了, 泄漏了氯气, 呲呲地响
    rf"(?:{_GASES}).{{0,12}}(?:漏|泄|味|冒|中毒|熏|关不上|脱|喷|呲|嘶|滋滋|断了|裂)|"
    rf"(?:漏|泄露|泄漏|泄楼)(?:了)?(?:{_GASES}|气)",
    r"(?:往外|一直|在)(?:喷|冒|漏)气|呲呲|嘶嘶|毒气|有毒气体",
    # poisoned by coal smoke: 煤烟中毒, 中了炭毒, 叫煤烟打了, 熏倒了
    r"(?:煤烟|一氧化碳|煤气|炭|炉子?|火盆|炭盆|烤火).{0,3}中毒|中(?:了)?(?:煤烟|煤气|炭毒|毒气)|"
    r"一氧化碳|(?:煤烟|煤气|炭)(?:给)?(?:打|熏|呛)|熏(?:着|倒|晕|得|了)",
    r"漏烟|倒烟.{0,8}(?:晕|头疼|吐|迷糊)|烟(?:大|很大|好大|呛).{0,8}(?:晕|倒|叫不醒|不醒)",
    # a stove and a sign, either way round: 屋里生着炉子 人头晕, 叫不醒 屋里有煤烟味
    rf"(?:{_CO_SIGN}).{{0,16}}(?:{_CO_SOURCE})",
    rf"(?:{_CO_SOURCE}).{{0,16}}(?:{_CO_SIGN})",
    # several people ill at once, with nothing eaten or drunk:
    # 一家人早上起来都头疼恶心, 我和我老公都头疼想吐
    r"^[^吃喝]*(?:一家人|一家子|全家|家里人|两个人|几个人|人都|娃都|娃娃都|两个娃|我们都|大家都|"
    r"俩人都|两口子都|(?:我|俺|额)和[^吃喝]{1,4}都)[^吃喝]{0,8}"
    r"(?:头疼(?!这|那|的|他|她)|头晕|头痛|恶心|想吐|迷糊|晕乎|站不稳|叫不醒)",
    # a pit, cellar or well: 下菜窖的人晕在里面, 井里有气
    r"(?:沼气池|菜窖|地窖|红薯窖|窖里|井下|井里|池子).{0,8}(?:晕|倒下|没上来|没出来|不动)|"
    r"(?:井|窖|池)(?:里|下)有(?:气|毒气|沼气)",
)

# ---------------------------------------------------------------------------
# Electrocution: someone touched a live wire, a fallen or broken wire,
# lightning ("触电", "被电打了", "粘在电线上", "电线断了掉在地上").
# ---------------------------------------------------------------------------
_ELECTROCUTION_RE = _any(
    # shocked: 触电, 出电了, 被电了, 被洗衣机电了, 叫电打咧 (not 被电视台, 被电力公司)
    r"触(?:了)?(?:高压)?电|出电了|被电(?!视|话|脑|费|梯|动|瓶|车|工|报|子|商|台|影|力)|"
    r"被.{1,4}电(?:了|着|倒|住|伤|死)|(?:叫|让|给)电.{0,2}(?:打|击|电)",
    r"电(?:打|击|倒|伤)(?:了|着|倒|在|人|伤)?|把(?:人|我|娃|他|她).{0,3}电(?:了|着|倒|死|伤)|"
    r"电着(?:了|人|娃)",
    # stuck to it: 粘在电线上, 手被粘住了 (near something electric)
    r"(?:粘|黏|挂|吸|贴)(?:在)?电|电.{0,16}(?:粘|黏|吸)(?:在|住)|(?:粘|黏|吸)(?:在|住).{0,6}电",
    # a wire down, unless it only cut the power: 电线断了掉在地上, 电线杆倒了
    r"(?:电线|高压线|电缆).{0,4}(?:断|掉|落|刮断|刮倒|拖在|搭在|泡在|泡水|带电)"
    r"(?!.{0,12}(?:没电|停电|来修|谁修|修好))|还?带电|电线杆.{0,2}倒",
    # touched something live: 碰到高压线, 摸了插座 现在不动了, 插座冒火花
    r"(?:碰|摸|踩|抓|挂)(?:到|着|了|上)?.{0,8}(?:高压|电线|电门|插座|变压器|电闸|电网)",
    rf"(?:摸|碰|抓|咬|舔|踩|抠|捅)(?:了|到|着)?.{{0,8}}(?:{_ELECTRIC}).{{0,12}}"
    r"(?:不动|哭不出|没反应|倒|晕|抖|抽|黑了|麻|粘|松不开|弹开|打了|电了|没气|不哭)",
    rf"(?:{_ELECTRIC}).{{0,6}}(?:冒火花|打火花|火花|噼里啪啦)|"
    rf"(?:{_ELECTRIC})(?:旁边|下面|底下|跟前)?.{{0,4}}(?:躺着|倒着|倒了|倒在)",
    r"插(?:到|进|在)?插座|变压器.{0,10}(?:打(?!算)|电(?:了|着|倒|死|伤)|触)|"
    r"高压(?:线|电).{0,6}(?:打|电|伤|碰|断)|漏电.{0,8}(?:人|娃|我|妈|他|她|倒|哭)",
    # lightning (not 被雷到了, amazed)
    r"雷(?:劈|击|打)(?:了|中|死|着)|被雷",
)

# ---------------------------------------------------------------------------
# Trapped: under a collapse, kidnapped or taken, locked up, a child or an old
# person missing ("窑洞塌了人埋在里面", "娃让人贩子抱走了", "娃找不见了").
# ---------------------------------------------------------------------------
_TRAPPED_RE = _any(
    # under a collapse with someone there: 羊棚塌了 我大在里面刨不出来,
    # 把我哥埋了, 几户人家埋了, 矿上冒顶了 我男人还在下面
    r"(?:[塌踏蹋]|倒|滑坡|冒顶|埋)(?:了|下来|咧|方)?.{0,12}"
    r"(?:压(?:在|住|着)|在下面|在底下|底下|在里面|在里头|在里边|出不来|刨不出|挖不出|还有人|人在|有人|"
    r"喊|呼救|没出来|困)",
    rf"(?:把|将)(?:{_PERSON}).{{0,3}}(?:埋|压)(?:了|住|在)|"
    rf"(?:{_PERSON}|人家|户)(?:都|全)?(?:被)?(?:给)?(?:埋|压)(?:在|住|了)",
    r"(?:矿|井|窑|洞|塌|埋|压).{0,10}还在(?:下面|底下|里面|里头|井下)|矿难|透水",
    # a home, a cave dwelling, a mine came down (窑洞踏了), unless only things
    # were crushed or nobody was in
    r"(?:房子|房|窑洞|窑|墙|楼|屋|棚|矿|井|崖|山|顶|隧道)(?:子)?[塌踏蹋](?:了|咧|下来|方)"
    r"(?!.{0,8}(?:压坏|砸坏|砸烂|压烂|没事|没人|没伤|没住人|没有人))",
    # pinned, stuck, cannot get out (not 车出不去, 钱取不出来)
    r"压在(?!心|箱底|手里|枕头)|埋在|压住|埋住|被困|卡在|夹在|被堵在(?!路上|路|半道|高速)|"
    r"(?<![车钱证货粮果绩告])(?:出不来|出不去)|跑不出|逃不出|爬不(?:上来|出来)|(?:卷|绞)进(?:去|了|机)",
    r"困(?:在|住).{0,4}(?:电梯|井|矿|隧道|房|屋|楼|车|山|水|洪|顶|里面|下面|底下|窑|洞)|"
    r"(?:电梯|井|矿|隧道|窖|洞|坑|管道|机器)(?:里|下)?.{0,3}(?:卡住|困住|关住)",
    # taken: kidnapped, trafficked, dragged off, led away by a stranger
    r"被拐|拐走|拐跑|抱跑|抢跑|人贩子|绑架|绑票|赎人|赎金|抱走|抢走|劫持|卖到|后备箱|"
    r"(?:抱|拉|拽|拖|塞|推)上.{0,2}车|被人骗(?:走|到|去)|骗到(?:缅甸|国外)|人在哪都不知道|"
    r"(?:娃|孩子|女儿|儿子|丫头|闺女)(?:被|让|叫)(?:人)?抢(?:了|走)|被人扣|扣着人|扣押",
    r"被(?:人|陌生人|坏人|生人|一伙人|几个人|几个男的|男的|他们)(?:给)?(?:强行)?(?:带走|拖走|拉走)|"
    r"强行带走|被.{0,5}绑(?!定|架子)|绑走|抓走",
    rf"(?:陌生人|生人|男的|女的|不认识的人|外地人|有人|有个人).{{0,6}}(?:把|将)?(?:我|俺|额)?"
    rf"(?:{_KIN}).{{0,3}}(?:领|带|抱|拉|拐|骗|拽|抢)走|"
    r"(?:让|被|叫)(?:人|陌生人|生人|别人|坏人)(?:给)?(?:领|带|抱|拉|拐|骗|拽|抢)走",
    # locked up, held, not let go: 被关起来不让走, 被传销控制了
    r"被.{0,5}(?:关|锁)(?:在|起来|了起来|住)|"
    r"把(?:我|俺|额|她|他|人|娃|孩子)(?:们|给|也|都)?(?:关|锁)(?:在|起来|住)|"
    r"被.{0,5}看(?:起来|住|管)|被(?:人)?控制|传销.{0,6}(?:控制|关|扣|困|不让|出不去|走不了|看着|窝点)",
    r"不让(?:我|我们|她|他|俺)?(?:走|出去|出门|回来|离开|回家)|限制.{0,2}自由|软禁|囚禁|关起来",
    # missing: a child or an old person cannot be found
    # (not 娃找不到工作, 老人联系不上儿女, 我家小孩丢了一只鞋)
    rf"(?:{_KIN}|人)[^的]{{0,10}}"
    r"(?:找不(?:见|到|着)(?!工作|活|对象|媳妇|婆姨|老婆|合适|地方|门路|钱|人管|证|路子|理由|机会|学校|"
    r"房|买家|医院|.{0,3}的)|走丢|失踪|(?<!看)不见了|"
    r"联系不上(?!那|这|老板|对方|村|公司|客服|单位|律师|儿女|子女|家里)|"
    r"(?:到现在|还|一直|都)没(?:有)?找(?:到|见|着)(?!工作|活|对象|.{0,3}的))",
    rf"(?:{_KIN})(?:给|让人)?(?:弄)?丢了"
    r"(?!(?:一|个|两)?(?:只|件|双|块|本|部|个)?(?:钱|东西|鞋|书|本|手机|卡|衣服|帽子|钥匙|作业|包))|"
    r"到处(?:都)?找(?:遍了)?(?:也|都)?(?:找)?不(?:见|到|着)(?!工作|活|.{0,3}的)",
    # not back by dark: 天黑了还没回来, 放学没回家 到处都找不见 (not 还没回来 alone)
    r"(?:天黑|半夜|一晚上|一夜|到现在|放学|两天|三天).{0,6}(?:还|都|也)?没(?:有)?(?:回来|回家|到家)|"
    r"没(?:有)?回(?:来|家).{0,8}(?:天(?:都)?黑|打不通|不通|关机|找不|联系不上|到处|半夜|一晚上)",
)

# Checked in this order; the first kind that matches names the reply. The
# more specific kinds come first ("被电打了" is electrocution, not a beating;
# "孩子溺水了没呼吸" is drowning, not only medical).
_KINDS: tuple[tuple[DangerKind, re.Pattern[str]], ...] = (
    (DangerKind.SELF_HARM, _SELF_HARM_ACT),
    (DangerKind.WEAPON, _WEAPON_RE),
    (DangerKind.ELECTROCUTION, _ELECTROCUTION_RE),
    (DangerKind.GAS, _GAS_RE),
    (DangerKind.POISONING, _POISONING_RE),
    (DangerKind.VIOLENCE, _VIOLENCE_RE),
    (DangerKind.DROWNING, _DROWNING_RE),
    (DangerKind.FIRE, _FIRE_RE),
    (DangerKind.TRAPPED, _TRAPPED_RE),
    (DangerKind.MEDICAL, _MEDICAL_RE),
)

# ---------------------------------------------------------------------------
# A quick look before the long patterns
# ---------------------------------------------------------------------------

# The characters residents type most (in benchmarks/data): a character set
# that holds one of them rules out too few messages to be worth checking.
_COMMON = frozenset(
    "了我的不一在个人说家是上要他里年子能去还这没来有老就吗都天多到给也们"
    "着地钱打村下俺工被两过出月车房现电十把回三几得好"
)


def _must_contain(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """A character class that every match of ``pattern`` has a character of.

    Each kind's pattern is a long alternation that Python's ``re`` tries at every
    position of the message; one character class is searched in a fraction of
    that time. A message with none of its characters cannot match, so skipping
    the pattern then gives the very same answer: a resident's short question is
    checked in about half the time (benchmarks/README.md).
    Derived from the pattern itself (CPython's own regex parser), so it never
    falls out of step with an edit; None, and the pattern is always tried, when
    the parser is not there or no such class exists.
    """
    try:
        parser: Any = importlib.import_module("re._parser")
        ops: Any = importlib.import_module("re._constants")
        chars = _required(parser.parse(pattern.pattern, pattern.flags), ops)
    except (ImportError, AttributeError, TypeError, ValueError):
        return None
    if not chars:
        return None
    members = "".join(re.escape(c) for c in sorted(chars))
    return re.compile(f"[{members}]", pattern.flags & re.IGNORECASE)


def _required(items: Sequence[tuple[Any, Any]], ops: Any) -> frozenset[str] | None:
    """Of the items of a sequence, the rarest set of characters one of which a match
    must contain (None: no item requires any)."""
    best: frozenset[str] | None = None
    for op, arg in items:
        chars = _required_by(op, arg, ops)
        if chars is not None and (best is None or _rarity(chars) < _rarity(best)):
            best = chars
    return best


def _required_by(op: Any, arg: Any, ops: Any) -> frozenset[str] | None:
    if op is ops.LITERAL:
        return frozenset(chr(arg))
    if op is ops.IN:
        chars: set[str] = set()
        for member, value in arg:
            if member is ops.LITERAL:
                chars.add(chr(value))
            elif member is ops.RANGE and value[1] - value[0] < 64:
                chars.update(map(chr, range(value[0], value[1] + 1)))
            else:  # a negated class, a category (\d, \w ...): anything may match
                return None
        return frozenset(chars)
    if op is ops.BRANCH:
        union: set[str] = set()
        for alternative in arg[1]:
            found = _required(alternative, ops)
            if found is None:
                return None
            union |= found
        return frozenset(union)
    if op is ops.SUBPATTERN:
        return _required(arg[-1], ops)
    if op in (ops.MAX_REPEAT, ops.MIN_REPEAT):
        low, _high, repeated = arg
        return _required(repeated, ops) if low >= 1 else None
    return None  # anchors, lookarounds, any character: nothing required


def _rarity(chars: frozenset[str]) -> int:
    return sum(50 if c in _COMMON else 1 for c in chars)


_ORDER = tuple((kind, pattern, _must_contain(pattern)) for kind, pattern in _KINDS)
_SELF_HARM_WISH_CHARS = _must_contain(_SELF_HARM_WISH)
_FIGURES_CHARS = _must_contain(_FIGURES)


def _could_match(chars: re.Pattern[str] | None, text: str) -> bool:
    return chars is None or chars.search(text) is not None


# ---------------------------------------------------------------------------
# When a match does not count
# ---------------------------------------------------------------------------

# An animal or a thing right before the match: "羊掉到井里", "手机掉水里了",
# "羊吃了打过农药的草", "大水把桥冲走了". "放羊的掉进河里" is a person (the
# shepherd), and so is "老人出去放羊 天黑了还没回来".
_NOT_A_PERSON = re.compile(
    r"(?<![放喂赶牵杀宰买卖养找])"
    r"(?:狗|猫|羊|牛|猪|鸡|鸭|鹅|驴|马|骡|兔|鱼|手机|钥匙|钱包|钱|桶|盆|东西|车钥匙|鞋|衣服|存折|"
    r"自行车|桥|庄稼|粮食)(?:儿|子|娃)?$"
)

# A story, the news, a film, a dream, a rumour, a drill, a what-if or a
# question whether something is normal.
_FICTION = re.compile(
    r"电视(?:上|里|剧|台|新闻)|看电视|电影|小说|新闻|听说|梦见|梦到|做梦|笑话|故事|视频|抖音|快手|"
    r"主角|演的|剧里|情节|游戏里|演习|演练|假装|模拟|假如|如果|万一|正常吗|正常不|正不正常|"
    r"怎么防|咋防|如何防|预防|防止|避免|以防|注意(?:啥|什么|哪些|些啥|事项)"
)
# The past: "去年", "上个月", "以前", "拿刀吓唬过", "被电过" (but "烧过来" is a
# fire coming closer now)...
_PAST = re.compile(
    r"去年|前年|上个?月|上周|上星期|上礼拜|上次|上回|以前|之前|当时|当年|那年|那次|那回|那一次|"
    r"那会儿|当初|小时候|年轻时|早些年|前些年|年前|几年|十年|天前|周前|月前|礼拜前|星期前|"
    r"昨天|昨晚|昨儿|前天|前几天|曾经|出狱|后来|第二天|去世|过世|每年|年年|"
    r"(?:打|砍|吓唬|吓|威胁|掉|困|拐|丢|中|伤|摔|淹|烧|塌|喝|死|电|咬|撞|烫|熏|踢|捅|扎|割|关|锁|"
    r"抢|推|追|堵|绑|拿刀)过(?!来|去)|"
    # ...or over: "劝开了 现在没事了", "救过来了", "火扑灭了", "住院了"
    r"没事了|劝开了|拉开了|已经好了|好多了|出院|住院|住了.{0,3}院|没人住|没住人|没有人住|人没事|"
    r"没人受伤|没伤着人|救活|救过来|救回来|抢救过来|脱离危险|找回来了|火(?:已经|被)?(?:扑)?灭了|"
    r"扑灭了|治好了|现在(?:好了|没事)|"
    # ...or not meant: "都是气话", "但没动手"
    r"气话|开玩笑|说着玩|嘴上说说|没动手|没打成|没敢"
)
# A question of money or law that shows it is over or is about something
# else: "赔不赔", "医药费谁出", "能告吗", "能申请补助吗", "犯法吗".
# ("这算抢劫吗" is not among them: it is asked while it happens.)
_LEGAL = re.compile(
    r"赔|补偿|补助|补贴|救济|申请|危房|起诉|告(?:他|她|村|我|人|对方|得|了)|能告|判(?!断)|判决|"
    r"责任|负责|报销|保险|医药费|医保|新农合|费用|多少钱|谁出|罚款|私了|给了.{0,4}(?:块|百|千|万)|"
    r"继承|存款|遗产|(?:能|想|要|可以)离婚|离婚(?:吗|手续|财产|怎么|咋|协议|官司)|归谁|"
    r"验伤|鉴定|要回来|保护令|拘留|坐牢|调解|律师|法院|立案|案子|开庭|官司|举报|投诉|开除|"
    r"合理|合法|违法|犯法|犯罪|侵犯|办证|手续|户口|处方|"
    r"借了|欠我|欠了|还钱|借钱|欠.{0,3}债|债务|还债"
)
# A death told beside such a question: then even the leaning kinds are over.
_DEATH = re.compile(r"死了|走了|没了|去世|过世|死亡|身亡|淹死|毒死|丧事|后事")
# Kinds that lean towards warning: a question of money or law alone does not
# drop them.
_LEAN_TO_WARN = frozenset({DangerKind.SELF_HARM, DangerKind.POISONING, DangerKind.DROWNING})

# Words that say it is happening now, which win over the past and the legal
# question ("他以前就打我 现在还在打").
_NOW = re.compile(
    r"正在|还在|快来|救命|就命|快救|救救|赶紧|马上|刚才|刚刚|这会儿|此刻|就在|快不行|现在就|快点|快帮|"
    r"咋办呀|怎么办啊|来人|快报警|快叫"
)
# A story, the news or a what-if is about now only when help is called for.
_CALL_FOR_HELP = re.compile(r"正在|还在|快来|救命|就命|快救|救救|赶紧|马上|快点|快帮|来人")

_BLANK = "#"


# What is not a letter or a digit (Unicode categories L* and N*): exactly the
# characters ``re``'s \w leaves out, and the underscore.
_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")


def _normalise(text: str) -> str:
    """NFKC, lower case, letters and digits only ("拿 着 刀！" -> "拿着刀").

    One regular expression instead of a category lookup per character: a third
    less time for a resident's question, the same result for every character."""
    return _NOT_LETTER_OR_DIGIT.sub("", unicodedata.normalize("NFKC", text).lower())


def _person_match(pattern: re.Pattern[str], text: str) -> str | None:
    """The first match not right after an animal or a thing, if any.

    After a match that is about an animal, the search goes on from the next
    character, not from the end of that match: in "羊棚塌了我大在里面刨不出来"
    the match "棚塌了" is about the sheep's shed, "塌了我大在里面" about dad.
    """
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        if not _NOT_A_PERSON.search(text, 0, m.start()):
            return m.group()
        pos = m.start() + 1
    return None


def detect(text: str) -> Danger | None:
    """The danger a message tells of, or None when there is none now."""
    plain = _normalise(text)
    if not plain:
        return None
    if _CRY_RE.fullmatch(plain):
        return Danger(DangerKind.VIOLENCE, plain)
    scrubbed = _FIGURES.sub(_BLANK, plain) if _could_match(_FIGURES_CHARS, plain) else plain

    wish = (
        _SELF_HARM_WISH.search(scrubbed) if _could_match(_SELF_HARM_WISH_CHARS, scrubbed) else None
    )
    if wish:
        return Danger(DangerKind.SELF_HARM, wish.group())

    if _FICTION.search(scrubbed) and not _CALL_FOR_HELP.search(scrubbed):
        return None
    now = _NOW.search(scrubbed) is not None
    if _PAST.search(scrubbed) and not now:
        return None
    legal = not now and _LEGAL.search(scrubbed) is not None
    if legal and _DEATH.search(scrubbed):
        return None

    for kind, pattern, chars in _ORDER:
        if legal and kind not in _LEAN_TO_WARN:
            continue
        if not _could_match(chars, scrubbed):
            continue
        matched = _person_match(pattern, scrubbed)
        if matched:
            return Danger(kind, matched)
    return None
