"""Real clauses of the five bundled documents: number, section path, span and verbatim text."""

from __future__ import annotations

import re

import pytest

from corpus.models import KIND_CLAUSE, KIND_HEADING, KIND_PREAMBLE, Document
from corpus.parse import parse_document
from tests.conftest import CORPUS_DIR
from tests.corpus.conftest import DOC_IDS, clause_at

YZ_NOTICE = "重庆市渝中区人民政府办公室关于印发《渝中区儿童友好城市建设三年行动计划(2024-2026年)》的通知"
YZ4 = "四、具体举措"
YZ4_1 = "(一)推进社会政策友好,践行儿童友好理念"
YZ4_2 = "(二)推进成长空间友好,提升城市空间品质及服务效能"
YZ4_3 = "(三)推进公共服务友好,整合全社会资源增进儿童福祉"
YZ4_4 = "(四)推进发展环境友好,优化儿童健康成长社会环境"
YZ4_5 = "(五)推进儿童产业友好,满足儿童多元发展需要"
DDK_NOTICE = "重庆市大渡口区人民政府关于印发大渡口区儿童发展规划（2021—2030年）的通知"
DDK2 = "二、重点任务"
GX2 = "二、建设任务"
CN_NOTICE = "上海市长宁区人民政府办公室关于印发《上海市长宁区推进儿童友好城区建设行动计划》的通知"
CN2 = "二、建设任务"
CN2_1 = "(一)深化儿童友好制度保障行动"

