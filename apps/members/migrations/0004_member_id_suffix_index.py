from django.db import migrations


class Migration(migrations.Migration):
    """ID-number suffix search: the masked copy keeps the last 4 characters in clear; an index on
    its reverse serves `reverse(id_number_masked) LIKE '4321%'` (performance.md §4)."""

    dependencies = [("members", "0003_records_lifecycle_dues_transfers")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX member_id_suffix_idx ON members_member (reverse(id_number_masked) text_pattern_ops);",
            "DROP INDEX member_id_suffix_idx;",
        ),
    ]
