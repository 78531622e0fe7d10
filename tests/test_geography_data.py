"""Checks on the reference geography shipped in data/geography/ (see its README.md).

These read the committed files only; nothing is downloaded.
"""

from pathlib import Path

import polars as pl
import pytest

GEO = Path(__file__).resolve().parent.parent / "data" / "geography"

STAFFORDSHIRE_DISTRICTS = {
    "Cannock Chase",
    "East Staffordshire",
    "Lichfield",
    "Newcastle-under-Lyme",
    "South Staffordshire",
    "Stafford",
    "Staffordshire Moorlands",
    "Tamworth",
    "Stoke-on-Trent",
}

# Bournemouth, Christchurch and Poole; Buckinghamshire; North and West Northamptonshire; Cumberland;
# Westmorland and Furness; East Suffolk
OWN_PARTNERSHIP = {"E06000058", "E06000060", "E06000061", "E06000062", "E06000063", "E06000064", "E07000244"}

# ONS mid-year population estimates, England and Wales (K04000001), all ages, persons:
# "Estimates of the population for England and Wales, mid-2023" (ONS, 15 July 2024),
# table MYE5. Mid-2022: 60,245,218; mid-2023: 60,854,727.
EW_TOTAL = {2022: 60_245_218, 2023: 60_854_727}


def read(name: str) -> pl.DataFrame:
    return pl.read_csv(GEO / name, infer_schema_length=0)


@pytest.fixture(scope="module")
def forces() -> pl.DataFrame:
    return read("forces.csv")


@pytest.fixture(scope="module")
def districts() -> pl.DataFrame:
    return read("districts.csv")


@pytest.fixture(scope="module")
def lsoa() -> pl.DataFrame:
    return read("lsoa_districts.csv.gz")


@pytest.fixture(scope="module")
def population() -> pl.DataFrame:
    return read("population.csv").with_columns(
        pl.col("year").cast(pl.Int64), pl.col("population").cast(pl.Int64)
    )


@pytest.fixture(scope="module")
def msg() -> pl.DataFrame:
    return read("most_similar_groups.csv").with_columns(pl.col("rank").cast(pl.Int64))


def test_headers(forces, districts, lsoa, population, msg):
    assert forces.columns == ["force", "name", "pfa_code", "falls_within"]
    assert districts.columns == [
        "lad_code", "lad_name", "csp_code", "csp_name", "pfa_code", "pfa_name", "force",
    ]
    assert lsoa.columns == ["lsoa_code", "lad_code"]
    assert population.columns == ["lad_code", "year", "population"]
    assert msg.columns == ["force", "peer", "rank"]


def test_forces(forces):
    assert forces.height == 44
    assert forces["force"].is_unique().all()
    assert forces["falls_within"].is_unique().all()
    assert forces["force"].str.contains(r"^[a-z]+(-[a-z]+)*$").all()
    territorial = forces.filter(pl.col("force") != "btp")
    assert territorial["pfa_code"].str.contains(r"^(E23|W15)\d{6}$").all()
    assert territorial["pfa_code"].is_unique().all()
    assert territorial["pfa_code"].str.starts_with("W15").sum() == 4
    btp = forces.filter(pl.col("force") == "btp").row(0, named=True)
    assert btp["pfa_code"] is None and btp["falls_within"] == "British Transport Police"
    falls = dict(zip(forces["force"], forces["falls_within"]))
    assert falls["staffordshire"] == "Staffordshire Police"
    assert falls["metropolitan"] == "Metropolitan Police Service"


