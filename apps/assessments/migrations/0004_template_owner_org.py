"""Copied templates get an owning org (the shipped defaults keep none).

Existing copies take the org of the first cycle that uses them, else the highest node where
their creator holds 组织部/系统管理员, else the top of the tree; a copy with nowhere to go (no
org exists at all) cannot be used by any cycle and is removed."""

import django.db.models.deletion
from django.db import migrations, models


def assign_owners(apps, schema_editor):
    Template = apps.get_model("assessments", "Template")
    Cycle = apps.get_model("assessments", "Cycle")
    RoleGrant = apps.get_model("accounts", "RoleGrant")
    Org = apps.get_model("organizations", "Org")
    top = Org.objects.order_by("depth", "path").first()
    for t in Template.objects.filter(is_default=False, org__isnull=True):
        cycle = (
            Cycle.objects.filter(models.Q(branch_template=t) | models.Q(secretary_template=t))
            .order_by("org__path")
            .first()
        )
        org_id = cycle.org_id if cycle else None
        if org_id is None and t.created_by_id:
            grant = (
                RoleGrant.objects.filter(
                    user_id=t.created_by_id, role__in=["org_staff", "sysadmin"]
                )
                .order_by("org__depth", "org__path")
                .first()
            )
            org_id = grant.org_id if grant else None
        if org_id is None and top is not None:
            org_id = top.pk
        if org_id is None:
            t.delete()
            continue
        t.org_id = org_id
        t.save(update_fields=["org"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_initial"),
        ("assessments", "0003_nightly"),
        ("organizations", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="template",
            name="org",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="organizations.org",
                verbose_name="所属党组织",
            ),
        ),
        migrations.RunPython(assign_owners, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="template",
            constraint=models.CheckConstraint(
                condition=models.Q(("is_default", True), ("org__isnull", False), _connector="OR"),
                name="template_copy_has_owner_org",
            ),
        ),
    ]
