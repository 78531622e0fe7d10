"""An address naming an indicator or area that is not there says so and lists the choices, instead
of silently showing another series (issue 12 item 4). The address is set as a bookmark would
set it (?page=indicator&indicator=...&area=...)."""

from __future__ import annotations


from streamlit.testing.v1 import AppTest

from auth_support import open_address


def notices(at: AppTest) -> str:
    return "\n".join(e.value for kind in ("warning", "info") for e in at.get(kind))


def test_unknown_indicator_in_the_address_is_named_with_the_choices(monkeypatch, demo_db):
    at = open_address(monkeypatch, demo_db, page="indicator", indicator="xyz", area="staffordshire")
    text = notices(at)
    assert "No indicator 'xyz'. Choose one of: " in text
    assert "Anti-social behaviour incidents" in text and "999 calls answered within 10 seconds" in text
    # the page still works, on the first indicator, and the address now says which
    assert at.query_params["indicator"] != ["xyz"] and at.selectbox(key="sel_indicator").value != "xyz"


def test_unknown_area_in_the_address_is_named_with_the_choices(monkeypatch, demo_db):
    at = open_address(monkeypatch, demo_db, page="indicator", indicator="asb_incidents", area="atlantis")
    text = notices(at)
    assert "No area 'atlantis'. Choose one of: " in text and "Tamworth" in text and "Cannock Chase" in text
    assert at.selectbox(key="sel_indicator").value == "asb_incidents"


def test_an_area_without_figures_for_the_indicator_says_so(monkeypatch, demo_db):
    # 999 call answering is force-wide only: Tamworth has no figures for it
    at = open_address(monkeypatch, demo_db, page="indicator", indicator="calls_999_answered_10s", area="tamworth")
    text = notices(at)
    assert "Tamworth has no figures for 999 calls answered within 10 seconds. Choose one of: " in text


def test_the_notice_shows_the_address_literally(monkeypatch, demo_db):
    at = open_address(monkeypatch, demo_db, page="indicator", indicator="**x** $y$ <b>z</b>")
    warning = at.warning[0].value
    assert "**x**" not in warning and "$y$" not in warning and "<b>" not in warning
    assert "No indicator '" in warning


def test_compare_page_names_an_indicator_that_is_not_reported_by_area(monkeypatch, demo_db):
    at = open_address(monkeypatch, demo_db, page="compare", indicator="calls_999_answered_10s")
    assert ("999 calls answered within 10 seconds is not reported by area, so it cannot be compared here"
            in notices(at))


def test_a_known_address_shows_no_notice(monkeypatch, demo_db):
    at = open_address(monkeypatch, demo_db, page="indicator", indicator="asb_incidents", area="tamworth")
    assert not notices(at).count("Choose one of")
    assert at.selectbox(key="sel_area").value == "tamworth"


def test_summary_names_an_unknown_area_in_the_address(monkeypatch, demo_db):
    at = open_address(monkeypatch, demo_db, page="summary", area="atlantis")
    assert "No area 'atlantis'. Choose one of: Staffordshire (force-wide), Cannock Chase" in notices(at)
    assert at.selectbox(key="summary_area").value == "staffordshire"
