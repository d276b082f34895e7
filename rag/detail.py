"""The detail a question asks for, and whether a clause states a detail of that kind.

Residents mostly ask for specifics: how much (宝宝屋收费吗), when it opens (几点开门), where (在哪里), how
to apply (要带什么证件), whom to call (电话多少), which ones by name (具体是哪10所), who qualifies (几岁能
打). Plans name topics and targets but rarely state these. A clause about the topic that does not state
the asked detail is related, not the answer; quoting it as the answer would mislead.

Each `DetailType` pairs the wording of questions that ask for a kind of detail with the wording of
text that states one. The rules are read over the question (never a model's guess) and tested on every
question of the evaluation set. Order matters: the first type whose question pattern matches wins, so
narrower types come first (opening hours before dates, amounts before "is it free").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from corpus.placenames import province_names

# Facilities that a place name can name (虹桥公园, 华政步道, 上海国际体操中心).
_FACILITY = (
    "公园|医院|保健院|卫生院|绿道|步道|广场|图书馆|博物馆|科技馆|美术馆|少年宫|体育馆|体育场|"
    "活动中心|体操中心|文化馆|文化宫|学校|小学|中学|幼儿园|托育园|儿童之家|驿站|街道|社区|滨江|沿线|沿岸|"
    "商圈|天街|景区|乐园|片区|园区|街区"
)
_ADDRESS = re.compile(r"[\u4e00-\u9fff]{1,8}(?:路|街|巷|弄|大道)\s*\d+\s*号|\d+\s*(?:号楼|栋|单元|室)")
# A district, city or province names where, not which facility (渝中区儿童友好公园 is a kind of park).
_ADMINISTRATIVE = re.compile(r"(?:省|市|区|县|自治区|自治州|镇|乡)$|^(?:全国|中国)$")
_STREETS = ("街道", "路", "街", "大道", "巷")
# Words that make a kind of facility, not a name, before a facility word (专科医院, 湿地公园).
_GENERIC_KINDS = frozenset(
    {"专科", "综合", "儿童", "妇幼", "社区", "精神", "中医", "公立", "民办", "公办", "示范", "市级", "区级"}
    | {"基层", "乡镇", "城市", "主题", "郊野", "口袋", "街心", "湿地", "生态", "体育", "文化", "青少年"}
)
# Proper-noun tags of jieba's part-of-speech tagger: place, person-like, other proper name, organisation.
_PROPER_TAGS = frozenset({"ns", "nr", "nz", "nt"})
# Proper-noun tags jieba gives to words that are kinds of places, not names of one.
_NOT_A_NAME = frozenset(
    {"山城", "儿童医院", "妇幼", "社区", "街镇", "城乡", "城市", "新建", "中小", "家门口"}
    | {"高水平", "现代化", "高质量", "福利"}
)


@dataclass(frozen=True)
class DetailType:
    """A kind of detail: how questions ask for it, and a test of whether a text states one."""

    name: str
    label: str  # what the documents do not state, in a sentence: "没有写明{topic}的{label}"
    asked: re.Pattern[str]
    # Whether a text states such a detail, for the question asked (a service: the one it names).
    stated: Callable[[str, str], bool]
    not_asked: re.Pattern[str] | None = None  # wording that looks like the question but is not
    # A note that states the detail for its whole clause ((牵头单位:区公安分局,…) names who is in charge
    # of everything the clause says), not only for the sentence it is in.
    clause_note: re.Pattern[str] | None = None
    # Asked only in the part of the question that asks: 热水壶老怕小孩碰，有没有… tells of hot water, it
    # does not ask whether a service provides it.
    in_asking_part: bool = False

    def _asked_text(self, question: str) -> str:
        return asking_part(question) if self.in_asking_part else question

    def asked_term(self, question: str) -> str:
        """Return the words of the question that ask for the detail ("" when it does not ask)."""
        match = self.asked.search(self._asked_text(question))
        if match is None:
            return ""
        return match.groupdict().get("term") or match.group(0)

    def states(self, text: str, question: str = "") -> bool:
        """True when `text` states a detail of this kind (for a service: the service the question names)."""
        return self.stated(with_row_units(text), question)

    def asked_in(self, question: str) -> bool:
        """True when the question asks for this kind of detail."""
        if not self.asked.search(self._asked_text(question)):
            return False
        return not (self.not_asked and self.not_asked.search(question))

    def without_asking(self, question: str) -> str:
        """Return the question with the words that ask for the detail blanked out (the topic remains)."""
        return self.asked.sub("，", asking_form(question))


def _pattern(stated: str, *, only_new: bool = False) -> Callable[[str, str], bool]:
    """A test of text by a pattern; with `only_new`, a match must not be the question's own words
    (困境儿童 in a clause about 困境儿童 says whom it is about, not who qualifies)."""
    compiled = re.compile(stated)
    if only_new:
        return lambda text, question: any(m.group(0) not in question for m in compiled.finditer(text))
    return lambda text, question: bool(compiled.search(text))


@lru_cache(maxsize=1)
def _pos_tokenizer() -> Any:
    import jieba.posseg

    from index.tokenize import new_jieba_tokenizer

    # A tokenizer of its own: nothing here changes the process-wide jieba dictionary.
    return jieba.posseg.POSTokenizer(new_jieba_tokenizer())


@lru_cache(maxsize=8192)
def names_a_place(text: str, kind: str = "") -> bool:
    """True when the text names a specific place: an address, or a proper name of a facility
    (虹桥公园, 华政步道, 上海国际体操中心), as opposed to a kind of place (儿童友好公园, 社区医院). With a
    `kind` (小区, 学校), only a name of a place of that kind counts: 党史馆 names no 小区."""
    if _ADDRESS.search(text):
        return True
    facility = re.escape(kind) if kind else _FACILITY
    words = [(w.word, w.flag) for w in _pos_tokenizer().cut(text)]
    for index, (word, flag) in enumerate(words):
        if flag not in _PROPER_TAGS or word in _NOT_A_NAME or len(word) < 2:
            continue
        following = "".join(w for w, _ in words[index + 1 : index + 4])
        if _is_administrative(word):
            # 江苏街道, 长宁路, 大渡口公园: a place name that names a street or a facility directly;
            # otherwise (渝中区儿童友好公园) a place, not a facility.
            streets = _STREETS if not kind else (kind,)
            if following.startswith(streets) or re.match(rf"^(?:{facility})", following):
                return True
            continue
        if re.search(rf"(?:{facility})$", word) and flag != "nt":
            # 幼儿园 alone (tagged as a name) is a kind of place; 虹桥公园 names one.
            name = re.sub(rf"(?:{facility})$", "", word)
            if name and name not in _GENERIC_KINDS:
                return True
            continue
        if re.match(rf"^[\u4e00-\u9fff]{{0,4}}?(?:{facility})", following):
            return True
    return False


# The kind of place a list question asks the names of (哪些小区, 是哪几所学校); generic words (地方, 机构)
# name no kind.
_ASKED_KIND = re.compile(
    r"哪(?:些|几|[一二两三四五六七八九十\d]+)?\s*(?:个|家|所|座|处|条)?\s*"
    r"(?P<kind>小区|社区|街道|街镇|学校|小学|中学|幼儿园|医院|公园|商圈|景区|图书馆|博物馆|场馆)"
)


def asked_kind(question: str) -> str:
    """Return the kind of place whose names the question asks for ("" when it names none)."""
    match = _ASKED_KIND.search(question)
    return match["kind"] if match else ""


# 那个项目叫什么名字 asks for a name, which a document quotes ("七彩假期"); 哪几所学校 asks for schools,
# which a quoted brand of a workshop is not.
_ASKS_A_NAME = re.compile(r"叫(什么|啥)|(什么|啥子?)名(字|称)|名称")
_QUOTED = re.compile(r"[“\"]([^”\"“]{2,15})[”\"]")


def quotes_a_new_name(text: str, question: str) -> bool:
    """True when the text quotes a name the question does not hold: the name of a programme, a brand or
    a campaign ("七彩假期", "情暖童心" for 那个项目叫什么名字), not the topic it was asked by (“宝宝屋”)."""
    return any(name not in question for name in _QUOTED.findall(text))


def names_the_listed(text: str, question: str) -> bool:
    """True when the text names what a list question asks for: places of the kind it names (哪些小区),
    or, asked what something is called, a quoted name (叫什么名字 -> "七彩假期")."""
    if _ASKS_A_NAME.search(question) and quotes_a_new_name(text, question):
        return True
    return names_a_place(text, asked_kind(question))


# What documents call the services residents name (摄像头 -> 视频监控).
SERVICE_TERMS: dict[str, tuple[str, ...]] = {
    "管饭": ("午餐", "供餐", "用餐", "膳食", "餐饮", "配餐"),
    "午饭": ("午餐", "供餐", "用餐", "膳食"),
    "中饭": ("午餐", "供餐", "用餐", "膳食"),
    "午餐": ("供餐", "用餐", "膳食"),
    "伙食": ("膳食", "餐饮", "供餐", "配餐"),
    "饭菜": ("膳食", "餐饮", "供餐", "配餐"),
    "摄像头": ("监控", "视频"),
    "监控": ("视频", "摄像"),
    "午睡": ("午休",),
    "停车位": ("停车",),
    "停车场": ("停车",),
    "车位": ("停车",),
}


_SERVICE_ASKED = re.compile(
    r"(?:[\u4e00-\u9fff]不)?(?P<term>管饭|供餐|午餐|午饭|中饭|早餐|晚饭|伙食|饭菜|点心|午睡|午休|接送|校车|班车|"
    r"停车位|停车场|车位|住宿|宿舍|洗澡|空调|监控|摄像头|热水|尿布台|婴儿车|推车|宠物)"
)


def states_the_service(text: str, question: str) -> bool:
    """True when the text names the service the question asks about, or what documents call it."""
    match = _SERVICE_ASKED.search(question)
    return match is not None and any(
        t in text for t in (match["term"], *SERVICE_TERMS.get(match["term"], ()))
    )


def _is_administrative(word: str) -> bool:
    return bool(_ADMINISTRATIVE.search(word)) or word in _province_names()


@lru_cache(maxsize=1)
def _province_names() -> frozenset[str]:
    names = province_names()
    return frozenset(names) | frozenset(names.values())


# An indicator row names its unit once (指标名称（单位）：小学生每天睡眠时间（小时）) and its values bare
# (2030年规划：≥10): the values are read with the unit (≥10小时).
_ROW_UNIT = re.compile(r"指标名称（单位）：[^；]*（(?P<unit>[^（）；]{1,8})）")
_ROW_VALUE = re.compile(r"(?:基数|目标|规划|现状)：\s*(?P<value>[≥≤><＞＜]?\s*\d+(?:\.\d+)?)")


def with_row_units(text: str) -> str:
    """Return an indicator row with each value written out with the row's unit appended at the end (the
    row itself unchanged); any other text as it is."""
    unit = _ROW_UNIT.search(text)
    if unit is None:
        return text
    values = [m["value"] + unit["unit"] for m in _ROW_VALUE.finditer(text)]
    return text + ("；" + "；".join(values) if values else "")


# The note after a plan's clause naming the departments in charge of it: (牵头单位:…), (责任单位:…).
_RESPONSIBILITY_NOTE = re.compile(r"(?:牵头|责任|参与)单位\s*[:：]")
_MEASURE_UNIT = r"(?:公里|千米|厘米|公分|平方米|平米|米|亩|公斤|千克|斤)"
_MONEY = r"\d[\d.,]*\s*(?:万|千|百)?元|元\s*/"
_COUNTED = r"[一二两三四五六七八九十百千万]+\s*(?:个|所|家|座|处|项|名|张|间|位|条|人)"
_NUMBER = rf"\d|{_COUNTED}|百分之|全覆盖|全部|每个|每所"

_NUMBER_RE = re.compile(_NUMBER)
# Years, ages and dates are numbers that count nothing (到2026年, 0-14岁儿童, 3月1日).
_NOT_A_COUNT = re.compile(r"\d{4}\s*年|\d+\s*(?:[-~至到]\s*\d+\s*)?(?:周)?岁|\d+\s*月\s*(?:\d+\s*[日号])?")

DETAIL_TYPES: tuple[DetailType, ...] = (
    DetailType(
        "fee",
        "具体收费或金额",
        re.compile(
            r"多少钱|几块钱|几百块|几千块|多少元|收费标准|费用(是)?多少|价格(是|大概|大约)?(多少|几何|怎么样|贵)|(什么|啥)价格?|价钱|票价|门票|学费|伙食费|托育费|"
            r"(怎么|如何|咋个?|哪能)收费|收费(多少|怎么算|标准)|按(小时|天|月|次)(算|收)|(优惠|便宜|减免)(了)?多少|"
            r"(补贴|补助|奖励|救助|报销|补|发|给|领|交|缴|花|收)(了)?多少(钱|元|块)?|多少[\u4e00-\u9fff]{0,3}费|"
            r"(一|每)(个月|月|年|学期|天|次|节课)(要)?(交|收)?多少(钱|元|块)?|标准是多少|能(领|拿)多少(钱|元)?"
        ),
        _pattern(_MONEY),
    ),
    DetailType(
        "free",
        "是否收费",
        re.compile(
            r"要钱|要不要钱|收钱|收费|收不收钱|免费(吗|不)|免不免费|是不是免费|是否免费|"
            r"花钱(吗|不)|交钱|掏钱|自费|自[己家](出|掏|花|付|贴)钱|贵不贵|贵吗|便宜|要不要交|需要交费|要交费"
        ),
        _pattern(rf"免费|收费|不收取|减免|低收费|优惠|公益性|{_MONEY}"),
    ),
    DetailType(
        "hours",
        "开放时间",
        re.compile(
            r"几点|开门|关门|开放时间|营业时间|办公时间|上班时间|几点到几点|什么时候开(?!展|始|工)|"
            r"啥时候开(?!展|始|工)|啥辰光开|(周末|星期天|星期六|节假日|晚上|寒假|暑假)(开不开|开放吗|开吗|能去|能进|可以去|可以进)"
        ),
        _pattern(
            r"\d{1,2}\s*[:：]\s*\d{2}|\d{1,2}\s*(?:点|时)(?!间|期|代)|上午|下午|晚上|夜间|全天|24\s*小时|"
            r"周[一二三四五六日末]|星期|工作日|节假日|双休日|寒暑假|开放时长|每周[^。；]{0,8}开放|错时|延时"
        ),
    ),
    DetailType(
        "frequency",
        "具体频次",
        # "多久…一次" asks how often, not how long (渝中的儿童主任多久上门看一次).
        re.compile(
            r"(多久|多长时间|多少天|几天|几个月|几周)(能|会|要|可以|就|才)?[^，,。？?！!]{0,8}一(次|回|趟)|"
            r"隔多久|多少次|几次|几回|频次|频率|多经常"
        ),
        _pattern(
            r"每(?:天|日|周|星期|个?月|季度?|学期|半年|年)|\d+\s*(?:次|回)|[一两二三四五六七八九十]+(?:次|回)"
        ),
    ),
    DetailType(
        "duration",
        "具体天数或时长",
        re.compile(
            r"几天|多少天|多少日|几个月|几周|几年(?!级)|多长时间|多久|几个小时|多少小时|几小时|多少个小时"
        ),
        _pattern(
            # A length of time, not a year (2030年规划 states no duration).
            r"(?<!\d)\d{1,3}\s*个?\s*(?:天|日|周|星期|月|年|小时|钟头|分钟|学时)|"
            r"[一二两三四五六七八九十]+\s*个?\s*(?:天|日|周|星期|月|小时|钟头|分钟|学时)|"
            r"至[^。；]{0,6}周岁"
        ),
    ),
    DetailType(
        "day",
        "具体日期",
        re.compile(r"哪天|哪一天|几号(?!楼)|几月几|具体日期|什么日子|开幕|开营|哪天开始|几时开始|啥辰光开始"),
        _pattern(
            r"\d+\s*月\s*\d+\s*[日号]|[一二三四五六七八九十]+月[一二三四五六七八九十]+日|[上中下]旬|月底|月初"
        ),
    ),
    DetailType(
        "month",
        "具体月份",
        re.compile(r"几月份?|哪个月|什么月份|啥月份"),
        _pattern(
            r"\d{1,2}\s*月|[一二三四五六七八九十]+月|[上下]半年|季度|春季|夏季|秋季|冬季|春节|国庆|六一|儿童节|"
            r"暑期|暑假|寒假|开学|学期"
        ),
    ),
    DetailType(
        "date",
        "具体时间",
        re.compile(r"什么时候|啥时候|啥辰光|何时|哪年|哪一年|几月|截止|期限|到期|几时"),
        _pattern(
            r"\d{4}\s*年|年底|年内|年前|年末|\d+\s*月|月底|\d+\s*日|每年|每季度|每学期|每半年|每月|定期|期间|"
            r"[一二三四五六七八九十]+\s*月|前完成|之前|以前"
        ),
    ),
    DetailType(
        "contact",
        "联系电话或联系方式",
        re.compile(
            r"电话(号码)?(是)?多少|号码(是)?多少|电话号码|打(什么|哪个|啥)电话|热线(号码|是多少|多少)|联系方式|"
            r"怎么联系|如何联系|联系人|微信号|公众号(是|叫)|网址|网站(是|多少)|邮箱"
        ),
        _pattern(r"\d{5,}|\d{3,4}\s*-\s*\d{7,8}|www\.|https?://|\.gov\.cn|@"),
    ),
    DetailType(
        "procedure",
        "办理流程或所需材料",
        re.compile(
            r"(怎么|怎样|咋个?|如何|哪能|怎么样才能|要怎么|去哪里?|在哪里?|到哪里?|哪里)"
            r"(申请|办理|报名|预约|领取|申领|领|登记|入托|入园|参加|加入|享受|拿到|"
            r"迁|转学|转户口|落户|补办|挂号|举报|投诉|反映)|"
            r"(怎么|怎样|咋个?|如何|哪能)办(?!法|$|[呢吗啊呀？?。!！]|不)|(去|在|到)?哪里?(儿)?办|"
            r"(需要|要|得)?(带|准备|提交|提供|交)?(什么|哪些|啥|些什么|啥子)(材料|证件|证明|手续|资料|东西|证)|"
            r"(要|得|需要)带(什么|啥|哪些)|手续|流程|步骤|(什么|啥|哪些)程序|程序是|申请条件|怎么报|哪里报名|在哪报名"
        ),
        _pattern(
            r"(?:携带|凭|持有?)[^。；]{0,12}(?:证|卡|材料|证明)|向[^。；]{2,20}(?:提出申请|申请|申报|报名|登记)|"
            r"通过[^。；]{2,20}(?:预约|报名|申请|办理|申报)|登录|扫码|拨打|所需材料|"
            r"提交[^。；]{0,10}(?:材料|申请|证明)|线上(?:申请|办理|预约)|一网通办|全程网办|网上办理"
        ),
    ),
    DetailType(
        "agency",
        "负责的具体部门",
        re.compile(
            r"哪(个|几个|些|几)(部门|单位)|(部门|单位)(是|有)?哪(个|几个|些|几)|什么部门|哪些部门|哪个单位|哪家单位|什么单位|归哪个?(部门|单位)|哪个机构负责|由谁负责|谁负责"
        ),
        _pattern(
            r"责任单位|牵头|负责|主管|区[\u4e00-\u9fff]{1,6}(?:局|委|委员会|办|中心|团委|妇联|残联|法院|检察院)|"
            r"团区委|妇联|民政|教委|教育局|卫健委|卫生健康|公安|人社|医保"
        ),
        clause_note=_RESPONSIBILITY_NOTE,
    ),
    DetailType(
        "list",
        "具体名单",
        re.compile(
            r"具体(是)?哪(几|些|一)?\s*\d*\s*(家|所|个|座|处|条)|是哪(几|些|\s*\d+\s*)(家|所|个|座|处|条)|"
            # 培育名单管理方式 asks how a list is kept, not the names on it.
            r"名单(?![\u4e00-\u9fff]{0,4}(?:管理|方式|机制|制度|办法|更新|调整))|"
            r"哪[两二三四五六七八九十]+(家|所|个|座|处|条)|"
            r"叫什么(名字)?|"
            # The kind of place asked about (公园, 医院) is the topic: matched, not consumed.
            r"哪(几|些)(家|所|座|处)(?=医院|学校|幼儿园|公园|机构|场馆|托育)?|"
            r"(都有|有)?哪(些|几个)(?=医院|学校|幼儿园|公园|机构|场馆|托育机构|小区|社区|街道|街镇|县|区县|地方|单位|企业)|"
            r"(是|分别是|都是)哪(些|几个)(?!方面|措施|政策|内容|工作|任务)"
        ),
        names_the_listed,
    ),
    DetailType(
        "address",
        "具体地址",
        re.compile(r"地址|哪条路|哪条街|哪个路|什么路|门牌|几楼|几层|哪一?层|几号楼|怎么走|怎么去"),
        lambda text, question: bool(_ADDRESS.search(text)),
    ),
    DetailType(
        "place",
        "具体地点或地址",
        re.compile(
            r"在哪(?!些|几|一年|天|年)|在哪里|在哪儿|哪里有|哪儿有|哪里可以|哪里能|什么地方|啥地方|哪个地方|"
            r"位置|离我|最近的|附近(有|哪)|哪块|阿里|啥地方|(去|到|在)哪(个|家|所|间)"
        ),
        lambda text, question: names_a_place(text),
        # 在哪里申请 asks how to apply; 要有多少个位置 asks how many places (a number).
        not_asked=re.compile(
            r"(在哪里?|去哪里?|到哪里?)(儿)?(申请|办理|办|报名|预约|领取|申领|领|登记)|(多少|几)个?(位置|地方)"
        ),
    ),
    DetailType(
        "measure",
        "具体尺寸或身高",
        re.compile(
            r"多高|多重|多长|多宽|多大面积|(身高|体重|长度|面积)(是|要|有|在)?多少|"
            r"(多少|几)(公里|千米|米|厘米|公分|平方米|平米|亩|公斤|千克|斤)"
        ),
        _pattern(rf"\d+(?:\.\d+)?\s*{_MEASURE_UNIT}|[一二两三四五六七八九十]+\s*{_MEASURE_UNIT}"),
    ),
    DetailType(
        "eligibility",
        "适用条件或年龄",
        re.compile(
            r"几岁|多大(的|了)?(孩子|小孩|娃|宝宝|年龄)?(能|可以|才|就)|多少岁|年龄|什么条件|啥条件|哪些条件|"
            r"符合(什么|哪些)|谁(可以|能)|哪些人(可以|能)|什么人(可以|能)|有没有资格|资格|户口|户籍|外地(人|户口|的)|非本地|"
            r"外来|随迁|没有户口|(什么|啥子?|哪)样的?(人|人家|家庭|孩子|小孩|娃|娃儿)|(怎样|怎么|咋个?)才算|算不算"
        ),
        _pattern(
            r"\d+\s*(?:周)?岁|\d+\s*个月|月龄|年龄|户籍|常住|非户籍|随迁|流动|外来|来沪|条件|适龄|对象|面向|"
            r"低保|困境|残疾|孤儿|婴幼儿|学龄前|在校|初中|小学|高中|中小学生|[一二三四五六七八九十]+周岁",
            only_new=True,
        ),
    ),
    DetailType(
        "service",
        "服务安排",
        _SERVICE_ASKED,
        states_the_service,
        in_asking_part=True,
    ),
    DetailType(
        "number",
        "具体数量",
        re.compile(
            r"多少(个|所|家|名|座|处|项|条|张|间|人|位|万|床|张床)|"
            # 被几个同学欺负: "a few", not "how many"; 那几条步道: "those"; 哪几个阶段: "which".
            r"(?<![被跟和与同让给那这哪])几(个|所|家|座|处|项|条|张|针|剂|折)(?!月)|"
            r"(率|比例|比重|占比)(是|要|达到|要达到|能达到|有)?多少|百分之几|达到多少|目标是多少|建多少|有多少|"
            r"(涨|降|增加|减少|提高|降低|增长|扣|减)(了)?多少"
        ),
        lambda text, question: bool(_NUMBER_RE.search(_NOT_A_COUNT.sub("", text))),
    ),
)

BY_NAME = {t.name: t for t in DETAIL_TYPES}


# Chongqing speech asks "how many" with 好多 and "when" with 好久 (产假能休好多天, 阅读包好久发); after
# 有/很/这 they mean "many" and "long" as in Mandarin (有好多人, 好久没去), except before a unit: 有好多
# 公里 asks how far. Only in the part of the question that asks (小区好多人遛狗，… tells, it does not ask).
_ASKED_HERE = r"(?=[^，,。；;！!？?]{0,10}(?:[？?]|$))"  # in the part of the question that asks
_ASKING_FORMS = (
    (
        re.compile(
            r"(?:(?<![有很这那太])好多(?=[个张次回家所名位条间座项人])|好多(?=[天年月日周岁公里米元块钱]|小时))"
            + _ASKED_HERE
        ),
        "多少",
    ),
    (re.compile(r"(?<![有很这那太])好久(?!没|不|以前|之前|了|都)" + _ASKED_HERE), "什么时候"),
    (re.compile(r"哪个时候|啥子时候|哪阵子?"), "什么时候"),
    # 好几次, 头几年, 前几天, 十几分钟: "a few", not "how many" (问好几次, 生下来头几年最关键).
    (re.compile(r"(?<=[好头前这那十])几(?=[个次回天年月周岁分所家条项名位])"), "些"),
)


def asking_form(question: str) -> str:
    """Return the question with regional ways of asking how many and when in standard Mandarin."""
    for pattern, standard in _ASKING_FORMS:
        question = pattern.sub(standard, question)
    return question


# A part of a question that asks: it ends in a question particle or mark, or holds a question word or an
# A-not-A form (管不管, 有没有).
_SEGMENT = re.compile(r"[^，,。；;！!？?]+[？?]?")
_ASKS = re.compile(
    r"[？?吗呢伐嘛么不没]\s*$|([\u4e00-\u9fff])[不没]\1|有没有|是否|能否|可否|什么|啥|哪|谁|几|多少|怎|如何"
)


def asking_part(question: str) -> str:
    """Return the parts of the question that ask (the last part when none does), joined by commas:
    热水壶、电饭锅老怕小孩去碰，有没有推广带童锁的家电 -> 有没有推广带童锁的家电."""
    parts = [p.strip() for p in _SEGMENT.findall(question) if p.strip()]
    asking = [p for p in parts if _ASKS.search(p)]
    return "，".join(asking or parts[-1:])


def asked_detail(question: str, types: Sequence[DetailType] = DETAIL_TYPES) -> DetailType | None:
    """Return the kind of detail the question asks for (the first type whose wording matches), or None."""
    question = asking_form(question)
    for detail in types:
        if detail.asked_in(question):
            return detail
    return None


def states_detail(detail: DetailType, text: str, question: str = "") -> bool:
    """True when `text` states a detail of this kind (a sum in 元, a time of day, an address...)."""
    return detail.states(text, question)