# (doc id, first line, last line, number as printed, section path, kind, text starts, text ends)
PINNED = [
    ("yuzhong-plan", 13, 13, None, (), KIND_HEADING, "重庆市渝中区人民政府办公室关于印发", "》的通知"),
    ("yuzhong-plan", 19, 27, None, (YZ_NOTICE,), KIND_PREAMBLE, "区政府各部门、各管委会", "(此件公开发布)"),
    (
        "yuzhong-plan",
        29,
        31,
        None,
        (),
        KIND_HEADING,
        "重庆市渝中区儿童友好城市建设三年行动计划",
        "(2024—2026年)",
    ),
    (
        "yuzhong-plan",
        33,
        33,
        None,
        (),
        KIND_PREAMBLE,
        "《中华人民共和国国民经济",
        "结合渝中区实际制定本行动计划。",
    ),
    (
        "yuzhong-plan",
        35,
        37,
        "一、",
        (),
        KIND_CLAUSE,
        "一、指导思想\n\n坚持以习近平",
        "渝中更美好”发展愿景。",
    ),
    (
        "yuzhong-plan",
        41,
        43,
        "(一)",
        ("二、基本原则",),
        KIND_CLAUSE,
        "(一)儿童优先,普惠共享\n\n在公共事业",
        "安全的服务。",
    ),
    (
        "yuzhong-plan",
        63,
        63,
        "(二)",
        ("三、行动目标及重点方向",),
        KIND_HEADING,
        "(二)重点方向。",
        "重点方向。",
    ),
    (
        "yuzhong-plan",
        65,
        65,
        None,
        ("三、行动目标及重点方向", "(二)重点方向。"),
        KIND_CLAUSE,
        "——形成“社区友好”",
        "儿童友好社区。",
    ),
    ("yuzhong-plan", 73, 75, "四、", (), KIND_CLAUSE, "四、具体举措\n\n未来三年", "实施46项重点工作。"),
    ("yuzhong-plan", 77, 77, "(一)", (YZ4,), KIND_HEADING, YZ4_1, "践行儿童友好理念"),
    ("yuzhong-plan", 79, 79, "1.", (YZ4, YZ4_1), KIND_HEADING, "1.加强儿童友好规划顶层设计。", "顶层设计。"),
    (
        "yuzhong-plan",
        81,
        83,
        "(1)",
        (YZ4, YZ4_1, "1.加强儿童友好规划顶层设计。"),
        KIND_CLAUSE,
        "(1)编制实施儿童发展规划。\n\n开展",
        "各成员单位)",
    ),
    (
        "yuzhong-plan",
        137,
        139,
        "(12)",
        (YZ4, YZ4_2, "6.保障儿童成长空间。"),
        KIND_CLAUSE,
        "(12)推进儿童友好景区建设\n",
        "区城管局)",
    ),
    (
        "yuzhong-plan",
        161,
        163,
        "(17)",
        (YZ4, YZ4_3, "7.提升儿童教育卫生福利保障水平。"),
        KIND_CLAUSE,
        "(17)加快婴幼儿照护服务发展。\n\n制定实施",
        "参与单位:区教委)",
    ),
    (
        "yuzhong-plan",
        201,
        203,
        "(27)",
        (YZ4, YZ4_3, "7.提升儿童教育卫生福利保障水平。"),
        KIND_CLAUSE,
        "(27)加强困境儿童分类保障。",
        "各街道办事处)",
    ),
    (
        "yuzhong-plan",
        273,
        275,
        "(43)",
        (YZ4, YZ4_4, "10.筑牢儿童安全发展屏障。"),
        KIND_CLAUSE,
        "(43)加强未成年人保护。",
        "各成员单位)",
    ),
    (
        "yuzhong-plan",
        289,
        291,
        "(46)",
        (YZ4, YZ4_5, "11.升级建设儿童产业和商圈。"),
        KIND_CLAUSE,
        "(46)打造一批儿童友好产品。",
        "(牵头单位:区商务委)",
    ),
    (
        "yuzhong-plan",
        295,
        295,
        "(一)",
        ("五、组织实施",),
        KIND_CLAUSE,
        "(一)加强组织领导。成立",
        "区妇儿工委办)",
    ),
    ("yuzhong-plan", 303, 303, "(五)", ("五、组织实施",), KIND_CLAUSE, "(五)强化宣传交流。", "各成员单位)。"),
    (
        "yuzhong-interpretation",
        13,
        13,
        None,
        (),
        KIND_HEADING,
        "《重庆市渝中区儿童友好城市建设",
        "》政策解读",
    ),
    (
        "yuzhong-interpretation",
        19,
        19,
        None,
        (),
        KIND_PREAMBLE,
        "近日,重庆市渝中区人民政府办公室印发",
        "现作如下解读。",
    ),
    (
        "yuzhong-interpretation",
        21,
        23,
        "一、",
        (),
        KIND_CLAUSE,
        "一、政策出台背景\n\n国家",
        "牵头制定了《行动计划》。",
    ),
    ("yuzhong-interpretation", 29, 29, "三、", (), KIND_HEADING, "三、主要内容", "主要内容"),
    (
        "yuzhong-interpretation",
        31,
        31,
        "(一)",
        ("三、主要内容",),
        KIND_CLAUSE,
        "(一)工作举措。《行动计划》",
        "3项具体举措。",
    ),
    (
        "yuzhong-interpretation",
        37,
        39,
        "(一)",
        ("四、核心政策问答",),
        KIND_CLAUSE,
        "(一)为什么要制定《重庆市",
        "落实建设任务。",
    ),
    (
        "yuzhong-interpretation",
        53,
        55,
        "(五)",
        ("四、核心政策问答",),
        KIND_CLAUSE,
        "(五)如何确保《行动计划》",
        "按期推进。",
    ),
    (
        "yuzhong-interpretation",
        57,
        59,
        "五、",
        (),
        KIND_CLAUSE,
        "五、专家视角\n\n区妇儿工委办主要负责人",
        "发展愿景。",
    ),
    (
        "dadukou-plan",
        2,
        6,
        None,
        (),
        KIND_HEADING,
        "大渡口府发〔2023〕7号\n重庆市大渡口区人民政府",
        "（2021—2030年）的通知",
    ),
    (
        "dadukou-plan",
        8,
        15,
        None,
        (DDK_NOTICE,),
        KIND_PREAMBLE,
        "各镇人民政府，各街道办事处",
        "（此件主动公开）",
    ),
    ("dadukou-plan", 17, 19, None, (), KIND_HEADING, "重庆市大渡口区儿童发展规划\n", "（2021-2030年）"),
    ("dadukou-plan", 24, 24, None, (), KIND_PREAMBLE, "为关爱儿童健康成长", "未满十八周岁的公民。"),
    ("dadukou-plan", 26, 26, "一、", (), KIND_HEADING, "一、总体思路", "总体思路"),
    (
        "dadukou-plan",
        28,
        30,
        "（一）",
        ("一、总体思路",),
        KIND_CLAUSE,
        "（一）指导思想。\n\n高举",
        "时代新人。",
    ),
    ("dadukou-plan", 32, 32, "（二）", ("一、总体思路",), KIND_HEADING, "（二）基本原则。", "基本原则。"),
    (
        "dadukou-plan",
        34,
        34,
        "1.",
        ("一、总体思路", "（二）基本原则。"),
        KIND_CLAUSE,
        "1. 坚持党的全面领导。",
        "全过程和各方面。",
    ),
    (
        "dadukou-plan",
        44,
        46,
        "（三）",
        ("一、总体思路",),
        KIND_CLAUSE,
        "（三）主要目标。\n\n统筹推进",
        "安全感明显增强。",
    ),
    (
        "dadukou-plan",
        48,
        48,
        "1．",
        ("一、总体思路", "（三）主要目标。"),
        KIND_CLAUSE,
        "1．儿童健康水平整体提高。",
        "整体提升。",
    ),
    (
        "dadukou-plan",
        57,
        57,
        "6．",
        ("一、总体思路", "（三）主要目标。"),
        KIND_CLAUSE,
        "6．儿童发展环境不断优化。",
        "持续优化。",
    ),
    (
        "dadukou-plan",
        59,
        59,
        "7．",
        ("一、总体思路", "（三）主要目标。"),
        KIND_CLAUSE,
        "7．儿童权益法律保护更加有力。",
        "明显减少。",
    ),
    (
        "dadukou-plan",
        454,
        454,
        "1．",
        (DDK2, "（一）健全儿童医疗卫生服务体系。"),
        KIND_CLAUSE,
        "1．优化儿童公共卫生服务和管理。",
        "示范区。",
    ),
    (
        "dadukou-plan",
        464,
        464,
        "6.",
        (DDK2, "（一）健全儿童医疗卫生服务体系。"),
        KIND_CLAUSE,
        "6. 将性与生殖健康教育",
        "女童人流状况。",
    ),
    (
        "dadukou-plan",
        478,
        478,
        "4．",
        (DDK2, "（二）完善多维立体儿童安全防护网络。"),
        KIND_CLAUSE,
        "4．预防和遏制儿童暴力伤害",
        "综合治理工作。",
    ),
    (
        "dadukou-plan",
        549,
        549,
        "5.",
        (DDK2, "（六）优化促进儿童成长的社会环境。"),
        KIND_CLAUSE,
        "5. 优化儿童健康成长的人居环境。",
        "绿化覆盖率。",
    ),
    (
        "dadukou-plan",
        561,
        561,
        "3.",
        (DDK2, "依法落实儿童法律保护体系。"),
        KIND_CLAUSE,
        "3. 加强儿童保护法治宣传教育。",
        "法治实践活动。",
    ),
    (
        "dadukou-plan",
        565,
        565,
        "5.",
        (DDK2, "依法落实儿童法律保护体系。"),
        KIND_CLAUSE,
        "5. 有效预防未成年人违法犯罪。",
        "免受歧视。",
    ),
    (
        "dadukou-plan",
        573,
        573,
        "（一）",
        ("三、组织实施",),
        KIND_CLAUSE,
        "（一）明确实施责任。",
        "督促工作。",
    ),
    (
        "dadukou-plan",
        589,
        593,
        "（一）",
        ("四、监测评估",),
        KIND_CLAUSE,
        "（一）完善监测评估制度体系。",
        "中期和终期评估报告。",
    ),
    (
        "dadukou-plan",
        599,
        599,
        "（四）",
        ("四、监测评估",),
        KIND_CLAUSE,
        "（四）加强监测评估成果运用。",
        "目标任务的完成。",
    ),
    ("guangxi-plan", 4, 4, None, (), KIND_HEADING, "城市实践 | 广西推进", "建设实施方案"),
    ("guangxi-plan", 8, 8, None, (), KIND_PREAMBLE, "为深入贯彻落实国家发展改革委", "制定本方案。"),
    (
        "guangxi-plan",
        12,
        12,
        "(一)",
        ("一、总体要求",),
        KIND_CLAUSE,
        "(一)指导思想。坚持以习近平",
        "提供保障。",
    ),
    ("guangxi-plan", 14, 14, "(二)", ("一、总体要求",), KIND_HEADING, "(二)基本原则", "基本原则"),
    (
        "guangxi-plan",
        16,
        16,
        None,
        ("一、总体要求", "(二)基本原则"),
        KIND_CLAUSE,
        "——儿童优先,普惠共享。",
        "增进儿童福祉。",
    ),
    (
        "guangxi-plan",
        22,
        22,
        None,
        ("一、总体要求", "(二)基本原则"),
        KIND_CLAUSE,
        "——多元联动,凝聚合力。",
        "建设的合力。",
    ),
    ("guangxi-plan", 24, 24, "(三)", ("一、总体要求",), KIND_CLAUSE, "(三)主要目标。到2025年", "重要标识。"),
    (
        "guangxi-plan",
        30,
        30,
        "1.",
        (GX2, "(一)推进社会政策友好,努力践行儿童友好理念"),
        KIND_CLAUSE,
        "1.强化儿童优先发展规划引导。",
        "各设区市人民政府)",
    ),
    (
        "guangxi-plan",
        48,
        48,
        "9.",
        (GX2, "(二)推进公共服务友好,充分满足儿童成长发展需要"),
        KIND_CLAUSE,
        "9.加强儿童健康保障体系建设关注生命早期1000天",
        "各设区市人民政府)",
    ),
    (
        "guangxi-plan",
        94,
        94,
        "29.",
        (GX2, "(五)推进发展环境友好,优化儿童健康成长社会环境"),
        KIND_CLAUSE,
        "29.积极预防未成年人犯罪。",
        "各设区市人民政府)",
    ),
    (
        "guangxi-plan",
        98,
        98,
        "(一)",
        ("三、实施保障",),
        KIND_CLAUSE,
        "(一)加强组织领导发挥党委领导",
        "各设区市人民政府)",
    ),
    (
        "guangxi-plan",
        106,
        106,
        "(五)",
        ("三、实施保障",),
        KIND_CLAUSE,
        "(五)强化宣传交流。",
        "民政厅,团区委)",
    ),
    ("changning-plan", 1, 1, None, (), KIND_HEADING, "上海市长宁区人民政府办公室关于印发", "》的通知"),
    ("changning-plan", 7, 13, None, (CN_NOTICE,), KIND_PREAMBLE, "区政府各委、办、局", "2024年3月27日"),
    (
        "changning-plan",
        15,
        15,
        None,
        (),
        KIND_HEADING,
        "上海市长宁区推进儿童友好城区建设行动计划",
        "建设行动计划",
    ),
    ("changning-plan", 17, 17, None, (), KIND_PREAMBLE, "\u2003\u2003儿童是国家的未来", "制定本行动计划。"),
    (
        "changning-plan",
        21,
        23,
        "(一)",
        ("一、总体要求",),
        KIND_CLAUSE,
        "\u2003\u2003(一)指导思想\n\n",
        "儿童友好城区。",
    ),
    (
        "changning-plan",
        35,
        39,
        "(三)",
        ("一、总体要求",),
        KIND_CLAUSE,
        "\u2003\u2003(三)工作目标",
        "贡献力量。",
    ),
    (
        "changning-plan",
        43,
        45,
        "(一)",
        (CN2,),
        KIND_CLAUSE,
        "\u2003\u2003(一)深化儿童友好制度保障行动\n\n\u2003\u2003行动目标",
        "建言献策。",
    ),
    (
        "changning-plan",
        47,
        47,
        "1.",
        (CN2, CN2_1),
        KIND_HEADING,
        "\u2003\u20031.强化发展规划引领",
        "规划引领",
    ),
    (
        "changning-plan",
        49,
        49,
        "(1)",
        (CN2, CN2_1, "1.强化发展规划引领"),
        KIND_CLAUSE,
        "\u2003\u2003(1)将儿童友好城区建设",
        "充分考虑儿童需求。",
    ),
    (
        "changning-plan",
        63,
        63,
        "(7)",
        (CN2, CN2_1, "2.完善建设标准指引"),
        KIND_CLAUSE,
        "\u2003\u2003(7)及时对标",
        "标准指引并落实。",
    ),
    (
        "changning-plan",
        87,
        87,
        "(16)",
        (CN2, CN2_1, "5.鼓励社会力量参与"),
        KIND_CLAUSE,
        "\u2003\u2003(16)鼓励社会资本",
        "成长体验营等活动。",
    ),
    (
        "changning-plan",
        147,
        147,
        "(39)",
        (CN2, "(二)完善儿童友好服务体系行动", "10.丰富校外活动资源"),
        KIND_CLAUSE,
        "\u2003\u2003(39)区青少年科创中心",
        "2025年竣工。",
    ),
    (
        "changning-plan",
        273,
        275,
        "(六)",
        (CN2,),
        KIND_CLAUSE,
        "\u2003\u2003(六)实施综合保障行动",
        "建设合力。",
    ),
    (
        "changning-plan",
        299,
        299,
        "(89)",
        (CN2, "(六)实施综合保障行动", "28.完善监测评估应用"),
        KIND_CLAUSE,
        "\u2003\u2003(89)加强区、街镇",
        "实施年度监测。",
    ),
    (
        "changning-plan",
        301,
        301,
        "(90)",
        (CN2, "(六)实施综合保障行动", "28.完善监测评估应用"),
        KIND_CLAUSE,
        "\u2003\u2003(90)各部门对照本行动计划",
        "报工作协调小组。",
    ),
]


