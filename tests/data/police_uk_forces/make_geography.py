"""Write a small reference geography (data/geography's formats) for the police.uk import tests.

Run once; the files in geography/ are committed. It covers every LSOA code in the real police.uk
files the tests import (../shared/realdata/police_uk/: Staffordshire's street files and the
Avon and Somerset and Bedfordshire samples), so those files import without an unknown LSOA:

* staffordshire: its nine districts, one partnership each (real codes, as the demo).
* avon-and-somerset: its five districts (real codes; 2011 LSOAs named Sedgemoor/Mendip/... are in
  Somerset, as the real lookup maps them to the current district).
* bedfordshire: Bedford, Central Bedfordshire and Luton (real codes). INVENTED for the tests:
  Bedford and Central Bedfordshire form one partnership (E22999901), so its districts are areas
  of their own and a row counts towards both.
* every other district named by an LSOA in those files (Birmingham, Cardiff, ...): an invented
  code E07999xxx, all under west-midlands (only so the lookup is complete: Staffordshire's rows
  there are "outside" rows either way).
* btp and city-of-london as forces; no Northern Ireland (police.uk's `northern-ireland` files are
  not a force of England and Wales).

LSOA -> district comes from the LSOA name's district ("Tamworth 001A" -> Tamworth): fine for a
fixture; the shipped lookup is ONS's. Populations are invented.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
OUT = HERE / "geography"
REALDATA = Path("/work/shared/realdata/police_uk")

FORCES = [
    ("avon-and-somerset", "Avon and Somerset Constabulary", "E23000036", "Avon and Somerset Constabulary"),
    ("bedfordshire", "Bedfordshire Police", "E23000026", "Bedfordshire Police"),
    ("btp", "British Transport Police", "", "British Transport Police"),
    ("city-of-london", "City of London Police", "E23000034", "City of London Police"),
    ("staffordshire", "Staffordshire Police", "E23000015", "Staffordshire Police"),
    ("west-midlands", "West Midlands Police", "E23000014", "West Midlands Police"),
]
PFA = {f[0]: (f[2], f[1].replace(" Constabulary", "").replace(" Police", "")) for f in FORCES}
# (lad_code, lad_name, csp_code, csp_name, force)
DISTRICTS = [
    ("E07000192", "Cannock Chase", "E22000192", "Cannock Chase", "staffordshire"),
    ("E07000193", "East Staffordshire", "E22000193", "East Staffordshire", "staffordshire"),
    ("E07000194", "Lichfield", "E22000194", "Lichfield", "staffordshire"),
    ("E07000195", "Newcastle-under-Lyme", "E22000195", "Newcastle-under-Lyme", "staffordshire"),
    ("E07000196", "South Staffordshire", "E22000196", "South Staffordshire", "staffordshire"),
    ("E07000197", "Stafford", "E22000197", "Stafford", "staffordshire"),
    ("E07000198", "Staffordshire Moorlands", "E22000198", "Staffordshire Moorlands", "staffordshire"),
    ("E07000199", "Tamworth", "E22000199", "Tamworth", "staffordshire"),
    ("E06000021", "Stoke-on-Trent", "E22000021", "Stoke-on-Trent", "staffordshire"),
    ("E06000022", "Bath and North East Somerset", "E22000022", "Bath and North East Somerset", "avon-and-somerset"),
    ("E06000023", "Bristol", "E22000023", "Bristol", "avon-and-somerset"),
    ("E06000024", "North Somerset", "E22000024", "North Somerset", "avon-and-somerset"),
    ("E06000025", "South Gloucestershire", "E22000025", "South Gloucestershire", "avon-and-somerset"),
    ("E06000066", "Somerset", "E22000066", "Somerset", "avon-and-somerset"),
    ("E06000055", "Bedford", "E22999901", "Bedford and Central Bedfordshire", "bedfordshire"),
    ("E06000056", "Central Bedfordshire", "E22999901", "Bedford and Central Bedfordshire", "bedfordshire"),
    ("E06000032", "Luton", "E22000032", "Luton", "bedfordshire"),
]
#: 2011 LSOA names of districts since merged into Somerset.
SOMERSET = ("Sedgemoor", "Mendip", "South Somerset", "Taunton Deane", "West Somerset", "Somerset West and Taunton")


def main() -> None:
    files = sorted(REALDATA.glob("*/*/*.csv")) + sorted(REALDATA.glob("samples/*.csv"))
    lsoas = (pl.concat([pl.read_csv(f, infer_schema=False, columns=["LSOA code", "LSOA name"]) for f in files])
             .drop_nulls().unique()
             .select(pl.col("LSOA code").alias("lsoa_code"),
                     pl.col("LSOA name").str.replace(r"\s*\d{3}[A-Z]$", "").alias("name"))
             .with_columns(pl.when(pl.col("name").is_in(SOMERSET)).then(pl.lit("Somerset"))
                           .otherwise(pl.col("name")).alias("name")))
    known = {d[1]: d[0] for d in DISTRICTS}
    others = sorted(set(lsoas["name"]) - set(known))
    districts = list(DISTRICTS) + [(f"E07999{i:03d}", name, f"E22999{i:03d}", name, "west-midlands")
                                   for i, name in enumerate(others, start=100)]
    known.update({d[1]: d[0] for d in districts})
    OUT.mkdir(exist_ok=True)
    pl.DataFrame(FORCES, schema=["force", "name", "pfa_code", "falls_within"], orient="row").write_csv(
        OUT / "forces.csv")
    pl.DataFrame([(lad, name, csp, csp_name, PFA[force][0], PFA[force][1], force)
                  for lad, name, csp, csp_name, force in districts],
                 schema=["lad_code", "lad_name", "csp_code", "csp_name", "pfa_code", "pfa_name", "force"],
                 orient="row").write_csv(OUT / "districts.csv")
    table = lsoas.select("lsoa_code", pl.col("name").replace_strict(known).alias("lad_code")).unique().sort("lsoa_code")
    (OUT / "lsoa_districts.csv.gz").write_bytes(gzip.compress(table.write_csv().encode(), mtime=0))
    pl.DataFrame([(d[0], year, 100_000 + 1_000 * i + 10 * (year - 2021)) for i, d in enumerate(districts)
                  for year in (2021, 2022)], schema=["lad_code", "year", "population"], orient="row").write_csv(
        OUT / "population.csv")
    pl.DataFrame([("staffordshire", "bedfordshire", 1), ("staffordshire", "avon-and-somerset", 2),
                  ("bedfordshire", "staffordshire", 1), ("avon-and-somerset", "staffordshire", 1)],
                 schema=["force", "peer", "rank"], orient="row").write_csv(OUT / "most_similar_groups.csv")


if __name__ == "__main__":
    main()
