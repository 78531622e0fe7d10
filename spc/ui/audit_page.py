"""The audit trail page: every change (and, for admins, every sign-in and refusal), filterable,
downloadable as CSV. Analysts see the changes to what the charts show; admins see everything;
viewers are told to sign in (the Indicator page already shows who made each dated change)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from spc import audit
from spc.ui import data, signin
from spc.ui.data import Overview, reading


@st.cache_data(show_spinner=False, max_entries=8)
def _events(path: str, key: tuple[int, int] | None, since: dt.date | None, until: dt.date | None, user: str | None,
            kinds: tuple[str, ...], indicator_id: str | None) -> pl.DataFrame:
    with reading(path) as con:
        return audit.events(con, since=since, until=until, user=user or None, kinds=list(kinds),
                            indicator_id=indicator_id)


def render(ov: Overview, path: str) -> None:
    """The audit page."""
    st.title("Audit trail")
    who = signin.current(path)
    if not who.can("analyst"):
        st.info("The audit trail is for analysts and administrators: sign in (in the sidebar) to see it. "
                "Each indicator's page shows the dated changes on its chart and who made them.", icon="🔒")
        return
    offered = list(audit.KINDS) if who.can("admin") else list(audit.CHART_KINDS)
    st.caption("Every change to chart settings, recalculations, exclusions, annotations, withdrawals and "
               "reinstatements: who, when (UTC) and why. Nothing here can be edited or deleted."
               + (" As an administrator you also see accounts, sign-ins and refused requests." if who.can("admin")
                  else ""))
    c1, c2, c3, c4 = st.columns([1, 1, 1.3, 2])
    since = c1.date_input("From", value=None, key="audit_since", format="YYYY-MM-DD")
    until = c2.date_input("To (inclusive)", value=None, key="audit_until", format="YYYY-MM-DD")
    user = c3.text_input("Who", key="audit_user", max_chars=80, placeholder="any name")
    kinds = c4.multiselect("What", offered, format_func=lambda k: audit.KINDS[k], key="audit_kinds",
                           placeholder="every kind")
    ids = ov.indicators["id"].to_list()
    names = dict(zip(ids, ov.indicators["name"].to_list()))
    indicator = st.selectbox("Indicator", [None, *ids], format_func=lambda i: "every indicator" if i is None else names[i],
                             key="audit_indicator")
    table = _events(path, data.stamp(path), since, until + dt.timedelta(days=1) if until else None,
                    user.strip(), tuple(kinds or offered), indicator)
    table = table.with_columns(pl.col("kind").replace_strict(audit.KINDS, default=pl.col("kind")).alias("what"))
    # a chart setting for many areas is stored as a scope (spc.store.areas): shown in words here,
    # kept as stored in the CSV download
    shown_area = pl.col("area_code").replace(data.scope_words(ov))
    st.write(f"{table.height:,} event{'' if table.height == 1 else 's'}")
    # st.dataframe shows every cell as plain text: what people typed is never interpreted
    st.dataframe(
        # who, what and why first: the columns a reader needs without scrolling sideways
        table.select("happened_at", "actor", "what", "reason", "indicator_id", shown_area, "subject", "method",
                     "role", "detail"),
        hide_index=True, width="stretch",
        column_config={"happened_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
                       "actor": "Who", "method": "Signed in by", "role": "Role", "what": "What",
                       "indicator_id": "Indicator", "area_code": "Area", "subject": "Subject",
                       "reason": "Why", "detail": "Detail"})
    st.download_button("Download these events (CSV)", audit.to_csv(table.drop("what")), file_name="spc-audit.csv",
                       mime="text/csv", key="audit_csv")