@pytest.mark.parametrize(("doc_id", "first", "last", "number", "path", "kind", "starts", "ends"), PINNED)
def test_pinned_clause(
    documents: dict[str, Document],
    source_lines: dict[str, list[str]],
    doc_id: str,
    first: int,
    last: int,
    number: str | None,
    path: tuple[str, ...],
    kind: str,
    starts: str,
    ends: str,
) -> None:
    clause = clause_at(documents[doc_id], first)
    assert clause.lines == (first, last)
    assert clause.number == number
    assert clause.path == path
    assert clause.kind == kind
    assert clause.text.startswith(starts), clause.text[:60]
    assert clause.text.rstrip().endswith(ends), clause.text[-60:]
    assert clause.text == "\n".join(source_lines[doc_id][first - 1 : last]), "text is the exact source slice"


def test_pins_cover_every_document() -> None:
    assert len(PINNED) >= 40
    assert {pin[0] for pin in PINNED} == set(DOC_IDS)


def test_heading_on_its_own_line_is_joined_with_its_body(documents: dict[str, Document]) -> None:
    # 渝中 "(17)加快婴幼儿照护服务发展。" is printed on its own line, its body two lines below.
    clause = clause_at(documents["yuzhong-plan"], 161)
    heading, blank, body = clause.text.split("\n")
    assert (heading, blank) == ("(17)加快婴幼儿照护服务发展。", "")
    assert body.startswith("制定实施本区托育服务建设发展规划")
    assert clause.fields["heading"] == "(17)加快婴幼儿照护服务发展。"
    assert clause.fields["lead_unit"] == "区卫健委" and clause.fields["participating_units"] == "区教委"


