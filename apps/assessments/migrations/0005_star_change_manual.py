"""Mark 动态升降星 (a superior's manual star change) so recomputing stars keeps it.

Existing rows: the changes written by the computation carry fixed reasons (按考核得分评定…,
…结果公布，按得分评定…, 申诉成立…, 认定为软弱涣散党组织…); every other reason was typed by a
superior in star_change, so those rows are manual."""

from django.db import migrations, models
from django.db.models import Q

COMPUTED = Q(reason__startswith="按考核得分评定") | Q(reason__contains="结果公布，按得分评定")
COMPUTED |= Q(reason__startswith="申诉成立，") | Q(reason__startswith="认定为软弱涣散党组织")


def mark_manual(apps, schema_editor):
    StarChange = apps.get_model("assessments", "StarChange")
    StarChange.objects.filter(from_stars__isnull=False).exclude(COMPUTED).update(manual=True)


class Migration(migrations.Migration):
    dependencies = [("assessments", "0004_template_owner_org")]

    operations = [
        migrations.AddField(
            model_name="starchange",
            name="manual",
            field=models.BooleanField(default=False, verbose_name="人工调整"),
        ),
        migrations.RunPython(mark_manual, migrations.RunPython.noop),
    ]
