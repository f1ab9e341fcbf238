"""Outbreak lab page: permissions, a real run with alarms and an injected outbreak, and 400s that name
the bad field. Uses small slices of the shared surveillance files written to a temporary folder."""

from __future__ import annotations

import csv
import html

import pytest
from django.urls import reverse

from tests.conftest import shared_data

URL = "outbreak_lab"


@pytest.fixture
def small_surveillance(tmp_path, monkeypatch):
    """The Salmonella Agona series (312 weeks) and two labelled RKI series, copied from the shared files."""
    source = shared_data("surveillance", "r_surveillance_pkg")
    target = tmp_path / "surveillance" / "r_surveillance_pkg"
    target.mkdir(parents=True)
    for name, column, keep in (("classic_series.csv", "dataset", {"salmonella.agona"}),
                               ("labelled_outbreaks.csv", "series", {"m1", "k1"})):
        with (source / name).open(newline="") as src, (target / name).open("w", newline="") as dst:
            reader = csv.DictReader(src)
            writer = csv.DictWriter(dst, fieldnames=reader.fieldnames)
            writer.writeheader()
            writer.writerows(row for row in reader if row[column] in keep)
    monkeypatch.setenv("MEDTUTOR_SHARED_DATA", str(tmp_path))
    return tmp_path


def login(client, user):
    client.force_login(user)


def test_anonymous_is_redirected_to_login(client, db, small_surveillance):
    response = client.get(reverse(URL))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("role", ["student", "faculty", "admin"])
def test_each_role_sees_the_lab_with_alarms(client, users, small_surveillance, role):
    login(client, users[role])
    response = client.get(reverse(URL), {"series": "classic_series:salmonella.agona", "method": "C1",
                                         "C1_k": "2", "C1_baseline": "7"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "public surveillance data" in body and "used for teaching" in body
    result = response.context["result"]
    assert result.alarm_count > 0 and result.evaluated_weeks > 290
    assert 'id="table-alarms"' in body and 'id="chart-outbreak-data"' in body
    assert "Outbreak lab" in body  # nav link


def test_injected_outbreak_comparison_table(client, student, small_surveillance):
    login(client, student)
    response = client.get(reverse(URL), {
        "series": "classic_series:salmonella.agona", "method": "Farrington", "inject": "1", "size": "60",
        "size_unit": "cases", "shape": "spike", "start": "1995-03-06", "duration": "2", "seed": "4"})
    assert response.status_code == 200
    result = response.context["result"]
    assert result.injected_total == 60
    assert sum(v for v in result.added if v) == 60
    rows = {r["method"]: r for r in result.comparison}
    assert set(rows) == {"C1", "C2", "C3", "CUSUM", "Serfling", "Farrington"}
    assert rows["Farrington"]["chosen"] and rows["C1"]["detected"]
    assert any(r["first"] for r in rows.values())
    assert 'id="table-comparison"' in response.content.decode()


def test_labelled_series_shows_sensitivity_and_specificity(client, faculty, small_surveillance):
    login(client, faculty)
    response = client.get(reverse(URL), {"series": "labelled_outbreaks:m1", "method": "C2"})
    assert response.status_code == 200
    labelled = response.context["result"].labelled
    assert labelled["tp"] + labelled["fp"] + labelled["tn"] + labelled["fn"] > 150
    assert 'id="labelled-score"' in response.content.decode()


@pytest.mark.parametrize("params, field", [
    ({"method": "C1", "C1_k": "99"}, "C1_k: must be a number from 0.5 to 10"),
    ({"method": "CUSUM", "CUSUM_h": "abc"}, "CUSUM_h: 'abc' is not a number"),
    ({"method": "Serfling", "Serfling_years": "2.5"}, "Serfling_years: must be a whole number from 2 to 10"),
    ({"method": "Bayes"}, "method: 'Bayes' is not one of"),
    ({"series": "nope:nothing"}, "series: 'nope:nothing' is not one of"),
    ({"inject": "1", "duration": "40"}, "duration: must be a whole number from 1 to 26"),
    ({"inject": "1", "shape": "square"}, "shape: 'square' must be one of"),
    ({"inject": "1", "start": "1980-01-01"}, "start: must be from 1990-01-01 to 1995-12-25"),
    ({"inject": "1", "size_unit": "sd", "size": "50"}, "size: must be a number from 0 to 20"),
])
def test_bad_parameters_answer_400_naming_the_field(client, student, small_surveillance, params, field):
    login(client, student)
    response = client.get(reverse(URL), {"series": "classic_series:salmonella.agona", **params})
    assert response.status_code == 400
    assert field in html.unescape(response.content.decode())
    assert "result" not in response.context


def test_post_is_not_allowed(client, student, small_surveillance):
    login(client, student)
    assert client.post(reverse(URL)).status_code == 405
