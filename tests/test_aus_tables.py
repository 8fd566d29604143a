"""The AU string parser over every distinct AU string of the real annotation tables.

Each expected parse below was written by reading the string (mpt_core/aus.py documents the notation):
a plain string is the AUs present; a tuple is (present, uncertain, unparsed terms); UNKNOWN is "not coded".
The test also fails when a table holds a string this list does not, or the list one no table holds.
"""

import openpyxl
import pytest

from mpt_core.aus import au_text, parse_au_list, parse_aus
from preprocess.readers.tables import read_xlsx

UNKNOWN = "unknown"

EXPECTED = {
    "?": UNKNOWN,
    "1": "1", "1+12": "1 12", "1+14": "1 14", "1+2": "1 2", "1+2+24": "1 2 24", "1+2+5": "1 2 5",
    "1+2+5+18": "1 2 5 18", "1+2+5+18+43": "1 2 5 18 43", "1+2+5+19": "1 2 5 19", "1+2+5+7": "1 2 5 7",
    "1+2+6+12": "1 2 6 12", "1+4": "1 4", "1+4+7": "1 4 7", "1+L2": "1 2", "1+R2+25": "1 2 25",
    "1A+2B+L14C": "1 2 14", "A1": "1", "A1B+A2C": "1 2", "L1": "1", "L1+L2": "1 2", "R1+R2": "1 2",
    "2": "2", "2+1": "1 2", "2+1+14": "1 2 14", "2+1+5": "1 2 5", "2+1+7": "1 2 7", "2+14": "2 14",
    "2+5": "2 5", "2C": "2", "L2": "2", "L2+12": "2 12", "L2+14": "2 14", "L2+26+38": "2 26 38",
    "L2+L1": "1 2", "L2A": "2", "L2C+12": "2 12", "R2": "2", "R2+15": "2 15", "R2+R1": "1 2", "R2A": "2",
    "R2B": "2",
    "4": "4", "4+10": "4 10", "4+10+14": "4 10 14", "4+10+5": "4 5 10", "4+12": "4 12", "4+12+18": "4 12 18",
    "4+13+T18+39": "4 13 18 39", "4+14": "4 14", "4+14+17": "4 14 17", "4+15+17": "4 15 17", "4+16": "4 16",
    "4+17": "4 17", "4+18+9+25": "4 9 18 25", "4+24": "4 24", "4+38": "4 38", "4+43": "4 43", "4+5": "4 5",
    "4+5+7": "4 5 7", "4+5+7+12": "4 5 7 12", "4+5+7+9": "4 5 7 9", "4+5+9": "4 5 9", "4+5+L10": "4 5 10",
    "4+6+12": "4 6 12", "4+6+12+14": "4 6 12 14", "4+6+7": "4 6 7", "4+6+7+9": "4 6 7 9",
    "4+6+7+9+43E": "4 6 7 9 43", "4+7": "4 7", "4+7+10": "4 7 10", "4+7+12": "4 7 12",
    "4+7+12+14": "4 7 12 14", "4+7+15+42": "4 7 15 42", "4+7+17": "4 7 17", "4+7+43": "4 7 43",
    "4+7+6": "4 6 7", "4+7+9": "4 7 9", "4+7+9+10": "4 7 9 10", "4+7+9+10+25": "4 7 9 10 25",
    "4+7+9+14": "4 7 9 14", "4+7+L10": "4 7 10", "4+7+L2": "2 4 7", "4+7+L9": "4 7 9", "4+9": "4 9",
    "4+9+10": "4 9 10", "4+9+17": "4 9 17", "4+9+L10+14": "4 9 10 14", "4+9+R14": "4 9 14", "4+L10": "4 10",
    "4+L14": "4 14", "4+L2": "2 4", "4+L9+14": "4 9 14", "4+R10": "4 10", "4+R12": "4 12", "4+R2": "2 4",
    "4A": "4", "4A/B": "4", "4B+7B+43E": "4 7 43", "4D+9B": "4 9", "4D+ref(6)+7C+43E": ("4 7 43", "6", ()),
    "L4": "4", "R4": "4", "R4+R10": "4 10",
    "5": "5", "5+12": "5 12", "5+2+1": "1 2 5", "5+38": "5 38", "5A": "5", "5B": "5", "5B+24": "5 24",
    "5C": "5", "ref(5)+20C+25+26": ("20 25 26", "5", ()),
    "(R6 or R12) + R15": ("15", "6 12", ()), "(R6 or R12)+R15": ("15", "6 12", ()),
    "6": "6", "6+12": "6 12", "6+12+14": "6 12 14", "6+12+15": "6 12 15", "6+12+15+17": "6 12 15 17",
    "6+12+17": "6 12 17", "6+12+24": "6 12 24", "6+12+25": "6 12 25", "6+12+34": "6 12 34",
    "6+12+43": "6 12 43", "6+4": "4 6", "6+7": "6 7", "6+7+12": "6 7 12", "6+9+4": "4 6 9", "L6": "6",
    "L6+L7": "6 7", "R6+R12": "6 12", "R6A+R12": "6 12",
    "7": "7", "7+12": "7 12", "7+20+26": "7 20 26", "7+4": "4 7", "7+43": "7 43", "7A": "7", "7B": "7",
    "7B+ ref(43)": ("7", "43", ()), "7B+56": "7 56", "7C": "7", "7C+A12B": "7 12", "7D": "7",
    "7D+ref(43)": ("7", "43", ()), "A7": "7", "L7": "7", "L7+L10": "7 10", "L7A": "7", "R7": "7",
    "ref(7B)+43": ("43", "7", ()), "ref(7B)+43C": ("43", "7", ()),
    "8+25": "8 25",
    "9": "9", "9+10": "9 10", "9+14": "9 14", "9+4": "4 9", "9+4+14": "4 9 14", "9+6": "6 9", "9+6+4": "4 6 9",
    "A9+12": "9 12", "A9E+ref(10)": ("9", "10", ()), "L9": "9",
    "10": "10", "10+4": "4 10", "10A/B": "10", "L10": "10", "R10": "10", "R10A+25+26": "10 25 26",
    "ref(L10)+A12B": ("12", "10", ()),
    "12": "12", "12+11": "11 12", "12+14": "12 14", "12+14+17": "12 14 17", "12+14+17+38": "12 14 17 38",
    "12+14+24": "12 14 24", "12+14+28+24": "12 14 24 28", "12+15": "12 15", "12+15 ": "12 15",
    "12+15+17": "12 15 17", "12+16": "12 16", "12+17": "12 17", "12+18": "12 18", "12+18+24": "12 18 24",
    "12+24": "12 24", "12+24+38": "12 24 38", "12+25": "12 25", "12+38": "12 38", "12+39": "12 39",
    "12+6": "6 12", "12+L14": "12 14", "12A": "12", "12A+ref(24)": ("12", "24", ()), "12B": "12", "12C": "12",
    "A/L12": "12", "A12": "12", "A12+A7": "7 12", "L12": "12", "L12 + 61": "12 61",
    "L12 or L14": ("", "12 14", ()), "L12A": "12", "L12A+25": "12 25", "L12C": "12", "R12": "12",
    "R12 or R14": ("", "12 14", ()),
    "13+39": "13 39", "13+T18+39": "13 18 39",
    "14": "14", "14+15": "14 15", "14+17": "14 17", "14+24": "14 24", "14+25+26": "14 25 26", "14+9": "9 14",
    "14+9+4": "4 9 14", "A14C": "14", "L14": "14", "L14+L15": "14 15", "L14C": "14", "R14": "14",
    "R14+17+soft focus": ("14 17", "", ("soft focus",)), "R14+R17": "14 17",
    "R14A or 17A or 24A": ("", "14 17 24", ()),
    "15": "15", "15+17": "15 17", "15A+17": "15 17",
    "16": "16", "16+23+2+1": "1 2 16 23", "16+24": "16 24", "16+24+14": "14 16 24", "L16": "16",
    "17": "17", "17+14": "14 17", "17+15": "15 17", "17+4": "4 17",
    "18": "18", "18+4": "4 18", "B18+25": "18 25", "L18": "18", "T18": "18", "T18+39": "18 39",
    "20": "20", "L20": "20", "L20+21": "20 21", "R20": "20", "R20B": "20",
    "21": "21", "22": "22", "23": "23", "23+14": "14 23", "B23": "23", "T23": "23",
    "24": "24", "24+12": "12 24", "24+14": "14 24", "24+14+4": "4 14 24", "24+25": "24 25", "24+38": "24 38",
    "24+39": "24 39", "24+9+4": "4 9 24", "24+T18+16": "16 18 24", "T24": "24",
    "25": "25", "25+12": "12 25", "25+18": "18 25", "25+26": "25 26", "26": "26", "26+25": "25 26",
    "28": "28", "28+14": "14 28", "B28": "28", "T28+14": "14 28",
    "30": "30", "30+38": "30 38", "31": "31", "38": "38", "38+24+10+9": "9 10 24 38", "38+39": "38 39",
    "38+4": "4 38", "39": "39", "43": "43", "45": "45", "45+14": "14 45", "45+14+12": "12 14 45",
    "45+62": "45 62",
}

