"""The audit log is append-only in the database too (PostgreSQL only; SQLite is left untouched).

A row-level trigger rejects every UPDATE and DELETE on ``core_auditlog`` with SQLSTATE 23001
(restrict_violation, an IntegrityError in Django). TRUNCATE is not blocked: it needs table
ownership, and test databases are flushed with it.

The actor foreign key becomes PROTECT: the actor is part of the hashed row, so SET_NULL would
rewrite audit rows (rejected by the trigger on PostgreSQL, a broken chain on SQLite).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

CREATE_SQL = """
CREATE OR REPLACE FUNCTION core_auditlog_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'core_auditlog is append-only: % rejected', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
DROP TRIGGER IF EXISTS core_auditlog_append_only ON core_auditlog;
CREATE TRIGGER core_auditlog_append_only
    BEFORE UPDATE OR DELETE ON core_auditlog
    FOR EACH ROW EXECUTE FUNCTION core_auditlog_append_only();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS core_auditlog_append_only ON core_auditlog;
DROP FUNCTION IF EXISTS core_auditlog_append_only();
"""


def _create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_SQL, params=None)


def _drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditlog",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                to=settings.AUTH_USER_MODEL,
                verbose_name="操作人",
            ),
        ),
        migrations.RunPython(_create_trigger, _drop_trigger, elidable=False),
    ]
