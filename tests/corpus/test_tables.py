"""大渡口 专栏一 indicator table (one record per row) and 专栏二..八 project boxes."""

from __future__ import annotations

from corpus.models import KIND_HEADING, KIND_INDICATOR, KIND_PROJECT, Document
from corpus.tables import parse_table, unit_fields
from tests.corpus.conftest import clause_at

HEALTH, SAFETY, EDUCATION, WELFARE, FAMILY, ENVIRONMENT, LAW = (
    "儿童与健康",
    "儿童与安全",
    "儿童与教育",
    "儿童与福利",
    "儿童与家庭",
    "儿童与环境",
    "儿童与法律",
)
WJW, JW = "区卫健委", "区教委"
JW_WJW = "区教委、区卫健委"
GA_JW_WJW = "区公安分局、区教委、区卫健委"
NYNC = "区农业农村委"
BINDING, EXPECTED = "约束性", "预期性"

# (category, 序号, 指标名称（单位）, 2030年目标, 属性, 责任单位) for every row, sub-rows included.
INDICATOR_ROWS = [
    (HEALTH, "1", "新生儿死亡率（‰）", "＜1.3", BINDING, WJW),
    (HEALTH, "2", "婴儿死亡率（‰）", "＜2.3", BINDING, WJW),
    (HEALTH, "3", "6个月内婴儿纯母乳喂养率（%）", "≥70", EXPECTED, WJW),
    (HEALTH, "4", "5岁以下儿童死亡率（‰）", "＜3.5", BINDING, WJW),
    (HEALTH, "5", "5岁以下儿童贫血率（%）", "＜4", BINDING, WJW),
    (HEALTH, "6", "5岁以下儿童生长迟缓率（%）", "＜3", BINDING, WJW),
    (HEALTH, "7", "新生儿访视率（%）", "≥90", EXPECTED, WJW),
    (HEALTH, "8", "以镇（街道）为单位的适龄儿童免疫规划疫苗接种率（%）", "≥95", EXPECTED, WJW),
    (HEALTH, "9", "3岁以下儿童系统管理率（%）", "≥94", EXPECTED, WJW),
    (HEALTH, "10", "7岁以下儿童健康管理率（%）", "≥92", EXPECTED, WJW),
    (HEALTH, "11", "小学生近视率（%）", "＜38", EXPECTED, JW_WJW),
    (HEALTH, "11", "初中生近视率（%）", "＜60", EXPECTED, JW_WJW),
    (HEALTH, "11", "高中阶段学生近视率（%）", "＜70", EXPECTED, JW_WJW),
    (HEALTH, "12", "0—6岁儿童眼保健和视力检查覆盖率（%）", "≥90", EXPECTED, WJW),
    (HEALTH, "13", "中小学生《国家学生体质健康标准》达标优良率（%）", "≥60", EXPECTED, JW),
    (HEALTH, "14", "每千名（0-14岁）儿童拥有医疗床位数（张）", "≥3.17", EXPECTED, WJW),
    (HEALTH, "15", "每千名（0-14岁）儿童拥有儿科执业（助理）医生数（名）", "≥1.12", EXPECTED, WJW),
    (
        HEALTH,
        "15",
        "每所镇卫生院、社区卫生服务中心配备提供规范儿童基本医疗服务的全科医生数（名）",
        "≥1",
        EXPECTED,
        WJW,
    ),
    (HEALTH, "15", "每所镇卫生院、社区卫生服务中心配备专业从事儿童保健的医生数（名）", "≥2", EXPECTED, WJW),
    (HEALTH, "16", "12岁儿童龋患率（%）", "＜25", BINDING, WJW),
    (HEALTH, "17", "小学生每天睡眠时间（小时）", "≥10", EXPECTED, JW),
    (HEALTH, "17", "初中生每天睡眠时间（小时）", "≥9", EXPECTED, JW),
    (HEALTH, "17", "高中生每天睡眠时间（小时）", "≥8", EXPECTED, JW),
    (HEALTH, "18", "儿童自杀、自伤率（‰）", "下降", EXPECTED, GA_JW_WJW),
    (SAFETY, "19", "儿童意外伤害死亡率（‰）", "＜0.1", BINDING, GA_JW_WJW),
    (SAFETY, "20", "儿童暴力伤害发生率（‰）", "减少", EXPECTED, GA_JW_WJW),
    (EDUCATION, "21", "学前三年毛入园率（%）", "≥93", BINDING, JW),
    (EDUCATION, "22", "学前教育普惠率（%）", "≥85", EXPECTED, JW),
    (EDUCATION, "23", "九年义务教育巩固率（%）", "≥99", BINDING, JW),
    (EDUCATION, "24", "高中阶段毛入学率（%）", "≥98.5", EXPECTED, JW),
    (WELFARE, "25", "普惠托育服务机构数量（个）", "增加", EXPECTED, WJW),
    (WELFARE, "26", "每千人口拥有3岁以下婴幼儿托位数（个）", "≥4.5", EXPECTED, WJW),
    (WELFARE, "27", "儿童参加城乡居民基本医疗保险覆盖率（%）", "巩固提高", EXPECTED, "区医保局"),
    (WELFARE, "28", "残疾儿童康复服务覆盖率（%）", "提高", EXPECTED, "区残联"),
    (WELFARE, "29", "0-6岁残疾儿童康复救助人数（人）", "提高", EXPECTED, "区残联"),
    (FAMILY, "30", "城区社区中家长学校或家庭教育指导服务站点覆盖率（%）", "≥95", EXPECTED, "区妇联、区教委"),
    (
        FAMILY,
        "31",
        "农村社区（村）中家长学校或家庭教育指导服务站点覆盖率（%）",
        "≥90",
        EXPECTED,
        "区妇联、区教委",
    ),
    (ENVIRONMENT, "32", "农村集中供水率（%）", "提高", EXPECTED, NYNC),
    (ENVIRONMENT, "33", "农村自来水普及率（%）", "≥90", EXPECTED, NYNC),
    (ENVIRONMENT, "34", "农村水质达标率（%）", "提高", EXPECTED, NYNC),
    (ENVIRONMENT, "35", "农村供水保证率（%）", "提高", EXPECTED, NYNC),
    (ENVIRONMENT, "36", "农村卫生厕所普及率（%）", "明显提高", EXPECTED, NYNC),
    (LAW, "37", "未成年人犯罪人数占未成年人人口数量的比重（%）", "降低", BINDING, "区法院"),
    (LAW, "38", "抓获刑事案件犯罪嫌疑人中未成年人占比（%）", "降低", BINDING, "区公安分局"),
    (LAW, "39", "镇（街道）未成年人保护工作站覆盖率（%）", "100", EXPECTED, "区民政局"),
]

