"""Roster import and export (Excel). Import is all-or-nothing: every row is validated first; any
problem → nothing is written and an error workbook (row, column, problem) comes back."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from openpyxl import Workbook, load_workbook

from apps.accounts.scope import can, orgs_visible_to
from apps.core import crypto
from apps.core.audit import audit_log
from apps.core.excel import excel_row
from apps.core.models import AuditAction
from apps.core.periods import add_years, local_today
from apps.members import rules
from apps.members.idcard import birth_date_of, gender_of, validate_id_number
from apps.members.models import (
    Education,
    Gender,
    Member,
    MemberStatus,
    MemberStatusChange,
    Occupation,
)
from apps.organizations.models import BRANCH_TYPES, Org

# Loose header matching: normalised header text → field.
HEADERS = {
    "姓名": "name",
    "性别": "gender",
    "公民身份号码": "id_number",
    "身份证号": "id_number",
    "身份证号码": "id_number",
    "身份证": "id_number",
    "民族": "ethnicity",
    "出生日期": "birth_date",
    "出生年月": "birth_date",
    "学历": "education",
    "文化程度": "education",
    "人员类别": "occupation",
    "身份": "occupation",
    "职业": "occupation",
    "入党日期": "joined_on",
    "入党时间": "joined_on",
    "转正日期": "confirmed_on",
    "转正时间": "confirmed_on",
    "工作单位及职务": "work_unit_post",
    "工作单位": "work_unit",
    "职务": "post",
    "联系电话": "phone",
    "手机": "phone",
    "手机号": "phone",
    "手机号码": "phone",
    "电话": "phone",
    "所在党支部": "branch",
    "党支部": "branch",
    "所属党支部": "branch",
    "所在支部": "branch",
    "支部": "branch",
    "党员类别": "status",
    "党籍状态": "status",
    "人员状态": "status",
}
COLUMN_LABELS = {
    "name": "姓名",
    "gender": "性别",
    "id_number": "公民身份号码",
    "ethnicity": "民族",
    "birth_date": "出生日期",
    "education": "学历",
    "occupation": "人员类别",
    "joined_on": "入党日期",
    "confirmed_on": "转正日期",
    "work_unit_post": "工作单位及职务",
    "work_unit": "工作单位",
    "post": "职务",
    "phone": "联系电话",
    "branch": "所在党支部",
    "status": "党员类别",
}
EDUCATION_WORDS = {label: value for value, label in Education.choices} | {
    "博士": Education.DOCTORATE,
    "硕士": Education.MASTER,
    "研究生": Education.MASTER,
    "本科": Education.BACHELOR,
    "大学": Education.BACHELOR,
    "大专": Education.COLLEGE,
    "专科": Education.COLLEGE,
    "中专": Education.SECONDARY,
    "中技": Education.SECONDARY,
    "高中": Education.HIGH_SCHOOL,
    "初中": Education.MIDDLE_SCHOOL,
    "小学": Education.MIDDLE_SCHOOL,
    "初中及以下": Education.MIDDLE_SCHOOL,
}
OCCUPATION_WORDS = {label: value for value, label in Occupation.choices} | {
    "农民": Occupation.FARMER,
    "牧民": Occupation.FARMER,
    "渔民": Occupation.FARMER,
    "专技人员": Occupation.PROFESSIONAL,
    "机关工作人员": Occupation.CIVIL_SERVANT,
    "公务员": Occupation.CIVIL_SERVANT,
    "离退休": Occupation.RETIRED,
    "退休": Occupation.RETIRED,
    "离休": Occupation.RETIRED,
}
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$"),
    re.compile(r"^(\d{4})[./\-](\d{1,2})[./\-](\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
# Rosters often give only year and month (1985.07, 1985年7月, 1985-7, 1985/07).
_MONTH_PATTERNS = (
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月?$"),
    re.compile(r"^(\d{4})[./\-](\d{1,2})$"),
)
# Text columns and their model lengths: a longer cell is an error, never silently cut.
TEXT_LIMITS = {
    key: Member._meta.get_field(key).max_length
    for key in ("name", "ethnicity", "work_unit", "post")
}


def _norm_header(text) -> str:
    return re.sub(r"[\s（）()*：:]", "", str(text or ""))


def parse_date(value) -> dt.date | None:
    """2020年7月1日, 2020.7.1, 2020/07/01, 2020-7-1, 20200701, or an Excel date cell."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, float) and not value.is_integer() and 1900 <= value < 2100:
        raise ValueError(str(value))  # 1985.07 typed as a number: a year-month, not a serial
    if isinstance(value, int | float) and 20000000 < value < 21000000:
        value = str(int(value))
    elif isinstance(value, int | float):
        try:  # Excel serial
            return (dt.datetime(1899, 12, 30) + dt.timedelta(days=float(value))).date()
        except (OverflowError, ValueError):
            raise ValueError(str(value)) from None
    text = str(value).strip()
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    raise ValueError(text)


