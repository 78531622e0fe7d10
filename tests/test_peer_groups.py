"""Which areas a funnel compares (spc.compare.choose_units): a force's local areas, the forces
of a store of many, a force and its most similar group; and what is said when a store cannot."""

from __future__ import annotations

import polars as pl
import pytest

from spc.compare import choose_units
from spc.errors import SpcError

FORCES = ["staffordshire", "nottinghamshire", "wiltshire", "derbyshire", "city-of-london"]
PEERS = pl.DataFrame({"force": ["staffordshire"] * 3 + ["nottinghamshire"],
                      "peer": ["nottinghamshire", "wiltshire", "derbyshire", "staffordshire"],
                      "rank": [1, 2, 3, 1]})


def store(forces: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Areas (each force, two partnership areas each, a national area) and area_forces."""
    rows = [(f, f.title() + " Police", "force") for f in forces]
    rows += [(f"{f}-{i}", f"{f.title()} area {i}", "community safety partnership area") for f in forces for i in (1, 2)]
    rows += [("wiltshire-district", "Wiltshire", "district")] if "wiltshire" in forces else []
    rows.append(("england-and-wales", "England and Wales", "national"))
    areas = pl.DataFrame(rows, schema=["code", "name", "type"], orient="row")
    links = [(f, f) for f in forces] + [(f"{f}-{i}", f) for f in forces for i in (1, 2)]
    return areas, pl.DataFrame(links, schema=["area_code", "force_code"], orient="row")


def test_one_force_store_compares_its_local_areas_by_default() -> None:
    areas, links = store(["staffordshire"])
    u = choose_units(areas, links)
    assert (u.level, u.force, u.codes) == ("district", "staffordshire", ["staffordshire-1", "staffordshire-2"])
    assert u.description == "the local areas of Staffordshire Police"
    with pytest.raises(SpcError, match="holds one force.*spc db init --force all"):
        choose_units(areas, links, level="force")
    # a store from before schema 9 (no area_force rows): its one force's partnership areas
    assert choose_units(areas, links.clear()).codes == ["staffordshire-1", "staffordshire-2"]


def test_many_force_store_compares_forces_or_one_force_s_areas() -> None:
    areas, links = store(FORCES)
    u = choose_units(areas, links)
    assert u.level == "force" and sorted(u.codes) == sorted(FORCES)
    assert "england-and-wales" not in u.codes
    u = choose_units(areas, links, force="wiltshire")
    assert u.level == "district" and u.codes == ["wiltshire-1", "wiltshire-2"]  # never the force itself
    with pytest.raises(SpcError, match="needs --force NAME"):
        choose_units(areas, links, level="district")
    with pytest.raises(SpcError, match="no such force.*staffordshire"):
        choose_units(areas, links, force="gwent")


def test_most_similar_group_is_the_force_and_its_peers_in_rank_order() -> None:
    areas, links = store(FORCES)
    u = choose_units(areas, links, group="msg", force="staffordshire", peers=PEERS)
    assert u.level == "msg" and u.codes == ["staffordshire", "nottinghamshire", "wiltshire", "derbyshire"]
    assert "city-of-london" not in u.codes and u.notes == []
    # a peer the store does not hold is left out, and said
    areas3, links3 = store(["staffordshire", "nottinghamshire", "wiltshire"])
    u = choose_units(areas3, links3, group="msg", force="staffordshire", peers=PEERS)
    assert u.codes == ["staffordshire", "nottinghamshire", "wiltshire"] and "derbyshire" in u.notes[0]
    with pytest.raises(SpcError, match="--group msg needs --force"):
        choose_units(areas, links, group="msg", peers=PEERS)
    with pytest.raises(SpcError, match="no most similar group"):
        choose_units(areas, links, group="msg", force="city-of-london", peers=PEERS)
    with pytest.raises(SpcError, match="cannot be combined with --level district"):
        choose_units(areas, links, group="msg", level="district", force="staffordshire", peers=PEERS)


def test_most_similar_group_in_a_one_force_store_says_how_to_build_a_national_one() -> None:
    areas, links = store(["staffordshire"])
    with pytest.raises(SpcError) as err:
        choose_units(areas, links, group="msg", peers=PEERS)
    said = str(err.value)
    assert "nottinghamshire, wiltshire, derbyshire" in said and "figures for staffordshire only" in said
    assert "spc db init --force all" in said and "spc import police-uk" in said


def test_unknown_choices_are_user_errors() -> None:
    areas, links = store(["staffordshire"])
    with pytest.raises(SpcError, match="--level 'lsoa': expected district or force"):
        choose_units(areas, links, level="lsoa")
    with pytest.raises(SpcError, match="--group 'family'"):
        choose_units(areas, links, group="family")