def test_district_codes_well_formed(districts):
    assert districts["lad_code"].is_unique().all()
    assert districts["lad_code"].str.contains(r"^(E06|E07|E08|E09|W06)\d{6}$").all()
    # ONS codes CSPs E22 in England and W14 in Wales. The seven districts that ONS (December 2023)
    # still lists under their predecessors' CSPs are their own partnership: csp_code = lad_code
    # (see README).
    own = districts.filter(pl.col("csp_code") == pl.col("lad_code"))
    assert set(own["lad_code"]) == OWN_PARTNERSHIP
    assert (own["csp_name"] == own["lad_name"]).all()
    rest = districts.filter(pl.col("csp_code") != pl.col("lad_code"))
    assert rest["csp_code"].str.contains(r"^(E22|W14)\d{6}$").all()
    # a partnership lies within one force and has one name
    per_csp = districts.group_by("csp_code").agg(pl.col("force").n_unique(), pl.col("csp_name").n_unique())
    assert per_csp["force"].max() == 1 and per_csp["csp_name"].max() == 1
    assert districts["pfa_code"].str.contains(r"^(E23|W15)\d{6}$").all()
    for row in districts.iter_rows(named=True):
        assert row["lad_code"][0] == row["pfa_code"][0]


def test_every_district_in_exactly_one_force(districts, forces):
    assert districts["force"].null_count() == 0
    assert districts.group_by("lad_code").agg(pl.col("force").n_unique())["force"].max() == 1
    known = set(forces["force"])
    assert set(districts["force"]) <= known
    territorial = set(forces.filter(pl.col("force") != "btp")["force"])
    assert set(districts["force"]) == territorial
    # the district's PFA code is the force's
    j = districts.join(forces, on="force", suffix="_f")
    assert (j["pfa_code"] == j["pfa_code_f"]).all()


def test_staffordshire_and_london(districts):
    staffs = districts.filter(pl.col("force") == "staffordshire")
    assert set(staffs["lad_name"]) == STAFFORDSHIRE_DISTRICTS
    city = districts.filter(pl.col("force") == "city-of-london")
    assert city.height == 1 and city["lad_code"][0] == "E09000001"
    met = districts.filter(pl.col("force") == "metropolitan")
    assert met.height == 32 and met["lad_code"].str.starts_with("E09").all()


def test_lsoa_lookup(lsoa, districts):
    assert lsoa["lsoa_code"].is_unique().all()
    assert lsoa["lsoa_code"].str.contains(r"^(E01|W01)\d{6}$").all()
    assert set(lsoa["lad_code"]) <= set(districts["lad_code"])
    assert set(districts["lad_code"]) <= set(lsoa["lad_code"])
    # 2011 LSOAs (34,753) and 2021 LSOAs (35,672) less the codes in both
    assert 35_672 <= lsoa.height <= 34_753 + 35_672
    by_code = dict(zip(lsoa["lsoa_code"], lsoa["lad_code"]))
    # Stoke-on-Trent 001A (in both sets); 2011 LSOAs of abolished districts map to the
    # current one: Aylesbury Vale 001A -> Buckinghamshire, Allerdale 001A -> Cumberland,
    # Taunton Deane 001A -> Somerset; Stafford 010F is a 2021-only code.
    assert by_code["E01014257"] == "E06000021"
    assert by_code["E01017648"] == "E06000060"
    assert by_code["E01019126"] == "E06000063"
    assert by_code["E01029258"] == "E06000066"
    assert by_code["E01034047"] == "E07000197"


def test_population(population, districts):
    assert set(population["lad_code"]) <= set(districts["lad_code"])
    assert population.select(pl.struct("lad_code", "year").is_unique().all()).item()
    assert (population["population"] > 0).all()
    for year, total in EW_TOTAL.items():
        sub = population.filter(pl.col("year") == year)
        assert set(sub["lad_code"]) == set(districts["lad_code"])
        assert abs(sub["population"].sum() - total) <= 0.01 * total
    staffs = set(districts.filter(pl.col("force") == "staffordshire")["lad_code"])
    p22 = population.filter((pl.col("year") == 2022) & pl.col("lad_code").is_in(list(staffs)))
    assert 1_100_000 < p22["population"].sum() < 1_200_000


