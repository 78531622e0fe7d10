"""Which police.uk files an import takes: names, forces, month folders, and the crime types they count."""

from __future__ import annotations

import re
from collections import Counter


from spc.errors import SpcError
from spc.ingest.base import Context
from spc.ingest.files import FileRejected, SourceFile


SOURCE = "police-uk"


#: police.uk crime types and the indicators they count towards.
CRIME_TYPES = {
    "Anti-social behaviour": "asb_incidents",
    "Bicycle theft": "crime_bicycle_theft",
    "Burglary": "crime_burglary",
    "Criminal damage and arson": "crime_criminal_damage_arson",
    "Drugs": "crime_drugs",
    "Other crime": "crime_other_crime",
    "Other theft": "crime_other_theft",
    "Possession of weapons": "crime_possession_of_weapons",
    "Public order": "crime_public_order",
    "Robbery": "crime_robbery",
    "Shoplifting": "crime_shoplifting",
    "Theft from the person": "crime_theft_from_the_person",
    "Vehicle crime": "crime_vehicle_crime",
    "Violence and sexual offences": "crime_violence_and_sexual_offences",
}


#: The crime types summed into `neighbourhood_crime` (see the module docstring).
NEIGHBOURHOOD_CRIME = ("crime_burglary", "crime_robbery", "crime_theft_from_the_person", "crime_vehicle_crime")


_NAME = re.compile(r"^(\d{4}-\d{2})-(.+)-(street|outcomes)\.csv$", re.IGNORECASE)


_MONTH_FOLDER = re.compile(r"^\d{4}-\d{2}$")


STREET_COLUMNS = {"month": ("Month",), "crime_type": ("Crime type",), "lsoa_code": ("LSOA code",),
                  "lsoa_name": ("LSOA name",), "falls_within": ("Falls within",), "reported_by": ("Reported by",)}


OUTCOME_COLUMNS = {"month": ("Month",), "outcome_type": ("Outcome type",), "falls_within": ("Falls within",),
                   "reported_by": ("Reported by",)}


_MAKE_STORE = "make a store for it with `spc db init --force {force}` (or `spc db init --force all` for every force)"


def patterns(ctx: Context) -> tuple[str, ...]:
    """File names taken from folders and archives: every force's street and outcomes files."""
    return ("*-street.csv", "*-outcomes.csv")


def name_parts(file: SourceFile) -> tuple[str, str, str] | None:
    """(month, force, kind) from a police.uk file name, or None for a file named otherwise."""
    match = _NAME.match(file.basename)
    return (match.group(1), match.group(2).lower(), match.group(3).lower()) if match else None


def _known_forces() -> list[str] | None:
    """The forces of England and Wales in the lookup (None when it cannot be read)."""
    try:
        from spc.geography import forces
        return forces().get_column("force").to_list()
    except (ImportError, SpcError, OSError):
        return None


def check_context(ctx: Context) -> None:
    """Read the geography lookups before anything is written (their own checks, e.g. a district in
    two forces, stop the import with the lookup's message)."""
    from spc.geography import districts, forces, lsoa_districts
    forces()
    districts()
    lsoa_districts()


def select_files(files: list[SourceFile], ctx: Context) -> tuple[list[SourceFile], list[str]]:
    """The files to import and notes on those skipped: files found in folders and archives for
    forces the store does not hold are skipped (a file named on the command line is kept, and
    refused by `parse` with the same advice)."""
    kept: list[SourceFile] = []
    skipped: Counter[str] = Counter()
    for file in files:
        parts = name_parts(file)
        if parts is None or file.explicit or parts[1] in ctx.forces:
            kept.append(file)
        else:
            skipped[parts[1]] += 1
    if not skipped:
        return kept, []
    known = _known_forces()
    unknown = sorted(f for f in skipped if known is not None and f not in known)
    makeable = sorted(f for f in skipped if f not in unknown)
    listed = ", ".join(f"{force} ({n} file{'s' if n > 1 else ''})" for force, n in sorted(skipped.items()))
    note = (f"skipped {sum(skipped.values())} file(s) of {len(skipped)} force(s) this store does not hold "
            f"(it holds {', '.join(ctx.forces)}): {listed}.")
    if makeable:
        note += (f" To import them, make a store for them with `spc db init --force {','.join(makeable[:3])}"
                 f"{',...' if len(makeable) > 3 else ''}` (or `spc db init --force all` for every force).")
    if unknown:
        note += (f" Not forces of England and Wales in the geography lookup (forces.csv), so no store can hold them: "
                 f"{', '.join(unknown)}.")
    if not kept:
        raise SpcError(f"no file is for this store's force{'s' if len(ctx.forces) > 1 else ''}: {note}")
    return kept, [note]


def _force_of(file: SourceFile, ctx: Context) -> str:
    parts = name_parts(file)
    if parts is None:
        if len(ctx.forces) == 1:
            return ctx.forces[0]
        raise FileRejected("cannot tell the force: police.uk files are named YYYY-MM-<force>-street.csv or "
                           f"-outcomes.csv, and this store holds {len(ctx.forces)} forces")
    force = parts[1]
    if force not in ctx.forces:
        known = _known_forces()
        held = ", ".join(ctx.forces[:8]) + (", ..." if len(ctx.forces) > 8 else "")
        if known is not None and force not in known:
            raise FileRejected(f"file is for force '{force}', which is not a force of England and Wales in the "
                               f"geography lookup (forces.csv); this store holds {held}", value=force)
        raise FileRejected(f"file is for force '{force}', which this store does not hold (it holds {held}): "
                           + _MAKE_STORE.format(force=force), value=force)
    folder = file.folder
    if folder and _MONTH_FOLDER.match(folder) and folder != parts[0]:
        raise FileRejected(f"the file name's month {parts[0]} is not its month folder's month {folder} "
                           "(a police.uk month folder holds that month's files only)", value=parts[0])
    return force


#: Most files imported as one step (a month of the national archive: 44 street and 44 outcomes files).
GROUP_FILES = 100


def group_files(files: list[SourceFile]) -> list[list[SourceFile]]:
    """The files in import steps: consecutive files of the same month (file name or folder), at
    most GROUP_FILES at a time, so memory holds one month's needed columns, not the archive."""
    groups: list[list[SourceFile]] = []
    last = object()
    for file in files:
        parts = name_parts(file)
        month = parts[0] if parts else file.folder
        if not groups or month != last or len(groups[-1]) >= GROUP_FILES:
            groups.append([])
        groups[-1].append(file)
        last = month
    return groups
