"""Annotation tables: .xlsx sheets (openpyxl) and .csv files as rows of cells keyed by column.

Columns are found by header *name*, never by position: names are compared without case,
spaces or underscores, so ``OnsetFrame`` and ``Onset Frame`` are the same column. The header
row is searched for (SAMM's sits below 13 rows of notes). Every row keeps its 1-based row
number in the file so problems can name it. An unreadable file or a missing column is always
a ``DatasetError`` naming the file.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

from ..records import DatasetError

HEADER_SEARCH_ROWS = 40  # the header row must be among the first rows of a sheet

Row = tuple[int, dict[str, object]]  # (1-based row number in the file, {column key: cell value})


def column_key(name: object) -> str:
    return "".join(str(name).lower().split()).replace("_", "") if name is not None else ""


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _rows_below_header(rows: list[tuple], required: tuple[str, ...], optional: tuple[str, ...]) -> list[Row] | None:
    """Rows under the first row holding every required column, or None if there is no such row."""
    need = {column_key(c) for c in required}
    for h, header in enumerate(rows[:HEADER_SEARCH_ROWS]):
        keys = [column_key(v) for v in header]
        if not need <= set(keys):
            continue
        wanted = need | {column_key(c) for c in optional}
        where = {k: i for i, k in reversed(list(enumerate(keys))) if k in wanted}  # first occurrence wins
        out = []
        for r, values in enumerate(rows[h + 1 :], start=h + 2):
            if all(_is_blank(v) for v in values):
                continue  # blank spacer / trailing rows carry no data
            out.append((r, {k: (values[i] if i < len(values) else None) for k, i in where.items()}))
        return out
    return None


def _missing_message(path: Path, kind: str, required: tuple[str, ...]) -> str:
    return f"{path}: malformed annotation file: no {kind} has a header row with the columns {', '.join(required)}"


def read_xlsx(path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[Row]:
    """Data rows of the first sheet whose header row holds every ``required`` column."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: annotation file not found")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise DatasetError(f"{path}: unreadable annotation file, not an .xlsx spreadsheet ({e})") from None
    try:
        for sheet in book.worksheets:
            found = _rows_below_header([tuple(r) for r in sheet.iter_rows(values_only=True)], required, optional)
            if found is not None:
                return found
    finally:
        book.close()
    raise DatasetError(_missing_message(path, "sheet", required))


def _read_text(path: Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: annotation file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (UnicodeDecodeError, OSError) as e:
        raise DatasetError(f"{path}: unreadable annotation file, not a text .csv ({e})") from None
    if "\x00" in text:
        raise DatasetError(f"{path}: unreadable annotation file, not a text .csv (binary content)")
    return text


def read_csv(path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[Row]:
    """Data rows of a .csv file with a header row holding every ``required`` column."""
    rows = [tuple(r) for r in csv.reader(_read_text(path).splitlines())]
    found = _rows_below_header(rows, required, optional)
    if found is None:
        raise DatasetError(_missing_message(Path(path), "file", required))
    return found


def read_csv_plain(path: Path, columns: tuple[str, ...]) -> list[Row]:
    """Data rows of a header-less .csv whose fields are ``columns`` in this order.

    Each row also carries ``"#fields"``, its number of fields, so the caller can report a row
    of another width; a file whose first row is not ``len(columns)`` fields wide is malformed.
    """
    rows = [tuple(r) for r in csv.reader(_read_text(path).splitlines())]
    data = [(r, values) for r, values in enumerate(rows, start=1) if not all(_is_blank(v) for v in values)]
    if not data or len(data[0][1]) != len(columns):
        raise DatasetError(
            f"{path}: malformed annotation file: expected {len(columns)} comma-separated fields "
            f"({', '.join(columns)}) per row, no header"
        )
    keys = [column_key(c) for c in columns]
    return [(r, {**dict(zip(keys, values)), "#fields": len(values)}) for r, values in data]
