"""Honest comparisons: two periods of one series, and many areas against each other (funnel plots).

A two-point comparison ("robbery up 114%") only means something next to the variation chance
gives. `compare_counts` and `compare_proportions` are the vectorised cores (numpy arrays in,
arrays out); `compare_periods` applies them to every series of a frame for two date windows,
measuring each series' own variation from its history (Poisson or binomial when that is all
there is, inflated when the series is overdispersed). `funnel` compares areas or forces for one
period against the overall value with 95% and 99.8% limits (Spiegelhalter 2005), with an
overdispersion adjustment, and `funnel_figure` draws it with plotly. `areas` chooses which areas a store's funnel compares
(the local areas of a force, the forces, a force's most similar group) and makes the funnel of
counts per 1,000 residents (`rate_funnel`) or of change against a year earlier (`change_funnel`).

Split along its jobs: `cores` (the vectorised tests), `periods` (two windows of every series)
and `funnel` (funnel plots and their figure). Import from `spc.compare`.
"""

from spc.compare.cores import (
    HIGHER,
    KINDS,
    LOWER,
    NOT_BEYOND,
    compare_counts,
    compare_means,
    compare_proportions,
)
from spc.compare.funnel import BAND_WORDS, Funnel, exact_limit, funnel, funnel_change, funnel_figure
from spc.compare.periods import compare_periods, dispersion
from spc.compare.areas import AreaFunnel, Units, change_funnel, choose_units, rate_funnel, ratio_funnel

__all__ = [
    "AreaFunnel",
    "Units",
    "change_funnel",
    "choose_units",
    "rate_funnel",
    "ratio_funnel",
    "BAND_WORDS",
    "HIGHER",
    "KINDS",
    "LOWER",
    "NOT_BEYOND",
    "Funnel",
    "compare_counts",
    "compare_means",
    "compare_periods",
    "compare_proportions",
    "dispersion",
    "exact_limit",
    "funnel",
    "funnel_change",
    "funnel_figure",
]