@pytest.mark.parametrize(
    ("doc_id", "first", "heading"),
    [
        ("guangxi-plan", 48, "9.加强儿童健康保障体系建设"),
        ("guangxi-plan", 98, "(一)加强组织领导"),
    ],
)
def test_heading_glued_to_its_body_is_split(
    documents: dict[str, Document], doc_id: str, first: int, heading: str
) -> None:
    clause = clause_at(documents[doc_id], first)
    assert clause.fields["heading"] == heading
    assert clause.text.startswith(heading) and len(clause.text) > len(heading) + 50, "text stays verbatim"


def test_untitled_items_use_their_number_as_heading(documents: dict[str, Document]) -> None:
    # 长宁 "(1)…" items are single sentences without a title of their own.
    assert clause_at(documents["changning-plan"], 49).fields["heading"] == "(1)"
    assert clause_at(documents["dadukou-plan"], 48).fields["heading"] == "1．儿童健康水平整体提高。"


def test_missing_item_number_keeps_its_section(documents: dict[str, Document]) -> None:
    # 大渡口 (六): 1., 2., 3., "加强儿童校外活动场所建设和管理。…" (its "4." is lost), 5., 6.
    doc = documents["dadukou-plan"]
    lost = clause_at(doc, 547)
    assert lost.number is None
    assert lost.path == (DDK2, "（六）优化促进儿童成长的社会环境。")
    assert lost.fields["inferred_number"] == "4．"
    assert lost.text.startswith("加强儿童校外活动场所建设和管理。深化")
    siblings = [c.number for c in doc.clauses if c.path == lost.path and c.kind == KIND_CLAUSE]
    assert siblings == ["1.", "2．", "3．", None, "5.", "6."]


