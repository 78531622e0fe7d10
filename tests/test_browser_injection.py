"""Text is text, in a real headless Chromium (issue 12 items 3 and 4): on the store whose catalogue,
annotations and settings carry markup (test_injection.py), the Summary and Indicator pages make no
script, image, link or formula from it and show it as typed; and a viewer sees no Deploy button
and no developer menu. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from browser_support import ARTIFACTS, needs_chromium, serve, settle
from browser_support import browser_page as open_page
from test_injection import AREA_NAME, AUTHOR, FORCE_NAME, IND_DESCRIPTION, IND_NAME, NOTE, build_injected_store

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]

#: Elements and attributes only the data could have made (Streamlit's own scripts are left alone).
MADE_FROM_DATA = """() => ({
  scripts: [...document.querySelectorAll('script')].filter(s => s.textContent.includes('alert(1)')).length,
  images: document.querySelectorAll('img[src="x"], [onerror], [onload]:not(script):not(link):not(iframe)').length,
  js_links: [...document.querySelectorAll('a[href], [*|href]')].filter(
      a => (a.getAttribute('href') || a.getAttribute('xlink:href') || '').trim().toLowerCase().startsWith('javascript:')).length,
  formulas: document.querySelectorAll('.katex, math').length,
  bold_bob: [...document.querySelectorAll('strong, b, em')].filter(e => e.textContent.trim() === 'Bob').length,
})"""


@pytest.fixture(scope="module")
def injected_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run app.py` (the project's .streamlit/config.toml applies) on the markup store."""
    db = build_injected_store(tmp_path_factory.mktemp("injected_browser"))
    with serve(db, tmp_path_factory.mktemp("streamlit_injected") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser_page(injected_app: str):
    with open_page(1440, 2200) as pg:
        dialogs: list[str] = []
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pg.dialogs = dialogs  # an alert() from the data would land here
        yield pg


def visible_text(pg) -> str:
    """The page's text as a reader sees it (the invisible word joiner dropped)."""
    return " ".join(pg.inner_text("body").replace("\u2060", "").split())


def assert_nothing_made_from_data(pg) -> None:
    found = pg.evaluate(MADE_FROM_DATA)
    assert found == {"scripts": 0, "images": 0, "js_links": 0, "formulas": 0, "bold_bob": 0}, found
    assert not pg.dialogs, pg.dialogs


def test_summary_shows_markup_in_names_as_text(injected_app, browser_page):
    pg = browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    pg.goto(injected_app + "/?page=summary")
    pg.get_by_role("heading", name="Indicator summary").wait_for(timeout=60_000)
    pg.locator("table.spc-summary").first.wait_for(timeout=60_000)
    settle(pg)
    assert_nothing_made_from_data(pg)
    text = visible_text(pg)
    for expected in (IND_NAME, FORCE_NAME):
        assert " ".join(expected.split()) in text, expected
    # the indicator's link is the one the app made, to its own page
    link = pg.locator("table.spc-summary a", has_text="ASB <script>").first
    assert link.get_attribute("href").startswith("?page=indicator&indicator=asb_incidents")
    pg.screenshot(path=str(ARTIFACTS / "injection_summary.png"))


def test_indicator_page_shows_markup_in_names_notes_and_authors_as_text(injected_app, browser_page):
    pg = browser_page
    pg.goto(injected_app + "/?page=indicator&indicator=asb_incidents&area=staffordshire")
    pg.get_by_text("What the rules found").wait_for(timeout=60_000)
    pg.get_by_text("Across the areas").wait_for(timeout=60_000)
    settle(pg)
    pg.get_by_text("partnership areas side by side").click()  # drawn on request (issue 14)
    # the areas side by side: the second chart (the control chart and its moving range panel are one figure)
    pg.locator('[data-testid="stPlotlyChart"]').nth(1).locator(".main-svg").first.wait_for(timeout=60_000)
    settle(pg)
    assert_nothing_made_from_data(pg)
    text = visible_text(pg)
    for expected in (IND_NAME, IND_DESCRIPTION, FORCE_NAME, NOTE, f"changed by {AUTHOR}"):
        assert " ".join(expected.split()) in text, expected
    assert pg.locator("h1", has_text="ASB <script>alert(1)</script> **Bob**").count() == 1
    # plotly draws the area's name as SVG text: the characters, not markup
    titles = pg.evaluate("() => [...document.querySelectorAll('.js-plotly-plot text')].map(t => t.textContent)")
    assert " ".join(AREA_NAME.split()) in [" ".join(t.split()) for t in titles], titles
    pg.screenshot(path=str(ARTIFACTS / "injection_indicator.png"))


def test_viewer_sees_no_deploy_button_and_no_developer_menu(injected_app, browser_page):
    pg = browser_page
    pg.goto(injected_app + "/?page=summary")
    pg.get_by_role("heading", name="Indicator summary").wait_for(timeout=60_000)
    settle(pg)
    assert pg.locator('[data-testid="stAppDeployButton"]').count() == 0
    assert pg.get_by_role("button", name="Deploy").count() == 0
    menu = pg.locator('[data-testid="stMainMenu"]')
    if menu.count():
        menu.first.click()
        pg.wait_for_timeout(500)
        items = pg.inner_text('[data-testid="stMainMenuPopover"]') if pg.locator(
            '[data-testid="stMainMenuPopover"]').count() else pg.inner_text("body")
        for developer in ("Rerun", "Clear cache", "Deploy", "Developer"):
            assert developer not in items, items
        pg.keyboard.press("Escape")


def test_an_unknown_indicator_in_the_address_is_named_in_the_browser(injected_app, browser_page):
    pg = browser_page
    pg.goto(injected_app + "/?page=indicator&indicator=no_such_thing")
    pg.get_by_text("No indicator 'no_such_thing'. Choose one of:").wait_for(timeout=60_000)
    settle(pg)
    assert "ASB <script>alert(1)</script>" in visible_text(pg)  # the list names the choices, as text
    assert_nothing_made_from_data(pg)