def parse_year_month(value) -> dt.date | None:
    """1985.07, 1985年7月, 1985-7 → the 1st of that month; None when it is not a year-month."""
    if value is None or isinstance(value, dt.date):
        return None
    if isinstance(value, float):
        value = f"{value:.2f}"  # a number cell 1985.07 (1985.10 arrives as 1985.1: October)
    text = str(value).strip()
    for pattern in _MONTH_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return dt.date(int(m.group(1)), int(m.group(2)), 1)
            except ValueError:
                return None
    return None


@dataclass
class ImportResult:
    created: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, problem)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_workbook(self) -> bytes:
        wb = Workbook()
        ws = wb.active
        ws.title = "错误"
        ws.append(["行号", "列", "问题"])
        for row in self.errors:
            ws.append(excel_row(ws, row))
        for col, width in zip("ABC", (8, 16, 70), strict=True):
            ws.column_dimensions[col].width = width
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()


def _branch_lookup(actor) -> dict[str, list[Org]]:
    lookup: dict[str, list[Org]] = {}
    for org in orgs_visible_to(actor, "branch_write").filter(
        org_type__in=BRANCH_TYPES, abolished_on__isnull=True
    ):
        for key in {org.name, org.short_name, org.code} - {""}:
            lookup.setdefault(key, []).append(org)
    return lookup


