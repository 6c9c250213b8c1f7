"""Default frequency requirements (DOMAIN.md §2.1). Administrators edit them afterwards."""

from django.db import migrations

DEFAULTS = [
    # name, kind, period, min_count, needs_committee, per_party_group, basis
    ("支部党员大会", "general_meeting", "quarter", 1, False, False, "《支部条例》第十一条：一般每季度召开1次"),
    ("支部委员会会议", "committee_meeting", "month", 1, True, False, "《支部条例》第十二条：一般每月召开1次（设支委会的支部）"),
    ("党小组会", "group_meeting", "month", 1, False, True, "《支部条例》第十三条：一般每月召开1次"),
    ("党课", "party_lecture", "quarter", 1, False, False, "通行做法：每季度至少1次（地方口径，可调整）"),
    ("书记讲党课", "secretary_lecture", "year", 1, False, False, "支部书记每年至少讲1次党课"),
    ("主题党日", "theme_day", "month", 1, False, False, "每月相对固定1天开展主题党日"),
    ("组织生活会", "org_life_meeting", "year", 1, False, False, "每年至少召开1次，一般在第四季度"),
    ("民主评议党员", "member_appraisal", "year", 1, False, False, "一般每年开展1次，可与组织生活会合并"),
    ("谈心谈话", "talk", "year", 1, False, False, "支委之间、支委与党员、党员之间每年一般不少于1次"),
]


def load(apps, schema_editor):
    MeetingRequirement = apps.get_model("meetings", "MeetingRequirement")
    for name, kind, period, count, committee, per_group, basis in DEFAULTS:
        MeetingRequirement.objects.get_or_create(
            kind=kind, period=period, org_types=[], categories=[],
            defaults={"name": name, "min_count": count, "needs_committee": committee,
                      "per_party_group": per_group, "basis": basis},
        )


class Migration(migrations.Migration):
    dependencies = [("meetings", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
