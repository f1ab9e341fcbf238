"""Transparency pages: model cards for everyone signed in, rendered without raw HTML."""

import pytest


@pytest.fixture
def cards(tmp_path, monkeypatch):
    folder = tmp_path / "cards"
    folder.mkdir()
    (folder / "demo-model.md").write_text(
        "# Demo model card\n\n- model: `demo-gbm`\n- version: `1.2`\n\n## Intended use\n\n"
        "Study support only. <script>window.x=1</script>\n\n| group | AUC |\n|---|---|\n| all | 0.81 |\n",
        encoding="utf-8")
    (folder / "Not A Slug.md").write_text("# ignored\n", encoding="utf-8")
    monkeypatch.setenv("MEDTUTOR_MODEL_CARDS_DIR", str(folder))
    return folder


def test_transparency_lists_cards_with_model_and_version(client, student, cards):
    client.force_login(student)
    page = client.get("/transparency/")
    html = page.content.decode()
    assert page.status_code == 200 and "Demo model card" in html and "demo-gbm" in html and "v1.2" in html
    assert "ignored" not in html


def test_model_card_renders_markdown_but_not_raw_html(client, faculty, cards):
    client.force_login(faculty)
    html = client.get("/transparency/models/demo-model/").content.decode()
    assert "<h2>Intended use</h2>" in html and "<table>" in html
    assert "<script>window.x=1</script>" not in html and "&lt;script&gt;" in html
    assert "not patient care" in html.lower()


def test_unknown_or_malformed_card_is_404(client, student, cards):
    client.force_login(student)
    assert client.get("/transparency/models/nope/").status_code == 404
    assert client.get("/transparency/models/..%2Fsecret/").status_code == 404


def test_audit_log_filters_by_kind(client, admin_user):
    from medtutor.core import audit

    audit.record_decision(model_name="m", model_version="1", subject=("x", 1), inputs={}, output={},
                          explanation="because", confidence=0.5)
    client.force_login(admin_user)
    decisions = client.get("/governance/audit/?kind=decision").context["records"]
    assert [r.kind for r in decisions] == ["decision"]