# (file, column header or None for CASME_sq_gt's header-less first sheet, column position there)
TABLES = {
    "casme2-2014": ("CASME2-coding-20140508.xlsx", "Action Units"),
    "casme2-2019": ("CASME2-coding-20190701.xlsx", "Action Units"),
    "samm": ("SAMM_Micro_FACS_Codes_v2.xlsx", "Action Units"),
    "casme3": ("cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", "AU"),
    "cas2": ("CASME_sq_gt.xlsx", None),
}
CAS2_AU_COLUMN = 5  # participant, name, onset, apex, offset, AUs, ... (SOURCES.md)


def table_strings(folder, name):
    file, column = TABLES[name]
    if column is not None:
        rows = read_xlsx(folder / file, ("Subject", column))
        return {au_text(cells[column.lower().replace(" ", "")]) for _, cells in rows}
    book = openpyxl.load_workbook(folder / file, read_only=True, data_only=True)
    try:
        rows = [r for r in book.worksheets[0].iter_rows(values_only=True) if r and any(v is not None for v in r)]
    finally:
        book.close()
    return {au_text(r[CAS2_AU_COLUMN]) for r in rows}


def as_expected(code):
    if code.unknown:
        return UNKNOWN
    if not code.uncertain and not code.unparsed:
        return " ".join(map(str, code.present))
    return (" ".join(map(str, code.present)), " ".join(map(str, code.uncertain)), code.unparsed)


