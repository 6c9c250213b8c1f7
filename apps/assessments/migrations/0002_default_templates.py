from django.db import migrations


def install_defaults(apps, schema_editor):
    from apps.assessments.defaults import install

    install(apps.get_model("assessments", "Template"), apps.get_model("assessments", "Indicator"))


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial")]

    operations = [migrations.RunPython(install_defaults, migrations.RunPython.noop)]
