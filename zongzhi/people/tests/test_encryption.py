"""The database never holds a clear ID number, name or phone; exact lookups work through the blind
indexes; key rotation re-encrypts everything under the current key, idempotently."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from zongzhi.core.crypto import key_id_of
from zongzhi.people import services
from zongzhi.people.models import House, Organization, Resident, SpecialGroupMembership, Visit
from zongzhi.people.records import HouseInput, OrganizationInput, ResidentInput
from zongzhi.people.sealing import ID_NUMBER, NAME, PHONE, id_number_lookup, phone_lookup, unseal

from .conftest import make_id

pytestmark = pytest.mark.django_db

CLEAR_ID = make_id("330106", "19850615", "427")
CLEAR_PHONE = "13957123456"
CLEAR_NAME = "欧阳秀兰"


def _all_rows_text() -> str:
    """Every value of every row of every table, as text."""
    chunks: list[str] = []
    with connection.cursor() as cur:
        for table in connection.introspection.table_names():
            cur.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cur.fetchall():
                chunks.extend(
                    ""
                    if v is None
                    else (v.decode("latin-1") if isinstance(v, bytes | memoryview) else str(v))
                    for v in row
                )  # type: ignore[arg-type]
    return "\n".join(chunks)


def _assert_nowhere(*values: str) -> None:
    text = _all_rows_text()
    for value in values:
        assert value not in text, f"{value!r} found in clear in the database"


def test_services_store_no_clear_id_number_name_or_phone(world: Any) -> None:
    resident = world.resident(CLEAR_ID, name=CLEAR_NAME, phone=CLEAR_PHONE)
    house = services.house_create(
        actor=world.worker,
        data=HouseInput(address="文三路100号", owner_name="李四", owner_phone=CLEAR_PHONE),
        grid=world.grid,
    )
    services.organization_create(
        actor=world.director,
        data=OrganizationInput(
            name="某科技公司", credit_code="91350100M000100Y43", contact_phone="13957120000"
        ),
        region=world.r["A1a"],
    )
    services.resident_update(
        actor=world.worker,
        resident=resident,
        data=ResidentInput(
            id_type="id_card", id_number=CLEAR_ID, name=CLEAR_NAME, phone=CLEAR_PHONE, notes="更新"
        ),
        house=house,
    )
    m = services.membership_enrol(
        actor=world.leader,
        resident=resident,
        group="mental_disorder",
        data=services.MembershipInput(
            starts_on=dt.date(2026, 1, 5),
            risk_level=3,
            risk_assessment="有自伤倾向",
            details={"diagnosis": "双相情感障碍", "guardian_name": "欧阳大明"},
        ),
    )
    services.visit_record(
        actor=world.worker,
        membership=m,
        data=services.VisitInput(visited_at=timezone.now(), findings="服药规律，情绪平稳"),
    )
    _assert_nowhere(
        CLEAR_ID, CLEAR_PHONE, CLEAR_NAME, "13957120000", "双相情感障碍", "有自伤倾向", "服药规律"
    )
    # but the sealed values open again, and the blind indexes find the person
    resident.refresh_from_db()
    assert unseal(resident.id_number_enc, ID_NUMBER) == CLEAR_ID
    assert unseal(resident.name_enc, NAME) == CLEAR_NAME
    assert unseal(resident.phone_enc, PHONE) == CLEAR_PHONE
    assert Resident.objects.get(id_number_index=id_number_lookup(CLEAR_ID.lower())) == resident
    assert Resident.objects.get(phone_index=phone_lookup("139-5712-3456")) == resident


def test_api_stores_no_clear_id_number_or_phone(world: Any) -> None:
    res = world.api(
        world.worker,
        "post",
        "/residents",
        {"id_number": CLEAR_ID, "name": CLEAR_NAME, "phone": CLEAR_PHONE, "grid_code": world.grid.code},
    )
    assert res.status_code == 201, res.content
    body = res.json()
    assert body["id_number"] == CLEAR_ID[:4] + "*" * 10 + CLEAR_ID[-4:]
    assert body["phone"] == "139****3456"
    res = world.api(
        world.worker,
        "post",
        "/houses",
        {"address": "古墩路1号", "owner_phone": "13957129999", "grid_code": world.grid.code},
    )
    assert res.status_code == 201, res.content
    _assert_nowhere(CLEAR_ID, CLEAR_PHONE, CLEAR_NAME, "13957129999")


def test_ciphertexts_are_bound_to_their_purpose(world: Any) -> None:
    from cryptography.exceptions import InvalidTag

    resident = world.resident(CLEAR_ID, phone=CLEAR_PHONE)
    with pytest.raises(InvalidTag):
        unseal(resident.id_number_enc, PHONE)  # an ID number moved into the phone column does not open


NEW_KEY = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")


def test_rotate_people_keys_reencrypts_everything_once(world: Any, settings: Any) -> None:
    r1 = world.resident(CLEAR_ID, name=CLEAR_NAME, phone=CLEAR_PHONE)
    r2 = world.resident(make_id(seq="457"), phone="")
    services.house_create(
        actor=None, data=HouseInput(address="文三路1号", owner_phone=CLEAR_PHONE), region=world.r["A1a"]
    )
    m = services.membership_enrol(
        actor=None,
        resident=r1,
        group="key_youth",
        data=services.MembershipInput(
            starts_on=dt.date(2026, 1, 1), details={"youth_type": "dropout", "guardian_name": "王五"}
        ),
    )
    old_kid = settings.ZZ_FIELD_KEY_ID
    with override_settings(ZZ_FIELD_KEY_ID="k9", ZZ_FIELD_KEYS={**settings.ZZ_FIELD_KEYS, "k9": NEW_KEY}):
        out = StringIO()
        call_command("rotate_people_keys", "--batch-size", "1", stdout=out)
        assert "re-encrypted" in out.getvalue()
        for model in (Resident, House, SpecialGroupMembership):
            assert not model.objects.exclude(key_id="k9").exists()
        r1.refresh_from_db()
        assert key_id_of(r1.id_number_enc) == key_id_of(r1.name_enc) == key_id_of(r1.phone_enc) == "k9"
        assert unseal(r1.id_number_enc, ID_NUMBER) == CLEAR_ID
        assert unseal(r1.phone_enc, PHONE) == CLEAR_PHONE
        r2.refresh_from_db()
        assert r2.phone_enc == ""  # empty stays empty
        m.refresh_from_db()
        assert key_id_of(m.details_enc) == "k9"
        # idempotent: nothing left to do, nothing changes
        before = Resident.objects.get(pk=r1.pk).id_number_enc
        out = StringIO()
        call_command("rotate_people_keys", stdout=out)
        assert "re-encrypted 0 row(s)" in out.getvalue()
        assert Resident.objects.get(pk=r1.pk).id_number_enc == before
        # the blind index did not change: lookups still work
        assert Resident.objects.get(id_number_index=id_number_lookup(CLEAR_ID)) == r1
    # without the new key the rows cannot be read any more (they are no longer under the old one)
    assert old_kid != "k9"


def test_rotation_dry_run_counts(world: Any, settings: Any) -> None:
    world.resident(CLEAR_ID)
    with override_settings(ZZ_FIELD_KEY_ID="k9", ZZ_FIELD_KEYS={**settings.ZZ_FIELD_KEYS, "k9": NEW_KEY}):
        out = StringIO()
        call_command("rotate_people_keys", "--dry-run", stdout=out)
        assert "people.resident: 1 row(s) not under k9" in out.getvalue()
        assert Resident.objects.exclude(key_id="k9").count() == 1


def test_visit_and_organization_rows_are_rotated_too(world: Any, settings: Any) -> None:
    r = world.resident(CLEAR_ID)
    services.visit_record(
        actor=world.worker,
        resident=r,
        data=services.VisitInput(visited_at=timezone.now(), findings="正常"),
    )
    services.organization_create(actor=None, data=OrganizationInput(name="某协会"), region=world.r["A1a"])
    with override_settings(ZZ_FIELD_KEY_ID="k9", ZZ_FIELD_KEYS={**settings.ZZ_FIELD_KEYS, "k9": NEW_KEY}):
        call_command("rotate_people_keys", stdout=StringIO())
        assert not Visit.objects.exclude(key_id="k9").exists()
        assert not Organization.objects.exclude(key_id="k9").exists()


@pytest.mark.parametrize("associated", [b"", b"zongzhi.people.id_number", bytes(range(40))])
def test_batch_sm4_gcm_equals_one_at_a_time_encryption(associated: bytes) -> None:
    import os

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    from zongzhi.people.gcm import encrypt_many

    key = os.urandom(16)
    texts = [os.urandom(n) for n in (0, 1, 5, 15, 16, 17, 31, 32, 33, 100, 7, 18)] + [CLEAR_NAME.encode()]
    nonces = os.urandom(12 * len(texts))
    got = encrypt_many(key, texts, associated=associated, nonces=nonces)
    for i, text in enumerate(texts):
        nonce = nonces[12 * i : 12 * (i + 1)]
        enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        if associated:
            enc.authenticate_additional_data(associated)
        body = enc.update(text) + enc.finalize()
        assert got[i] == nonce + body + enc.tag
    with pytest.raises(ValueError):
        encrypt_many(key, texts, nonces=nonces[:-1])


def test_batch_sm4_gcm_as_stored_text_is_the_prefixed_base64_of_the_tokens() -> None:
    import base64
    import os

    from zongzhi.core.crypto import decrypt
    from zongzhi.people.gcm import encrypt_many, encrypt_many_text

    key = os.urandom(16)
    # every length 0–40 (each remainder mod 3 of the token, one to three blocks), some twice
    texts = [os.urandom(n) for n in range(41)] + [os.urandom(n) for n in (18, 11, 9, 0)]
    nonces = os.urandom(12 * len(texts))
    tokens = encrypt_many(key, texts, associated=b"aad", nonces=nonces)
    got = encrypt_many_text(key, texts, associated=b"aad", prefix="k1$", nonces=nonces)
    assert got == [f"k1${base64.b64encode(t).decode()}" for t in tokens]
    assert encrypt_many_text(key, []) == []
    with override_settings(ZZ_FIELD_KEYS={"k1": key}):
        words = ["张三", "330106199001011234", "13800000000", "a", "浙江省杭州市西湖区文三路100号"]
        sealed = encrypt_many_text(key, [w.encode() for w in words], associated=b"x", prefix="k1$")
        assert [decrypt(t, associated=b"x") for t in sealed] == words


def test_batch_sealing_decrypts_and_indexes_like_single_sealing() -> None:
    from zongzhi.people.sealing import BatchSealer, seal, seal_many

    values = [CLEAR_ID, "", "G12345678", CLEAR_ID]
    sealed = seal_many(values, ID_NUMBER)
    assert [unseal(s.enc, ID_NUMBER) for s in sealed] == values
    assert [s.index for s in sealed] == [seal(v, ID_NUMBER).index for v in values]
    assert sealed[0].enc != sealed[3].enc  # a fresh nonce per value
    assert unseal(seal_many([CLEAR_PHONE], PHONE, index=False)[0].enc, PHONE) == CLEAR_PHONE

    sealer = BatchSealer()
    a, b = sealer(CLEAR_NAME, NAME), sealer(CLEAR_PHONE, PHONE, index=False)
    columns = {"name_enc": a.enc, "name_index": a.index, "phone_enc": b.enc, "phone_index": b.index}
    sealer.seal_pending()
    sealer.resolve(columns)
    assert unseal(columns["name_enc"], NAME) == CLEAR_NAME and columns["phone_index"] == ""
    assert columns["name_index"] == seal(CLEAR_NAME, NAME).index
    assert unseal(columns["phone_enc"], PHONE) == CLEAR_PHONE
