import datetime as dt

from cia_workbook.render import frformat

NNBSP = "\u202f"  # narrow no-break space: French thousands separator (Babel, CLDR)
NBSP = "\u00a0"


def test_percent_has_decimal_comma_and_no_break_space_before_sign():
    assert frformat.percent(0.25) == f"25,0{NBSP}%"
    assert frformat.percent(1 / 3) == f"33,3{NBSP}%"
    assert frformat.percent(None) == "–"


def test_targets_drop_useless_decimals():
    assert frformat.target(25) == f"25{NBSP}%"
    assert frformat.target(62.5) == f"62,5{NBSP}%"


def test_thousands_use_narrow_no_break_space():
    assert frformat.integer(1234) == f"1{NNBSP}234"
    assert frformat.integer(12) == "12"
    assert frformat.euros(7772) == f"7{NNBSP}772{NBSP}€"


def test_dates_are_written_in_words():
    assert frformat.date(dt.date(2020, 6, 24)) == "24 juin 2020"
    assert frformat.date(dt.datetime(2025, 2, 1, 10, 0)) == "1er février 2025"  # « 1er », never « 1 février »
    assert frformat.date(dt.date(2024, 12, 11)) == "11 décembre 2024"
