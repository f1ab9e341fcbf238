"""Subgroup attributes: the model, the accessors, the CSV import (all or nothing), the data migration,
and that a person's attributes go with their data export and deletion."""

from __future__ import annotations

import importlib
import io
import json
import zipfile

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from medtutor.accounts import subgroups
from medtutor.accounts.models import SubgroupAttribute
from medtutor.core.errors import InvalidInput
from medtutor.core.models import AuditRecord

migration = importlib.import_module("medtutor.accounts.migrations.0003_subgroup_attribute")


@pytest.fixture
def people(make_user):
    return [make_user(f"s{n}") for n in range(4)]


def test_one_value_per_user_and_attribute(people):
    SubgroupAttribute.objects.create(user=people[0], attribute="sex", value="female")
    with pytest.raises(IntegrityError), transaction.atomic():
        SubgroupAttribute.objects.create(user=people[0], attribute="sex", value="male")


def test_accessors(people):
    a, b, c, _ = people
    subgroups.set_attributes(a, {"sex": "female", "international": "yes"})
    subgroups.set_attributes(b, {"sex": "male"}, source="self_reported")
    subgroups.set_attributes(c, {"sex": "female"})
    ids = [p.pk for p in people]
    assert subgroups.attributes_by_user(ids) == {a.pk: {"sex": "female", "international": "yes"},
                                                  b.pk: {"sex": "male"}, c.pk: {"sex": "female"}}
    assert subgroups.attribute_values(ids) == {"international": ["yes"], "sex": ["female", "male"]}
    assert subgroups.attribute_values([b.pk]) == {"sex": ["male"]}
    assert subgroups.values_of(ids, "sex") == {a.pk: "female", b.pk: "male", c.pk: "female"}
    assert subgroups.value_counts(ids, "sex") == {"female": 2, "male": 1}
    # a queryset of ids works too (no list is loaded)
    from django.contrib.auth import get_user_model

    assert subgroups.value_counts(get_user_model().objects.filter(pk__in=ids).values("id"), "sex") == {
        "female": 2, "male": 1}
    assert set(get_user_model().objects.filter(pk__in=subgroups.user_ids_with("sex", "female"))) == {a, c}
    assert subgroups.counts_by_attribute() == {"international": {"yes": 1}, "sex": {"female": 2, "male": 1}}
    assert SubgroupAttribute.objects.get(user=b).source == "self_reported"


def test_set_attributes_updates_removes_and_refuses_bad_input(people):
    a = people[0]
    subgroups.set_attributes(a, {"sex": "female", "international": "no"})
    subgroups.set_attributes(a, {"sex": "male", "international": ""})
    assert subgroups.attributes_by_user([a.pk]) == {a.pk: {"sex": "male"}}
    for bad in ({"Sex Assigned": "x"}, {"sex": "(not recorded)"}, {"sex": "x" * 61}):
        with pytest.raises(InvalidInput):
            subgroups.set_attributes(a, {"international": "yes", **bad})
    with pytest.raises(InvalidInput):
        subgroups.set_attributes(a, {"sex": "female"}, source="guessed")
    assert subgroups.attributes_by_user([a.pk]) == {a.pk: {"sex": "male"}}  # nothing changed


