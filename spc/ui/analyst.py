"""Analyst controls: chart settings, rebase and exclusion dates, annotations; then recompute.

The only page that writes. Every change records who made it and when, and recomputes just the
indicator it touched, so the charts everyone else sees follow at once.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from spc import autocorrelation, plots
from spc.errors import SpcError
from spc.auth import Identity
from spc.store.areas import EVERY_AREA
from spc.text import MAX_ANNOTATION_TEXT, MAX_REASON, literal
from spc.ui import common, data, signin
from spc.ui.data import Overview, series_data, stamp
from spc.ui.indicator import choose_indicator

CHARTS = {"xmr": "XmR (individuals) — any measure", "run": "Run chart (no limits)",
          "p": "p chart — proportion", "pp": "p′ chart (Laney) — proportion with large denominators",
          "u": "u chart — rate", "up": "u′ chart (Laney) — rate with large denominators",
          "c": "c chart — count of events", "g": "g chart — rare events (gaps between)",
          "t": "t chart — rare events (time between)",
          # never the default: offered where each figure tends to be close to the one before
          "xmr_ar1": "XmR allowing for month-to-month dependence (AR(1) residuals) — analyst option",
          # small sustained shifts (spc.charts.sequential): judged by their limits only
          "ewma": "EWMA — small sustained shifts (weighted average of recent values)",
          "cusum": "CUSUM — small sustained shifts (cumulative sums)"}
#: p and u charts per N of the denominator (qicharts2's multiply)
MULTIPLIERS = {1.0: "as a fraction", 100.0: "per 100", 1000.0: "per 1,000", 10000.0: "per 10,000"}
RULE_SETS = {"mdc": "Making Data Count (NHS, recommended)", "western_electric": "Western Electric",
             "nelson": "Nelson"}
RATIO_CHARTS = ("p", "pp", "u", "up")
DIRECTIONS = {"increase": "Higher is better", "decrease": "Lower is better", "neutral": "No better direction"}
KINDS = {"recalculate": "Recalculate the limits from this date (a rebase)",
         "exclude": "Exclude this point from the limits",
         "intervention": "Mark an intervention or event",
         "note": "Add a note"}


def _apply(path: str, indicator_id: str, message: str, action) -> None:
    """Run one write (which checks the role itself), recompute the indicator, say what happened."""
    try:
        action()
        n = data.recompute(path, [indicator_id])
    except SpcError as exc:   # includes spc.auth.Refused: nothing was written but the refusal
        st.session_state["analyst_flash"] = ("error", str(exc))
    else:
        st.session_state["analyst_flash"] = ("success", f"{message} Recomputed {n} series.")
    data.clear_cache()
    st.rerun()


def how_to_edit(path: str, who: Identity) -> None:
    """Why this page is read-only for this person, and what enables editing."""
    if who.method != "anonymous":
        st.info(f"You are signed in as a {who.role}: this page is read-only for you. An administrator can give "
                f"you the analyst role (`spc users role NAME analyst`, or the e-mail lists in "
                f"`.streamlit/secrets.toml`).", icon="🔒")
    elif signin.settings().oidc or signin.local_enabled(path):
        st.info("**Read-only.** Sign in as an analyst (in the sidebar) to change chart settings, recalculate "
                "limits or add and withdraw annotations.", icon="🔒")
    else:
        st.info("**Read-only: editing is not enabled.** Nobody can sign in to this app yet, so nothing can be "
                "changed here. To enable editing, add an analyst account and sign in with it from the sidebar:",
                icon="🔒")
        st.code(f"spc users add NAME --role analyst --db {path}", language="bash")
        st.markdown("or set up single sign-on (OpenID Connect, e.g. Microsoft Entra ID) in "
                    "`.streamlit/secrets.toml`: see *Sign-in and roles* in the README.")


def _prefill_recalculation(date, reason: str, area: str) -> None:
    """Fill the annotation form with a suggested recalculation for `area`; the analyst still saves it."""
    st.session_state["ann_kind"] = "recalculate"
    st.session_state["ann_date"] = date
    st.session_state["ann_reason"] = reason
    st.session_state["ann_scope"] = area


def suggestion(points: pl.DataFrame, unit: str, frequency: str) -> dict | None:
    """The recalculation date spc suggests for the limits drawn now (spc.narrative.levels), with
    its sentence and a prefilled reason; None when the latest phase holds one level."""
    from spc.narrative.levels import current_suggestions, suggestion_reason, suggestion_sentence

    found = current_suggestions(points)
    if found.is_empty():
        return None
    row = found.row(0, named=True)
    return {**row, "sentence": suggestion_sentence(row, unit, frequency),
            "reason": suggestion_reason(row, unit, frequency)}


def render(ov: Overview, path: str) -> None:
    """The analyst page: editable for analysts and admins, read-only (saying why) for everyone else."""
    st.title("Analyst controls")
    common.notices(ov)
    who = signin.current(path)
    editable = who.can("analyst")
    if editable:
        st.caption(f"Changes are recorded as **{literal(who.name)}** ({who.role}), with the time and your reason; "
                   "the audit trail lists every one.")
    else:
        how_to_edit(path, who)
    flash = st.session_state.pop("analyst_flash", None)
    if flash:
        (st.success if flash[0] == "success" else st.error)(literal(flash[1]))
    ind_id, area = choose_indicator(ov)
    meta = ov.indicators.filter(pl.col("id") == ind_id).row(0, named=True)
    sd = series_data(path, stamp(path), ind_id)
    summ = ov.summary.filter((pl.col("indicator_id") == ind_id) & (pl.col("area_code") == area))

    scopes = data.setting_scopes(ov, path, area)
    setting = sd.settings.filter(pl.col("area_code").is_in(list(scopes))).sort(
        pl.col("area_code").replace_strict(list(scopes), list(range(len(scopes)))))
    current = setting.row(0, named=True) if setting.height else {}
    s = summ.row(0, named=True) if summ.height else {}
    st.subheader("Chart settings")
    if current:
        scope_text = scopes[current["area_code"]]
        st.caption(f"Overridden for {scope_text} by {literal(current['author'])} on "
                   f"{common.fmt_time(current['updated_at'])}; the catalogue says {meta['chart']}, {meta['improvement']}.")
    elif not editable:
        st.caption(f"The catalogue's settings: {meta['chart']} chart, {DIRECTIONS[meta['improvement']].lower()}.")
    if editable:
        _settings_form(path, ind_id, area, meta, sd, current, s, who, scopes)

    st.subheader("Recalculation, exclusion and annotation dates")
    periods = sd.points.filter(pl.col("area_code") == area)["period"].to_list()
    offer = suggestion(sd.points.filter(pl.col("area_code") == area), meta["unit"], meta["frequency"])
    if offer:
        st.info(offer["sentence"])
    if editable:
        if offer:
            when = plots.format_period(offer["suggested_start"], meta["frequency"])
            st.button(f"Recalculate from {when}…", key="suggested_recalc", on_click=_prefill_recalculation,
                      args=(offer["suggested_start"], offer["reason"], area),
                      help="Fills in the form below with this date and a reason; nothing is saved until you "
                           "press 'Save and recompute'.")
        with st.form("annotation_form"):
            kind = st.selectbox("What", list(KINDS), format_func=KINDS.get, key="ann_kind")
            c1, c2 = st.columns(2)
            date = c1.selectbox("Date", list(reversed(periods)),
                                format_func=lambda d: plots.format_period(d, meta["frequency"]), key="ann_date")
            # the scopes a chart setting has: in a store of many forces, every area of this
            # area's force is offered apart from every area of every force
            if st.session_state.get("ann_scope") not in scopes:
                st.session_state["ann_scope"] = area  # another area's choice, or none yet
            ann_scope = c2.radio("For", list(scopes), format_func=scopes.get, horizontal=True, key="ann_scope")
            reason = st.text_area("Reason (shown on the chart and kept with the change)", key="ann_reason",
                                  max_chars=MAX_ANNOTATION_TEXT, height=80)
            added = st.form_submit_button("Save and recompute")
        if added:
            code = None if ann_scope == EVERY_AREA else ann_scope  # an annotation's every area is NULL
            _apply(path, ind_id, f"Saved: {KINDS[kind].lower()} at {plots.format_period(date, meta['frequency'])}.",
                   lambda: data.add_annotation(path, who, ind_id, code, date, kind, reason))

    anns = sd.all_annotations.filter(pl.col("indicator_id") == ind_id)
    area_names = dict(zip(ov.areas["code"].to_list(), ov.areas["name"].to_list()))
    if anns.height:
        st.markdown("**Dates recorded for this indicator** (withdrawn ones are kept, struck through):")
        labels: dict[int, str] = {}
        for a in anns.sort("date", descending=True).iter_rows(named=True):
            where = data.scope_name(ov, a["area_code"], area_names)
            when = plots.format_period(a["date"], meta["frequency"])
            line = (f"{when} — **{a['kind']}** ({literal(where)}): {literal(a['text'])} — "
                    f"{literal(a['author'])}, {common.fmt_time(a['created_at'])}")
            if a["deleted_at"] is not None:
                by = f" by {literal(a['withdrawn_by'])}" if a.get("withdrawn_by") else ""
                why = f": {literal(a['withdrawn_reason'])}" if a.get("withdrawn_reason") else ""
                st.markdown(f"~~{line}~~ (withdrawn{by} {common.fmt_time(a['deleted_at'])}{why})")
            else:
                st.markdown(line)
            state = "withdrawn" if a["deleted_at"] is not None else "in force"
            labels[a["id"]] = f"{when} — {a['kind']} ({where}): {a['text'][:60]} [{state}]"
        if editable:
            _withdraw_form(path, ind_id, anns, labels, who)
    else:
        st.caption("No dates recorded for this indicator yet.")

    st.subheader("The chart as it stands")
    points = sd.points.filter(pl.col("area_code") == area)
    if s:
        st.markdown(f"**{literal(s.get('status') or '')}** — chart: {s.get('chart')}, "
                    f"computed {common.fmt_time(s.get('computed_at'))}.")
    if points.height:
        live = data.store_forces(path, stamp(path)).covering(sd.annotations, area)
        st.plotly_chart(plots.control_chart(points, unit=meta["unit"], annotations=live, height=440,
                                            limits_note=plots.limits_note(s.get("chart"), meta["frequency"]),
                                            statistic=plots.statistic_title(s.get("chart_label"), meta["unit"])),
                        width="stretch", key="analyst_chart")
        if s.get("autocorrelated") and s.get("chart") != "xmr_ar1":
            st.caption(f"{autocorrelation.sentence(meta['frequency'], s.get('chart'))} "
                       f"({autocorrelation.detail(s.get('acf1'), s.get('acf1_basis'))}.) The chart type "
                       f"'{CHARTS['xmr_ar1']}' allows for it.")
        listed = plots.annotation_list(live, meta["frequency"])
        if listed:
            # the analysts' words, shown as typed; one line each (a Markdown hard break)
            st.markdown("  \n".join(literal(line) for line in listed))
    if editable and st.button("Recompute this indicator now", key="recompute"):
        _apply(path, ind_id, "Recomputed.",
               lambda: data.request_recompute(path, who, ind_id, "asked for on the Analyst page"))


def _settings_form(path: str, ind_id: str, area: str, meta: dict, sd, current: dict, s: dict,
                   who: Identity, scopes: dict[str, str]) -> None:
    """Chart type, direction and rule options for the series, saved with a reason, for one of
    `scopes` (series_setting.area_code to its name on the page)."""
    name = literal(meta["name"])
    # p and u charts need a denominator for every point; offer them only when there is one
    obs = sd.observations.filter(pl.col("area_code") == area)
    has_den = obs.height > 0 and obs["denominator"].null_count() == 0
    charts = [c for c in CHARTS if has_den or c not in RATIO_CHARTS]
    with st.form("settings_form"):
        c1, c2 = st.columns(2)
        chart_now = current.get("chart") or s.get("chart") or meta["chart"]
        chart_now = chart_now if chart_now in charts else "xmr"
        chart = c1.selectbox("Chart type", charts, index=charts.index(chart_now),
                             format_func=CHARTS.get, key="set_chart",
                             help=None if has_den else "p and u charts need a denominator, which this series lacks.")
        dir_now = current.get("improvement") or s.get("improvement") or meta["improvement"]
        improvement = c2.selectbox("Which direction is better", list(DIRECTIONS), index=list(DIRECTIONS).index(dir_now),
                                   format_func=DIRECTIONS.get, key="set_improvement")
        c3, c4, c5 = st.columns(3)
        shift = c3.number_input("Shift rule: points in a row on one side", 6, 8, int(current.get("shift") or 7),
                                key="set_shift")
        trend = c4.number_input("Trend rule: points in a row rising or falling", 6, 8, int(current.get("trend") or 7),
                                key="set_trend")
        two_sigma = c5.selectbox("'2 of 3' rule", ["current", "legacy"],
                                 index=0 if (current.get("two_sigma") or "current") == "current" else 1,
                                 key="set_two_sigma", help="current: MDC since Nov 2023; legacy: NHSRplotthedots 0.2.2")
        c6, c7 = st.columns(2)
        rule_now = current.get("rule_set") or "mdc"
        rule_set = c6.selectbox("Rules for a change beyond normal variation", list(RULE_SETS),
                                index=list(RULE_SETS).index(rule_now), format_func=RULE_SETS.get, key="set_rule_set")
        baseline = c7.number_input("Limits from the first N points of each phase (0 = all points)", 0, 200,
                                   int(current.get("baseline_points") or 0), key="set_baseline",
                                   help="Freeze the limits on a baseline period and extend them forward.")
        screen = st.checkbox("Screen unusually large moving ranges (recommended)",
                             value=current.get("screen_outliers") is not False, key="set_screen")
        c8, c9, c10 = st.columns(3)
        lam = c8.number_input("EWMA weight λ of the latest value", 0.05, 1.0, float(current.get("ewma_lambda") or 0.2),
                              step=0.05, key="set_ewma_lambda", help="EWMA chart only. 0.2 usual; smaller finds "
                              "smaller shifts, more slowly.")
        h = c9.selectbox("CUSUM decision interval (sigmas)", [5.0, 4.0], index=0 if (current.get("cusum_h") or 5) == 5 else 1,
                         key="set_cusum_h", help="CUSUM chart only (k = 0.5σ). 4 finds shifts sooner, with more false alarms.")
        mult_now = float(current.get("multiplier") or 1.0)
        mult = c10.selectbox("Rates shown", list(MULTIPLIERS), index=list(MULTIPLIERS).index(mult_now)
                             if mult_now in MULTIPLIERS else 0, format_func=MULTIPLIERS.get, key="set_multiplier",
                             help="p and u charts only: per N of the denominator.")
        seasonal = st.checkbox("Limits per calendar month (each month against the same month of other years; "
                               "needs 3 years)", value=bool(current.get("seasonal_limits")), key="set_seasonal",
                               help="Not for run, g, t, EWMA or CUSUM charts. Shown on the chart.")
        scope = st.radio("Apply to", list(scopes), format_func=scopes.get, horizontal=True, key="set_scope")
        reason = st.text_input("Reason for the change (kept in the audit trail)", key="set_reason",
                               max_chars=MAX_REASON)
        saved = st.form_submit_button("Save settings and recompute")
    if saved:
        _apply(path, ind_id, f"Saved chart settings for {meta['name']} ({scopes[scope]}).",
               lambda: data.save_setting(path, who, ind_id, scope, reason, chart=chart, improvement=improvement,
                                         shift=int(shift), trend=int(trend), two_sigma=two_sigma,
                                         screen_outliers=bool(screen), rule_set=rule_set,
                                         baseline_points=int(baseline) if baseline >= 2 else None,
                                         ewma_lambda=float(lam), cusum_h=float(h),
                                         multiplier=float(mult) if mult != 1.0 else None,
                                         seasonal_limits=bool(seasonal) or None))
    if current:
        with st.form("clear_setting_form", border=False):
            c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
            why = c1.text_input(f"Reason for going back to the catalogue's settings for {name}", key="clear_reason",
                                max_chars=MAX_REASON)
            cleared = c2.form_submit_button("Go back to the catalogue's settings")
        if cleared:
            _apply(path, ind_id, "Back to the catalogue's settings.",
                   lambda: data.clear_setting(path, who, ind_id, current["area_code"], why))


def _withdraw_form(path: str, ind_id: str, anns: pl.DataFrame, labels: dict[int, str], who: Identity) -> None:
    """Withdraw a date in force, or reinstate a withdrawn one, with a reason (both are recorded)."""
    with st.form("withdraw_form"):
        st.markdown("**Withdraw or reinstate a date**")
        chosen = st.selectbox("Date", list(labels), format_func=labels.get, key="wd_annotation")
        why = st.text_input("Reason (required)", key="wd_reason", max_chars=MAX_REASON)
        c1, c2 = st.columns(2)
        withdraw = c1.form_submit_button("Withdraw")
        reinstate = c2.form_submit_button("Reinstate")
    if withdraw:
        _apply(path, ind_id, "Withdrawn (kept, struck through; it can be reinstated).",
               lambda: data.withdraw_annotation(path, who, int(chosen), why))
    elif reinstate:
        _apply(path, ind_id, "Reinstated.", lambda: data.reinstate_annotation(path, who, int(chosen), why))