BOX_ONE = "专栏一 2021—2030年大渡口区儿童发展主要指标"

# (box, project name, 责任单位 or None when the box does not state one)
PROJECTS = [
    ("专栏二", "儿童医务人员提升项目", "区卫健委"),
    ("专栏二", "儿童早期发展服务促进项目", "区卫健委"),
    ("专栏三", "儿童安全宣传教育项目", None),
    ("专栏三", "儿童伤害监测系统建设项目", None),
    ("专栏四", "智慧教育提升项目", "区教委"),
    ("专栏四", "儿童科学素质提升项目", None),
    ("专栏五", "托育服务机构规范化项目", None),
    ("专栏六", "家庭教育促进项目", None),
    ("专栏七", "儿童服务社会组织培育项目", None),
    ("专栏七", "公园适儿化建设改造项目", None),
    ("专栏八", "儿童防性侵治理项目", None),
]


def test_every_indicator_row(documents: dict[str, Document]) -> None:
    rows = [c for c in documents["dadukou-plan"].clauses if c.kind == KIND_INDICATOR]
    got = [
        (
            c.fields["category"],
            c.fields["number"],
            c.fields["indicator"],
            c.fields["target_2030"],
            c.fields["attribute"],
            c.fields["responsible_unit"],
        )
        for c in rows
    ]
    assert got == INDICATOR_ROWS
    assert [c.number for c in rows] == [row[1] for row in INDICATOR_ROWS]
    assert all(c.path == ("一、总体思路", "（三）主要目标。", BOX_ONE) for c in rows)


def test_sub_rows_inherit_their_group_number(documents: dict[str, Document]) -> None:
    rows = [c for c in documents["dadukou-plan"].clauses if c.kind == KIND_INDICATOR]
    sub_rows = [(c.number, c.fields["indicator"]) for c in rows if c.fields.get("sub_row") == "true"]
    assert sub_rows == [
        ("11", "初中生近视率（%）"),
        ("11", "高中阶段学生近视率（%）"),
        ("15", "每所镇卫生院、社区卫生服务中心配备提供规范儿童基本医疗服务的全科医生数（名）"),
        ("15", "每所镇卫生院、社区卫生服务中心配备专业从事儿童保健的医生数（名）"),
        ("17", "初中生每天睡眠时间（小时）"),
        ("17", "高中生每天睡眠时间（小时）"),
    ]


