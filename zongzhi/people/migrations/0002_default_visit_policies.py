"""The built-in visit schedule: monthly, weekly from risk level 3; severe mental disorder follows
the national management rules more closely (risk 0 quarterly, 1–2 monthly, 3–5 weekly)."""

from django.db import migrations

DEFAULTS = [
    ("community_correction", 0, "monthly"),
    ("community_correction", 3, "weekly"),
    ("released_prisoner", 0, "monthly"),
    ("released_prisoner", 3, "weekly"),
    ("drug_user", 0, "monthly"),
    ("drug_user", 3, "weekly"),
    ("mental_disorder", 0, "quarterly"),
    ("mental_disorder", 1, "monthly"),
    ("mental_disorder", 3, "weekly"),
    ("aids_risk", 0, "monthly"),
    ("aids_risk", 3, "weekly"),
    ("key_youth", 0, "monthly"),
    ("key_youth", 3, "weekly"),
]


def forwards(apps, schema_editor):
    Policy = apps.get_model("people", "VisitSchedulePolicy")
    for group, level, frequency in DEFAULTS:
        Policy.objects.get_or_create(
            group=group, min_risk_level=level, defaults={"frequency": frequency, "grace_days": 0}
        )


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
