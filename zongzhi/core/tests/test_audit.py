"""The audit log: append-only, SM3-chained, verified by `manage.py verify_audit`."""

from __future__ import annotations

import datetime as dt
import itertools
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from zongzhi.core.audit import GENESIS_HASH, audit_record, verify_audit_chain
from zongzhi.core.crypto import sm3_hex
from zongzhi.core.models import AppendOnlyError, AuditChainHead, AuditLog

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL trigger")
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite has no trigger")


def _rows(n: int = 5) -> list[AuditLog]:
    return [
        audit_record(actor="system", action="test.event", object_type="t", object_id=str(i), data={"i": i})
        for i in range(n)
    ]


@contextmanager
def _tamper_access():
    """Raw write access to core_auditlog as an attacker with table rights would have it.

    On PostgreSQL the append-only trigger is bypassed for the duration, as a database superuser
    could (``session_replication_role = replica``, local to the test's transaction); SQLite has no
    trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        yield cursor
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


def _verify_command() -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


# --- the chain -------------------------------------------------------------------------------


def test_empty_log_verifies():
    report = verify_audit_chain()
    assert report.ok and report.checked == 0


def test_rows_are_chained_and_verify():
    rows = _rows(5)
    assert rows[0].prev_hash == GENESIS_HASH
    for earlier, later in itertools.pairwise(rows):
        assert later.prev_hash == earlier.hash
    assert AuditChainHead.objects.get(id=1).last_hash == rows[-1].hash
    assert all(len(r.hash) == 64 for r in rows)
    report = verify_audit_chain()
    assert report.ok
    assert report.checked == AuditLog.objects.count()
    assert "审计链完整" in _verify_command()


def test_row_records_actor_object_and_ip(make_user, tree):
    user = make_user(username="auditee")
    row = audit_record(actor=user, action="region.view", obj=tree["A"], ip="10.1.2.3", data={"k": "值"})
    row = AuditLog.objects.get(pk=row.pk)
    assert row.actor_id == user.pk and row.actor_username == "auditee"
    assert row.object_type == "orgs.region" and row.object_id == str(tree["A"].pk)
    assert row.region_path == tree["A"].path
    assert row.ip == "10.1.2.3"
    assert row.data == {"k": "值"}


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        (" 192.0.2.8 ", "192.0.2.8"),
        ("not-an-ip", None),
        ("", None),
    ],
)
def test_ip_is_stored_as_hashed(given, stored):
    """The database normalises addresses (PostgreSQL inet); the digest must survive that."""
    row = audit_record(actor="system", action="test.ip", ip=given)
    assert AuditLog.objects.get(pk=row.pk).ip == stored
    assert verify_audit_chain().ok


def test_data_round_trips_into_the_digest():
    """Values JSON cannot carry become text before hashing, so what is stored is what was hashed."""
    audit_record(
        actor="system",
        action="test.data",
        data={"when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "n": 1.5, "list": (1, 2), "z": None},
    )
    row = AuditLog.objects.get(action="test.data")
    assert row.data["when"] == "2026-01-02 03:04:05+00:00"
    assert row.data["list"] == [1, 2]
    assert verify_audit_chain().ok


def test_row_is_written_in_the_callers_transaction():
    _rows(1)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor="system", action="test.rolled_back")
        raise RuntimeError
    assert not AuditLog.objects.filter(action="test.rolled_back").exists()
    assert verify_audit_chain().ok
    _rows(1)
    assert verify_audit_chain().ok


# --- append-only in the application ----------------------------------------------------------


def test_saving_an_existing_row_raises():
    row = _rows(1)[0]
    row.action = "changed"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        AuditLog.objects.filter(pk=row.pk).update(action="changed")
    with pytest.raises(AppendOnlyError):
        AuditLog.objects.filter(pk=row.pk).delete()
    assert AuditLog.objects.get(pk=row.pk).action == "test.event"


def test_a_user_in_the_log_cannot_be_deleted(make_user):
    """The actor is hashed into the row: SET NULL would rewrite history. Deactivate instead."""
    user = make_user()
    audit_record(actor=user, action="test.actor")
    with pytest.raises(ProtectedError):
        user.delete()
    assert verify_audit_chain().ok


# --- tampering is detected ---------------------------------------------------------------------


def test_edited_row_is_named():
    rows = _rows(5)
    with _tamper_access() as cursor:
        cursor.execute("UPDATE core_auditlog SET action = %s WHERE id = %s", ["forged", rows[2].pk])
    report = verify_audit_chain()
    assert not report.ok
    assert report.first_bad_id == rows[2].pk
    assert report.checked == AuditLog.objects.filter(pk__lt=rows[2].pk).count()
    with pytest.raises(CommandError, match=f"id={rows[2].pk}") as exc:
        _verify_command()
    assert exc.value.returncode == 1


def test_edited_row_with_recomputed_hash_breaks_the_next_link():
    """An attacker who rewrites a row and its own digest still breaks the following row's link."""
    from zongzhi.core.audit import _fields, _row_digest

    rows = _rows(4)
    forged = AuditLog.objects.get(pk=rows[1].pk)
    forged.object_repr = "forged"
    new_hash = _row_digest(forged.prev_hash, _fields(forged))
    with _tamper_access() as cursor:
        cursor.execute(
            "UPDATE core_auditlog SET object_repr = %s, hash = %s WHERE id = %s",
            ["forged", new_hash, rows[1].pk],
        )
    assert verify_audit_chain().first_bad_id == rows[2].pk


def test_deleted_row_is_detected_at_the_next_one():
    rows = _rows(4)
    with _tamper_access() as cursor:
        cursor.execute("DELETE FROM core_auditlog WHERE id = %s", [rows[1].pk])
    report = verify_audit_chain()
    assert report.first_bad_id == rows[2].pk
    assert "prev_hash" in report.reason


def test_rows_removed_at_the_end_are_detected_by_the_head():
    rows = _rows(3)
    with _tamper_access() as cursor:
        cursor.execute("DELETE FROM core_auditlog WHERE id = %s", [rows[-1].pk])
    report = verify_audit_chain()
    assert not report.ok and report.first_bad_id is None
    assert "head" in report.reason
    with pytest.raises(CommandError, match="审计链校验失败"):
        _verify_command()


def test_the_digest_is_sm3_over_previous_hash_and_fields():
    row = _rows(1)[0]
    from zongzhi.core.audit import _fields, _row_digest

    assert row.hash == _row_digest(GENESIS_HASH, _fields(AuditLog.objects.get(pk=row.pk)))
    assert _row_digest(GENESIS_HASH, {}) == sm3_hex(f"{GENESIS_HASH}|{{}}".encode())


# --- append-only in the database ----------------------------------------------------------------


@on_postgres
def test_postgres_trigger_rejects_update_and_delete():
    rows = _rows(2)
    for sql, params in [
        ("UPDATE core_auditlog SET action = %s WHERE id = %s", ["forged", rows[0].pk]),
        ("DELETE FROM core_auditlog WHERE id = %s", [rows[0].pk]),
    ]:
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as c,
        ):
            c.execute(sql, params)
    assert AuditLog.objects.get(pk=rows[0].pk).action == "test.event"
    assert verify_audit_chain().ok


@on_postgres
def test_postgres_trigger_is_installed_by_the_migration():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'core_auditlog'::regclass AND NOT tgisinternal"
        )
        assert [r[0] for r in cursor.fetchall()] == ["core_auditlog_append_only"]


@on_sqlite
def test_sqlite_has_no_trigger():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'core_auditlog'")
        assert cursor.fetchall() == []