def test_indicator_row_renders_as_one_line_with_its_span(documents: dict[str, Document]) -> None:
    doc = documents["dadukou-plan"]
    first = clause_at(doc, 73)  # the category cell "儿/童/与/健/康" opens row 1
    assert first.lines == (73, 86)
    assert "\n" not in first.text
    assert first.text == (
        "类别：儿童与健康；序号：1；指标名称（单位）：新生儿死亡率（‰）；2030年规划：＜1.3；"
        "指标属性：约束性；责任单位：区卫健委"
    )
    assert first.fields["unit"] == "‰"
    split_value = clause_at(doc, 332)  # target "巩固" / "提高" on two lines
    assert split_value.lines == (332, 338) and split_value.fields["target_2030"] == "巩固提高"


def test_box_heading_keeps_the_table_header(documents: dict[str, Document]) -> None:
    box = clause_at(documents["dadukou-plan"], 60)
    assert box.kind == KIND_HEADING and box.number == "专栏一"
    assert box.lines == (60, 71)
    assert box.fields["columns"] == "类别 | 序号 | 指标名称（单位） | 2030年规划 | 指标属性 | 责任单位"


def test_every_project(documents: dict[str, Document]) -> None:
    projects = [c for c in documents["dadukou-plan"].clauses if c.kind == KIND_PROJECT]
    got = [(c.fields["box"], c.fields["name"], c.fields.get("responsible_unit")) for c in projects]
    assert got == PROJECTS
    for clause in projects:
        assert clause.path[-1] == clause.fields["box"] + "  " + clause.fields["box_title"]
        assert clause.text.strip().startswith(clause.fields["name"] + "：")
        assert clause.lines[0] == clause.lines[1]


def test_project_printed_before_its_box_title_joins_that_box(documents: dict[str, Document]) -> None:
    # "托育服务机构规范化项目" (line 521) precedes "专栏五  儿童福利提升重点工程" (line 524).
    doc = documents["dadukou-plan"]
    project = clause_at(doc, 521)
    assert project.path == (
        "二、重点任务",
        "（四）推进儿童普惠福利体系建设。",
        "专栏五  儿童福利提升重点工程",
    )
    box = clause_at(doc, 524)
    assert box.kind == KIND_HEADING and box.path == ("二、重点任务", "（四）推进儿童普惠福利体系建设。")


def test_boxes_sit_beside_the_items_of_their_section(documents: dict[str, Document]) -> None:
    doc = documents["dadukou-plan"]
    boxes = {c.number: c.path for c in doc.clauses if c.number and c.number.startswith("专栏")}
    assert boxes["专栏二"] == ("二、重点任务", "（一）健全儿童医疗卫生服务体系。")
    assert boxes["专栏七"] == ("二、重点任务", "（六）优化促进儿童成长的社会环境。")
    assert boxes["专栏八"] == ("二、重点任务", "依法落实儿童法律保护体系。")


def test_constructed_table_with_a_wrapped_value_and_empty_cells() -> None:
    lines = [
        "\t序号",
        "\t指标",
        "\t2025年",
        "\t责任单位",
        "\t1",
        "\t托位数（个）",
        "\t≥4",
        "\t区卫健委",
        "\t",
        "\t入园率（%）",
        "\t稳步",
        "提高",
        "\t区教委",
        "正文段落不属于表格，应当结束表格。",
    ]
    table = parse_table(lines, 0)
    assert table is not None
    assert [row.fields for row in table.rows] == [
        {
            "number": "1",
            "indicator": "托位数（个）",
            "target_2025": "≥4",
            "responsible_unit": "区卫健委",
            "unit": "个",
        },
        {
            "number": "1",
            "indicator": "入园率（%）",
            "target_2025": "稳步提高",
            "responsible_unit": "区教委",
            "unit": "%",
        },
    ]
    assert table.end == 13
    assert parse_table(["正文。", "\t1"], 0) is None


def test_unit_fields() -> None:
    assert unit_fields("……（责任单位：区卫健委）") == {"responsible_unit": "区卫健委"}
    assert unit_fields("…。(牵头单位:区卫健委,参与单位:区教委、区残联)") == {
        "lead_unit": "区卫健委",
        "participating_units": "区教委、区残联",
    }
    assert unit_fields("没有责任说明。") == {}
