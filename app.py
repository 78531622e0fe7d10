"""The indicator monitoring app: `streamlit run app.py` (database: $SPC_DB, default indicators.duckdb).

Reading pages only read stored results (computed by `spc db init` and every refresh); the
Analyst page is the one place that writes, and it recomputes only the indicator it changed.
"""

from __future__ import annotations

import streamlit as st

from spc.ui import (accounts_page, analyst, audit_page, briefing, common, compare_page, data_page, indicator, signin,
                    summary)
from spc.ui.data import Forces, database_path, database_problem, overview, stamp, store_forces

PAGES = {
    "summary": ("Summary", summary.render),
    "indicator": ("Indicator", indicator.render),
    "compare": ("Compare areas", compare_page.render),
    "analyst": ("Analyst controls", analyst.render),
    "data": ("Data", data_page.render),
    "briefing": ("Briefing mode", briefing.render),
    "audit": ("Audit trail", audit_page.render),
    "accounts": ("Accounts", accounts_page.render),
}
#: Pages offered only to these roles (and above); each page checks the role again itself.
PAGE_ROLES = {"audit": "analyst", "accounts": "admin"}


def main() -> None:
    """Route to the chosen page (sidebar, or ?page= in the address so links and bookmarks work)."""
    st.set_page_config(page_title="Indicator monitoring", page_icon="📈", layout="wide")
    common.setup_page()
    path = str(database_path())
    key = stamp(path)
    problem = database_problem(path, key)
    if problem:
        common.missing_database(path, problem)
        return

    params = st.query_params
    who = signin.current(path)
    if signin.settings().require_sign_in and not who.can("viewer"):
        signin.sign_in_page(path)
        return
    offered = [p for p in PAGES if p not in PAGE_ROLES or who.can(PAGE_ROLES[p])]
    if st.session_state.get("page") not in (None, *offered):
        st.session_state["page"] = "summary"   # signed out, or the role changed
    forces = store_forces(path, key)
    wrong_force = _first_force(forces, params) if "page" not in st.session_state else None
    if "page" not in st.session_state:
        wanted = params.get("page", "summary")
        st.session_state["page"] = wanted if wanted in offered else "summary"
        for name in ("indicator", "area"):
            if params.get(name):
                st.session_state[f"sel_{name}"] = params.get(name)
        # the Summary's matrix counts link to the Summary filtered to their cell
        if st.session_state["page"] == "summary":
            for name in ("area", "variation", "direction", "assurance"):
                if params.get(name):
                    st.session_state[f"summary_{name}"] = params.get(name)
    with st.sidebar:
        st.markdown("### Indicator monitoring")
        page = st.radio("Page", offered, format_func=lambda p: PAGES[p][0], key="page")
        force = _choose_force(forces)
        signin.sidebar(path, who)
        st.caption(f"Database: `{path}`")
    params["page"] = page
    if wrong_force is not None:
        indicator.not_offered("force", wrong_force, forces.forces, "code", list(forces.names.values()),
                              "is not in this store")
    PAGES[page][1](overview(path, key, force), path)


def _first_force(forces: Forces, params) -> str | None:
    """On a session's first run, the force the address names (?force=), else the force of the
    area it names; returns the address's force when the store has no such force."""
    if not forces.many:
        return None
    wanted = params.get("force")
    if wanted in forces.codes:
        st.session_state["force"] = wanted
        return None
    implied = forces.force_of(params.get("area") or "")
    if implied is not None:
        st.session_state["force"] = implied
    return wanted


def _forget_areas() -> None:
    """A new force: the areas chosen on each page were the old force's."""
    for name in ("sel_area", "summary_area", "brief_area", "brief_ids"):
        st.session_state.pop(name, None)
    st.query_params.pop("area", None)


def _choose_force(forces: Forces) -> str | None:
    """The force shown, when the store holds more than one (kept in the address as ?force=)."""
    if not forces.many:
        return forces.default()
    if st.session_state.get("force") not in forces.codes:
        st.session_state["force"] = forces.default()
    names = forces.names
    force = st.selectbox("Force", forces.codes, format_func=lambda c: names.get(c, c), key="force",
                         on_change=_forget_areas, help=f"This store holds {len(names)} forces.")
    st.query_params["force"] = force
    return force


main()
