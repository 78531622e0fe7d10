"""Write the corpus of bad import files beside this script (run once; the files are committed).

Each file is small and synthetic (no rows copied from the real police.uk data) and has exactly
one problem, named by its file name. tests/test_ingest_bad.py says what error each must get.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
STREET_HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
                 "Crime type,Last outcome category,Context")


def street_rows(n: int = 12, location: str = "On or near High Street") -> list[str]:
    """Synthetic police.uk street rows for 2024-01 (ASB rows have no ID and no outcome)."""
    # real LSOA codes and names (public identifiers), so the rows' districts are found by code
    areas = [("E01029846", "Tamworth 001A"), ("E01029691", "Stafford 010B"), ("E01014300", "Stoke-on-Trent 022C"),
             ("E01029480", "Lichfield 001A")]
    kinds = ["Anti-social behaviour", "Burglary", "Shoplifting", "Vehicle crime"]
    rows = []
    for i in range(n):
        kind = kinds[i % 4]
        crime_id = "" if kind == "Anti-social behaviour" else f"{i:064x}"
        outcome = "" if kind == "Anti-social behaviour" else "Under investigation"
        rows.append(f"{crime_id},2024-01,Staffordshire Police,Staffordshire Police,-1.9{i:02d},52.6{i:02d},"
                    f"{location},{areas[i % 4][0]},{areas[i % 4][1]},{kind},{outcome},")
    return rows


CALLS_HEADER = "Month,Calls received,Answered under 10s,Answered 10 to 59s,Answered 60s plus,Mean answer seconds"
CALLS_ROWS = ["2024-01,20000,17400,2000,600,9.4", "2024-02,18500,16000,1900,600,9.9",
              "2024-03,19200,16900,1800,500,8.8"]


def write(name: str, data: bytes | str) -> None:
    (HERE / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def main() -> None:
    good = [STREET_HEADER, *street_rows()]
    write("street_wrong_header.csv", "\n".join([STREET_HEADER.replace("Crime type", "Crime category"),
                                                 *street_rows()]) + "\n")
    write("street_wrong_delimiter.csv", "\n".join(line.replace(",", ";") for line in good) + "\n")
    cut = "\n".join(good) + "\n" + street_rows(13)[-1][:60]   # a download cut off mid-line
    write("street_truncated_last_line.csv", cut)
    write("street_empty.csv", b"")
    buffer = io.BytesIO()
    pl.DataFrame({"Month": ["2024-01"], "Crime type": ["Burglary"]}).write_parquet(buffer)
    write("street_another_format.csv", buffer.getvalue())
    write("street_windows_1252.csv", ("\r\n".join([STREET_HEADER, *street_rows(location="On or near Café Row")])
                                       + "\r\n").encode("cp1252"))
    write("street_utf8_bom.csv", b"\xef\xbb\xbf" + ("\r\n".join(good) + "\r\n").encode("utf-8"))
    write("calls_999_text_in_count.csv", "\n".join([CALLS_HEADER, CALLS_ROWS[0],
                                                     "2024-02,n/a,16000,1900,600,9.9", CALLS_ROWS[2]]) + "\n")
    write("calls_999_negative_count.csv", "\n".join([CALLS_HEADER, CALLS_ROWS[0],
                                                      "2024-02,18500,-16000,1900,600,9.9", CALLS_ROWS[2]]) + "\n")
    write("calls_999_duplicated_month.csv", "\n".join([CALLS_HEADER, *CALLS_ROWS,
                                                        "2024-02,18400,16100,1700,600,9.5"]) + "\n")
    write("tidy_numerator_above_denominator.csv", "\n".join([
        "indicator,area,period,numerator,denominator",
        "calls_999_answered_10s,staffordshire,2024-01-01,17400,20000",
        "calls_999_answered_10s,staffordshire,2024-02-01,19000,18500",
        "calls_999_answered_10s,staffordshire,2024-03-01,16900,19200"]) + "\n")


if __name__ == "__main__":
    main()