def test_heading_printed_without_number_is_recovered(documents: dict[str, Document]) -> None:
    # 大渡口 (七) is printed as "依法落实儿童法律保护体系。" with its items 1. and 2. unnumbered.
    doc = documents["dadukou-plan"]
    heading = clause_at(doc, 557)
    assert heading.kind == KIND_HEADING and heading.number is None
    assert heading.path == (DDK2,)
    assert heading.fields["inferred_number"] == "（七）"
    section = (DDK2, "依法落实儿童法律保护体系。")
    items = [
        (c.lines[0], c.number, c.fields.get("inferred_number")) for c in doc.clauses if c.path == section
    ]
    assert items[:5] == [
        (558, None, "1."),
        (560, None, "2."),
        (561, "3.", None),
        (563, "4.", None),
        (565, "5.", None),
    ]


def test_lead_items_under_their_heading(documents: dict[str, Document]) -> None:
    doc = documents["changning-plan"]
    leads = [c for c in doc.clauses if c.fields.get("marker") == "——"]
    assert [c.fields["heading"] for c in leads] == [
        "——儿童优先、普惠共享。",
        "——因地制宜、创新引领。",
        "——统筹协调、重点突破。",
        "——多元参与、凝聚发展。",
    ]
    assert all(c.path == ("一、总体要求", "(二)基本原则") for c in leads)


