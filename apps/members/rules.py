"""Member rules (DOMAIN.md §3–5) in one place.

Fixed rules (✅ in DOMAIN.md) are constants here; local practice (⚠️) is registered as an
admin-editable rule parameter with its default and read through `rule_value(...)`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import models

from apps.core.rules import register, rule_value

# --- §3.2 development timing (fixed) ---------------------------------------------------------
MIN_APPLICANT_AGE = 18  # 党章第一条
TALK_WITHIN_MONTHS = 1  # 收到入党申请书1个月内谈话
ACTIVIST_MIN_YEARS = 1  # 积极分子培养考察一年以上
MENTORS_MIN, MENTORS_MAX = 1, 2  # 培养联系人1–2名正式党员
SPONSORS = 2  # 入党介绍人2名正式党员
TRAINING_MIN_DAYS = Decimal("3")  # 集中培训≥3天
TRAINING_MIN_HOURS = Decimal("24")  # 或≥24学时
LEAVING_WITHIN_MONTHS = 3  # 3个月内将离开单位的一般不办接收手续
APPROVAL_MONTHS = 3  # 上级党委审批：3个月内
APPROVAL_MAX_MONTHS = 6  # 特殊情况≤6个月（须说明）
PROBATION_YEARS = 1  # 预备期1年，自支部大会通过之日起
EXTENSION_MIN_MONTHS, EXTENSION_MAX_MONTHS = 6, 12  # 延长预备期一次，6–12个月
TRANSFERRED_POSTPONE_MONTHS = 6  # 转入的预备党员期满时可推迟讨论转正，≤6个月
RECEIPT_MONTHS = 1  # 回执由接收方在接收后1个月内寄回 (DOMAIN §3.5)

# --- §3.3 lifecycle prompts (fixed) ----------------------------------------------------------
LOST_CONTACT_MONTHS = 6  # 失联≥6个月 → 提示停止党籍
SUSPENDED_YEARS = 2  # 停止党籍满2年 → 提示按自行脱党除名
CONTACT_EVERY_MONTHS = 6  # 出国（境）、流出党员：每半年至少联系1次
ABROAD_YEARS = 5  # 因私出国长期定居、出国学习研究超过5年未返回 → 一般停止党籍（提示）

# --- §4 dues (fixed) -------------------------------------------------------------------------
BACKPAY_MAX_MONTHS = 6  # 补交一般≤6个月
ARREARS_REVIEW_MONTHS = 6  # 连续6个月不交 → 支部待处理事项（自行脱党审查），不自动除名
CENTRAL_EXTRA_THRESHOLD = Decimal("1000")  # 一次自愿多交≥1000元全部上缴中央
FIXED_LOW_DUES = Decimal("0.20")  # 学生、下岗失业、领取救济/低保：每月0.2元
CENT = Decimal("0.01")

# --- §5 study hours (fixed) ------------------------------------------------------------------
STUDY_HOURS_MEMBER = Decimal("32")
STUDY_HOURS_LEADER = Decimal("56")

# --- ⚠️ local practice: admin-editable ---------------------------------------------------------
register(
    "members.publicity_working_days",
    5,
    "发展党员公示天数（工作日）",
    "确定积极分子、发展对象、接收预备党员、预备党员转正前的公示期，至少多少个工作日。",
    min_value=1,
    max_value=30,
)
register(
    "members.political_review_valid_months",
    12,
    "政审材料有效期（月）",
    "支部大会讨论接收时，政治审查结论须在此期限内。",
    min_value=1,
    max_value=36,
)
register(
    "members.min_months_application_to_activist",
    3,
    "申请→积极分子最短间隔（月）",
    "递交入党申请书至确定为入党积极分子的最短月数（各地3–6个月不等）。",
    min_value=0,
    max_value=24,
)
register(
    "members.activist_review_months",
    6,
    "积极分子考察间隔（月）",
    "支部对入党积极分子培养教育考察的间隔月数（多地为每半年一次）；到期未考察的列入待办。",
    min_value=1,
    max_value=12,
)
register(
    "members.transfer_valid_days",
    30,
    "组织关系介绍信有效期（天）",
    "组织关系转接申请/介绍信的有效天数（常见10–30天，最长一般3个月）。",
    min_value=1,
    max_value=180,
)
register(
    "members.farmer_monthly_dues",
    Decimal("0.20"),
    "农民党员每月党费（元）",
    "农民党员每月交纳党费金额（省级党委确定，0.2–1元）。",
    kind=Decimal,
    min_value=Decimal("0.20"),
    max_value=Decimal("1.00"),
)


def activist_review_months() -> int:
    return int(rule_value("members.activist_review_months"))


def publicity_working_days() -> int:
    return int(rule_value("members.publicity_working_days"))


# --- dues rate --------------------------------------------------------------------------------
class DuesKind(models.TextChoices):
    EMPLOYED = "employed", "在职（按月领取工资）"
    ANNUAL_SALARY = "annual_salary", "年薪制"
    SELF_EMPLOYED = "self_employed", "个体经营等不按月取得收入"
    RETIRED = "retired", "离退休"
    FARMER = "farmer", "农民"
    STUDENT = "student", "学生"
    UNEMPLOYED = "unemployed", "下岗失业/领取救济或低保"


# (inclusive upper bound, rate): a single bracket applies to the whole base (not progressive).
EMPLOYED_BRACKETS: tuple[tuple[Decimal | None, Decimal], ...] = (
    (Decimal("3000"), Decimal("0.005")),
    (Decimal("5000"), Decimal("0.01")),
    (Decimal("10000"), Decimal("0.015")),
    (None, Decimal("0.02")),
)
RETIRED_BRACKETS: tuple[tuple[Decimal | None, Decimal], ...] = (
    (Decimal("5000"), Decimal("0.005")),
    (None, Decimal("0.01")),
)
BASE_KINDS = frozenset(
    {DuesKind.EMPLOYED, DuesKind.ANNUAL_SALARY, DuesKind.SELF_EMPLOYED, DuesKind.RETIRED}
)


def dues_rate(kind: str, base: Decimal | None) -> Decimal:
    """The rate for `base` (0 for fixed-amount kinds). Upper bounds are inclusive."""
    if kind not in BASE_KINDS:
        return Decimal("0")
    brackets = RETIRED_BRACKETS if kind == DuesKind.RETIRED else EMPLOYED_BRACKETS
    for upper, rate in brackets:
        if upper is None or base <= upper:
            return rate
    raise AssertionError("unreachable")


def dues_monthly_amount(kind: str, base: Decimal | None) -> Decimal:
    """Monthly dues in yuan. Rounding: base × rate, half-up to the cent (ROUND_HALF_UP), e.g.
    3000.01 × 1% = 30.0001 → 30.00; 1234.50 × 0.5% = 6.1725 → 6.17."""
    if kind == DuesKind.FARMER:
        return Decimal(rule_value("members.farmer_monthly_dues")).quantize(CENT, ROUND_HALF_UP)
    if kind in (DuesKind.STUDENT, DuesKind.UNEMPLOYED):
        return FIXED_LOW_DUES
    if base is None or base < 0:
        raise ValueError("base required")
    return (Decimal(base) * dues_rate(kind, Decimal(base))).quantize(CENT, ROUND_HALF_UP)