def test_import_csv_writes_everything_and_audits_without_values(people, admin_user):
    subgroups.set_attributes(people[0], {"sex": "male"})
    text = "\ufeffusername,attribute,value\ns0,sex,female\ns0,first_generation,yes\ns1,SEX,male\n\ns0,sex,female\n"
    result = subgroups.import_csv(text, actor=admin_user)
    assert (result.rows, result.users, result.created, result.updated) == (4, 2, 2, 1)
    assert result.attributes == ("first_generation", "sex")
    assert subgroups.attributes_by_user([p.pk for p in people]) == {
        people[0].pk: {"sex": "female", "first_generation": "yes"}, people[1].pk: {"sex": "male"}}
    record = AuditRecord.objects.get(action="accounts.subgroups_imported")
    assert record.actor == admin_user
    assert "female" not in json.dumps(record.output) and "s0" not in json.dumps(record.output)


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("user,attribute,value\ns0,sex,female\n", "header"),
    ("username,attribute,value\n", "no data rows"),
    ("username,attribute,value\ns0,sex,female\ns1,sex\n", "line 3: expected 3 columns"),
    ("username,attribute,value\ns0,sex,female\ns0,sex,male\n", "line 3: s0 sex is 'female' on line 2"),
    ("username,attribute,value\ns0,bad name,x\n", "line 2: attribute 'bad name'"),
    ("username,attribute,value\ns0,sex,\n", "line 2: value: empty"),
    ("username,attribute,value\ns0,sex,female\nnobody,sex,male\n", "line 3: no active user 'nobody'"),
])
def test_import_csv_bad_files_change_nothing(people, text, message):
    subgroups.set_attributes(people[0], {"sex": "male"})
    with pytest.raises(InvalidInput) as caught:
        subgroups.import_csv(text)
    assert message in caught.value.message + " ".join(caught.value.details)
    assert subgroups.attributes_by_user([p.pk for p in people]) == {people[0].pk: {"sex": "male"}}
    assert not AuditRecord.objects.filter(action="accounts.subgroups_imported").exists()


def test_cli_import(people, tmp_path):
    from typer.testing import CliRunner

    from medtutor.cli import app

    good = tmp_path / "good.csv"
    good.write_text("username,attribute,value\ns1,sex,female\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["subgroups", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "1 row(s) for 1 user(s): 1 attribute(s) added" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("username,attribute,value\ns2,sex,male\nghost,sex,male\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["subgroups", "import", str(bad)])
    assert result.exit_code == 1
    assert "no active user 'ghost'" in result.output and "nothing was imported" in result.output
    assert subgroups.attributes_by_user([p.pk for p in people]) == {people[1].pk: {"sex": "female"}}


def test_data_migration_moves_groups_and_back(people, make_user):
    synthetic = make_user("synthetic-x-0001")
    female = Group.objects.create(name="subgroup:sex=female")
    male = Group.objects.create(name="subgroup:sex=male")
    staff = Group.objects.create(name="editors")  # not a subgroup: untouched
    people[0].groups.add(female, staff)
    people[1].groups.add(male)
    synthetic.groups.add(female)
    people[2].groups.add(Group.objects.create(name="subgroup:broken"))  # no "=": skipped
    migration.groups_to_attributes(django_apps, None)
    rows = {(r.user_id, r.attribute, r.value, r.source) for r in SubgroupAttribute.objects.all()}
    assert rows == {(people[0].pk, "sex", "female", "imported"), (people[1].pk, "sex", "male", "imported"),
                    (synthetic.pk, "sex", "female", "synthetic")}
    assert list(Group.objects.values_list("name", flat=True)) == ["editors"]
    assert list(people[0].groups.values_list("name", flat=True)) == ["editors"]
    migration.attributes_to_groups(django_apps, None)
    assert set(people[0].groups.values_list("name", flat=True)) == {"editors", "subgroup:sex=female"}
    assert set(synthetic.groups.values_list("name", flat=True)) == {"subgroup:sex=female"}


def test_export_holds_my_attributes_and_deletion_removes_them(student, other_student, admin_user):
    from medtutor.governance import privacy

    subgroups.set_attributes(student, {"sex": "female"})
    subgroups.set_attributes(other_student, {"sex": "male"})
    with zipfile.ZipFile(io.BytesIO(privacy.export_zip(student).read())) as archive:
        tables = json.loads(archive.read("data.json"))["tables"]
        assert "csv/accounts.SubgroupAttribute.csv" in archive.namelist()
    assert [(r["attribute"], r["value"]) for r in tables["accounts.SubgroupAttribute"]] == [("sex", "female")]
    assert privacy.POLICY["accounts.SubgroupAttribute.user"] == privacy.DELETE
    request = privacy.request_deletion(student)
    privacy.confirm_deletion(request.pk, admin_user)
    assert not SubgroupAttribute.objects.filter(user=student).exists()
    assert SubgroupAttribute.objects.filter(user=other_student).exists()