def normalise(expected):
    """The expected entry with its AU numbers in ascending order (they were written as read)."""
    def nums(s):
        return " ".join(str(n) for n in sorted(int(x) for x in s.split()))
    if expected == UNKNOWN:
        return UNKNOWN
    if isinstance(expected, str):
        return nums(expected)
    return (nums(expected[0]), nums(expected[1]), tuple(expected[2]))


@pytest.fixture(scope="module")
def strings(annotations_dir):
    return {name: table_strings(annotations_dir, name) for name in TABLES}


def test_every_table_string_is_listed(strings):
    union = set().union(*strings.values())
    assert union - set(EXPECTED) == set(), "strings in the tables with no expected parse"
    assert set(EXPECTED) - union == set(), "expected parses of strings no table holds"
    # the tables the issue names each contribute strings (so a wrong column cannot pass unseen)
    assert {name: len(s) for name, s in strings.items()} == {
        "casme2-2014": 68, "casme2-2019": 74, "samm": 97, "casme3": 90, "cas2": 82}


@pytest.mark.parametrize("text", sorted(EXPECTED))
def test_parse(text):
    assert as_expected(parse_aus(text)) == normalise(EXPECTED[text])


def test_numeric_cells_read_as_their_digits():
    assert parse_aus(12).present == (12,) and parse_aus(12.0).present == (12,)
    assert parse_aus(None).unknown and parse_aus("  ").unknown


def test_unreadable_strings_are_reported_not_guessed():
    code = parse_aus("R14+17+soft focus")
    assert not code.usable and "soft focus" in code.problem
    for text in ("12+", "AU0", "12/x", "(6 or)", "12 14", "100"):
        assert not parse_aus(text).usable, text
    assert "not coded" in parse_aus("?").problem


def test_targets_mark_alternatives_uncertain():
    code = parse_aus("(R6 or R12)+R15")
    assert [code.target(au) for au in (6, 12, 15, 1)] == [-1, -1, 1, 0]
    assert parse_aus("L12 or R12").present == (12,)  # alternatives that name one AU: present
    assert parse_aus("(R6 or R12)+R12").present == (12,) and parse_aus("(R6 or R12)+R12").uncertain == (6,)


def test_au_list():
    assert parse_au_list("1,2, AU12") == (1, 2, 12)
    for bad in ("1,x", "0", "1,1", ""):
        with pytest.raises(ValueError):
            parse_au_list(bad)