def test_most_similar_groups(msg, forces):
    known = set(forces["force"])
    assert set(msg["force"]) <= known and set(msg["peer"]) <= known
    assert (msg["force"] != msg["peer"]).all()
    assert msg.select(pl.struct("force", "peer").is_unique().all()).item()
    ranks = msg.group_by("force").agg(pl.col("rank").sort(), pl.len())
    for row in ranks.iter_rows(named=True):
        assert row["rank"] == list(range(1, 8))  # 7 peers each, ranked 1..7
    # every territorial force has a group except the City of London, which (as in the published
    # Home Office MSGs) has none and is in none; BTP has none
    grouped = set(forces.filter(~pl.col("force").is_in(["btp", "city-of-london"]))["force"])
    assert set(msg["force"]) == grouped
    assert set(msg["peer"]) <= grouped


@pytest.fixture(scope="module")
def similarity() -> pl.DataFrame:
    return read("force_similarity.csv").with_columns(
        pl.col("population", "lsoas", "deprived_lsoas").cast(pl.Int64),
        pl.col("area_km2", "density", "deprived_share").cast(pl.Float64),
        pl.col("grouped") == "true",
    )


def test_force_similarity_inputs(similarity, forces, districts, population):
    assert similarity.columns == [
        "force", "nation", "population", "area_km2", "density", "lsoas", "deprived_lsoas",
        "deprived_share", "grouped",
    ]
    assert set(similarity["force"]) == set(forces.filter(pl.col("force") != "btp")["force"])
    # population is the mid-2023 sum of the force's districts
    p23 = (population.filter(pl.col("year") == 2023).join(districts.select("lad_code", "force"), on="lad_code")
           .group_by("force").agg(pl.col("population").sum().alias("p23")))
    chk = similarity.join(p23, on="force")
    assert (chk["population"] == chk["p23"]).all()
    assert abs(similarity["area_km2"].sum() - 151_047.0) < 1  # England and Wales, ONS MYE5
    wales = {"dyfed-powys", "gwent", "north-wales", "south-wales"}
    assert set(similarity.filter(pl.col("nation") == "W")["force"]) == wales
    by_nation = dict(similarity.group_by("nation").agg(pl.col("lsoas").sum()).iter_rows())
    deprived = dict(similarity.group_by("nation").agg(pl.col("deprived_lsoas").sum()).iter_rows())
    assert by_nation == {"E": 32_844, "W": 1_909}  # 2011 LSOAs in IMD 2019 and WIMD 2019
    assert deprived == {"E": 3_284, "W": 191}  # each nation's most deprived decile
    assert ((similarity["density"] - similarity["population"] / similarity["area_km2"]).abs() <= 0.05).all()
    assert ((similarity["deprived_share"] - similarity["deprived_lsoas"] / similarity["lsoas"]).abs()
            <= 0.00005).all()
    assert similarity.filter(~pl.col("grouped"))["force"].to_list() == ["city-of-london"]
    staffs = similarity.row(by_predicate=pl.col("force") == "staffordshire", named=True)
    assert staffs["population"] == 1_161_678 and staffs["lsoas"] == 687


def test_most_similar_groups_recomputed_from_inputs(similarity, msg):
    """The groups are the 7 nearest forces on standardised ln(density), deprived share and
    ln(population), Euclidean distance, equal weights (data/geography/README.md)."""
    f = similarity.filter(pl.col("grouped"))

    def z(e: pl.Expr) -> pl.Expr:
        return (e - e.mean()) / e.std()

    f = f.select(
        "force",
        z((pl.col("population") / pl.col("area_km2")).log()).alias("a"),
        z(pl.col("deprived_lsoas") / pl.col("lsoas")).alias("b"),
        z(pl.col("population").cast(pl.Float64).log()).alias("c"),
    )
    pairs = (f.join(f, how="cross", suffix="_p").filter(pl.col("force") != pl.col("force_p"))
             .with_columns(d=((pl.col("a") - pl.col("a_p")) ** 2 + (pl.col("b") - pl.col("b_p")) ** 2
                              + (pl.col("c") - pl.col("c_p")) ** 2).sqrt())
             .sort("force", "d", "force_p")
             .with_columns(rank=pl.col("d").rank("ordinal").over("force").cast(pl.Int64))
             .filter(pl.col("rank") <= 7)
             .select("force", pl.col("force_p").alias("peer"), "rank"))
    assert pairs.sort("force", "rank").equals(msg.sort("force", "rank"))