def test_clause_counts_are_sensible(documents: dict[str, Document]) -> None:
    def count(doc_id: str, pattern: str) -> int:
        return sum(1 for c in documents[doc_id].clauses if c.number and re.fullmatch(pattern, c.number))

    # 渝中 46 measures (1)-(46), 长宁 90 measures (1)-(90), 广西 29 tasks 1.-29.
    assert count("yuzhong-plan", r"\(\d+\)") == 46
    assert count("changning-plan", r"\(\d+\)") == 90
    assert count("guangxi-plan", r"\d+\.") == 29
    for doc_id, doc in documents.items():
        assert 10 <= len(doc.clauses) <= 200, doc_id
        numbered = sum(c.number is not None for c in doc.clauses)
        assert numbered >= len(doc.clauses) // 2, doc_id
        assert all(len(c.text) < 1500 for c in doc.clauses), doc_id


def test_ids_are_stable_and_unique(documents: dict[str, Document]) -> None:
    for doc_id, doc in documents.items():
        again = parse_document(CORPUS_DIR / f"{doc_id}.txt")
        assert [c.id for c in again.clauses] == [c.id for c in doc.clauses]
        assert len({c.id for c in doc.clauses}) == len(doc.clauses)
        assert all(c.id.startswith(f"{doc_id}-") and c.doc_id == doc_id for c in doc.clauses)


def test_clauses_are_in_reading_order(documents: dict[str, Document]) -> None:
    for doc in documents.values():
        starts = [c.lines[0] for c in doc.clauses]
        assert starts == sorted(starts)
        assert all(c.lines[0] <= c.lines[1] for c in doc.clauses)