def roster_import(*, actor, file) -> ImportResult:
    """Validate every row; write all rows in one transaction only when none has a problem."""
    result = ImportResult()
    try:
        wb = load_workbook(file, read_only=True, data_only=True)
    except Exception:
        result.errors.append((0, "文件", "无法读取：请上传 .xlsx 格式的 Excel 文件。"))
        return result
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header_row, columns = 0, {}
    for index, row in enumerate(rows, start=1):
        mapped = {
            i: HEADERS[_norm_header(c)] for i, c in enumerate(row) if _norm_header(c) in HEADERS
        }
        if "name" in mapped.values():
            header_row, columns = index, mapped
            break
        if index >= 10:
            break
    missing = {"name", "gender", "branch"} - set(columns.values())
    if not header_row or missing:
        labels = "、".join(COLUMN_LABELS[m] for m in sorted(missing or {"name"}))
        result.errors.append((header_row or 1, "表头", f"找不到必需的列：{labels}。"))
        return result
    branches = _branch_lookup(actor)
    seen_ids: dict[str, int] = {}
    prepared: list[tuple[int, Member]] = []
    for number, row in enumerate(rows, start=header_row + 1):
        values = {columns[i]: v for i, v in enumerate(row) if i in columns}
        if all(v in (None, "") for v in values.values()):
            continue
        member, problems = _row_member(values, branches)
        for column, problem in problems:
            result.errors.append((number, COLUMN_LABELS.get(column, column), problem))
        if member is not None and member.id_number:
            if member.id_number in seen_ids:
                result.errors.append(
                    (number, "公民身份号码", f"与第{seen_ids[member.id_number]}行重复。")
                )
            seen_ids.setdefault(member.id_number, number)
        if not problems and member is not None:
            prepared.append((number, member))
    if seen_ids:
        hashes = {m.id_number_hash: n for n, m in prepared if m.id_number_hash}
        for h in Member.objects.filter(id_number_hash__in=list(hashes)).values_list(
            "id_number_hash", flat=True
        ):
            result.errors.append((hashes[h], "公民身份号码", "该公民身份号码已在系统中登记。"))
    if not prepared and not result.errors:
        result.errors.append((header_row + 1, "", "文件中没有数据行。"))
    if result.errors:
        result.errors.sort()
        return result
    with transaction.atomic():
        members = Member.objects.bulk_create([m for _, m in prepared], batch_size=1000)
        MemberStatusChange.objects.bulk_create(
            [
                MemberStatusChange(
                    member=m,
                    from_status="",
                    to_status=m.status,
                    changed_on=m.status_since,
                    action="roster_import",
                    reason="花名册导入",
                    deciding_org_id=m.branch_id,
                    actor=actor if getattr(actor, "is_authenticated", False) else None,
                )
                for m in members
            ],
            batch_size=1000,
        )
        audit_log(
            actor=actor,
            action=AuditAction.IMPORT,
            verb="roster_import",
            object_type="members.member",
            object_repr=f"花名册导入 {len(members)} 人",
            changes={"created": [0, len(members)]},
        )
    result.created = len(members)
    return result


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _row_member(
    values: dict, branches: dict[str, list[Org]]
) -> tuple[Member | None, list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    name = _text(values.get("name"))
    if not name:
        problems.append(("name", "姓名不能为空。"))
    gender_text = _text(values.get("gender"))
    gender = {"男": Gender.MALE, "女": Gender.FEMALE}.get(gender_text)
    if gender is None:
        problems.append(("gender", f"性别应为“男”或“女”（现为“{gender_text}”）。"))
    branch_text = _text(values.get("branch"))
    found = branches.get(branch_text, [])
    branch = found[0] if len(found) == 1 else None
    if not branch_text:
        problems.append(("branch", "所在党支部不能为空。"))
    elif not found:
        problems.append(("branch", f"找不到党支部“{branch_text}”，或不在您的管理范围内。"))
    elif len(found) > 1:
        problems.append(("branch", f"“{branch_text}”对应多个党支部，请填写组织代码。"))
    for key, limit in TEXT_LIMITS.items():
        text = _text(values.get(key))
        if len(text) > limit:
            problems.append((key, f"内容过长：不能超过{limit}个字符（现为{len(text)}个）。"))
    dates = {}
    birth_month = None
    for key in ("birth_date", "joined_on", "confirmed_on"):
        try:
            dates[key] = parse_date(values.get(key))
        except ValueError:
            month = parse_year_month(values.get(key))
            if month is not None:
                # 入党日期/转正日期 given as year-month (common in rosters): taken as the 1st of
                # that month. 出生日期 must agree with the ID number: the day comes from it below.
                dates[key] = None if key == "birth_date" else month
                birth_month = month if key == "birth_date" else birth_month
                continue
            problems.append(
                (
                    key,
                    f"无法识别的日期“{_text(values.get(key))}”（可用 2020年7月1日、2020.7.1、2020/07/01、20200701；入党、转正日期可只填年月，如 2020.07）。",
                )
            )
            dates[key] = None
    today = local_today()
    for key, day in dates.items():
        if day and day > today:
            problems.append((key, "日期不能晚于今天。"))
    id_number = _text(values.get("id_number")).upper()
    if id_number:
        try:
            id_number = validate_id_number(id_number, birth_date=dates["birth_date"], gender=gender)
        except ValidationError as exc:
            for column, messages in exc.message_dict.items():
                problems.extend((column, m) for m in messages)
        else:
            dates["birth_date"] = dates["birth_date"] or birth_date_of(id_number)
            gender = gender or gender_of(id_number)
            if birth_month and dates["birth_date"].replace(day=1) != birth_month:
                problems.append(("birth_date", "出生日期与公民身份号码不一致。"))
    if birth_month and not id_number:
        problems.append(("birth_date", "出生日期只有年月：请填写到日，或填写公民身份号码。"))
    education_text = _text(values.get("education"))
    education = EDUCATION_WORDS.get(education_text, "")
    if education_text and not education:
        problems.append(("education", f"无法识别的学历“{education_text}”。"))
    occupation_text = _text(values.get("occupation"))
    occupation = OCCUPATION_WORDS.get(occupation_text, "")
    if occupation_text and not occupation:
        problems.append(("occupation", f"无法识别的人员类别“{occupation_text}”。"))
    status_text = _text(values.get("status"))
    joined, confirmed = dates["joined_on"], dates["confirmed_on"]
    if status_text:
        status = (
            MemberStatus.PROBATIONARY
            if "预备" in status_text
            else MemberStatus.FULL
            if "正式" in status_text
            else None
        )
        if status is None:
            problems.append(
                ("status", f"党员类别应为“正式党员”或“预备党员”（现为“{status_text}”）。")
            )
    else:
        status = (
            MemberStatus.FULL
            if confirmed
            else MemberStatus.PROBATIONARY
            if joined
            else MemberStatus.FULL
        )
    if status == MemberStatus.PROBATIONARY and not joined:
        problems.append(("joined_on", "预备党员须填写入党日期（支部大会通过之日）。"))
    if joined and confirmed and confirmed < joined:
        problems.append(("confirmed_on", "转正日期不能早于入党日期。"))
    if (
        dates["birth_date"]
        and joined
        and add_years(dates["birth_date"], rules.MIN_APPLICANT_AGE) > joined
    ):
        problems.append(("joined_on", "入党时未满18周岁。"))
    phone = re.sub(r"[\s\-]", "", _text(values.get("phone")))
    if phone and not (phone.isdigit() and 7 <= len(phone) <= 13):
        problems.append(("phone", "联系电话格式不正确。"))
    work_unit, post = _text(values.get("work_unit")), _text(values.get("post"))
    combined = _text(values.get("work_unit_post"))
    if combined and not work_unit:
        parts = re.split(r"[\s、，,]+", combined, maxsplit=1)
        work_unit, post = parts[0], post or (parts[1] if len(parts) > 1 else "")
        for key, text in (("work_unit", work_unit), ("post", post)):
            if len(text) > TEXT_LIMITS[key]:
                problems.append(
                    ("work_unit_post", f"{COLUMN_LABELS[key]}不能超过{TEXT_LIMITS[key]}个字符。")
                )
    if problems:
        return None, problems
    member = Member(
        branch=branch,
        name=name,
        gender=gender,
        birth_date=dates["birth_date"],
        ethnicity=_text(values.get("ethnicity")) or "汉族",
        education=education,
        occupation=occupation,
        work_unit=work_unit,
        post=post,
        status=status,
        joined_on=joined,
        confirmed_on=confirmed if status == MemberStatus.FULL else None,
        probation_ends_on=add_years(joined, 1)
        if status == MemberStatus.PROBATIONARY and joined
        else None,
        status_since=(confirmed if status == MemberStatus.FULL else joined) or today,
    )
    if id_number:
        member.id_number = id_number  # encrypted by the field on save
        member.id_number_hash = crypto.blind_index("id_number", id_number)
        member.id_number_masked = crypto.mask_id_number(id_number)
    if phone:
        member.set_phone(phone)
    return member, []


EXPORT_COLUMNS = [
    "姓名",
    "性别",
    "公民身份号码",
    "民族",
    "出生日期",
    "学历",
    "人员类别",
    "党员状态",
    "入党日期",
    "转正日期",
    "工作单位",
    "职务",
    "联系电话",
    "管理状态",
    "所在党支部",
]


def roster_export(*, actor, org: Org, reveal: bool = False, reason: str = "") -> bytes:
    """The roster of `org`'s subtree (in the actor's scope) as .xlsx: masked unless the actor
    may reveal, asked to, and gave a reason. Audited either way."""
    from apps.members.selectors import member_search

    if reveal:
        if not can(actor, "reveal", org):
            raise PermissionDenied("没有导出完整个人信息的权限。")
        if len((reason or "").strip()) < 2:
            raise ValidationError({"reason": ["导出完整个人信息须填写原因。"]})
    qs = member_search(user=actor, org=org)
    if reveal:
        qs = qs.defer(None)  # the full values are exported: load them with the rows
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("党员花名册")
    ws.append(EXPORT_COLUMNS)
    count = 0
    for m in qs.iterator(chunk_size=2000):
        ws.append(
            excel_row(
                ws,
                [
                    m.name,
                    m.get_gender_display(),
                    m.id_number if reveal else m.id_number_masked,
                    m.ethnicity,
                    m.birth_date,
                    m.get_education_display(),
                    m.get_occupation_display(),
                    m.get_status_display(),
                    m.joined_on,
                    m.confirmed_on,
                    m.work_unit,
                    m.post,
                    m.phone if reveal else m.phone_masked,
                    m.get_management_status_display(),
                    m.branch.name,
                ],
            )
        )
        count += 1
    out = io.BytesIO()
    wb.save(out)
    with transaction.atomic():
        audit_log(
            actor=actor,
            action=AuditAction.EXPORT,
            org=org,
            verb="roster_export",
            object_type="members.member",
            object_repr=f"{org.name} 花名册 {count} 人",
            changes={"rows": count, "revealed": reveal},
            reason=reason or "",
        )
    return out.getvalue()
