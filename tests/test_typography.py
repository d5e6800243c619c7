"""French typography of generated text: one module, `typography`, used by every document."""

from cia_workbook.render.typography import (
    NBSP,
    NNBSP,
    count,
    fr,
    join,
    longest_word_width,
    plural,
    text_width,
)


def test_no_break_spaces_before_high_punctuation_and_inside_guillemets():
    assert fr("Taux : 25 % ; cible « atteinte » !") == (
        f"Taux{NBSP}: 25{NBSP}%{NNBSP}; cible «{NBSP}atteinte{NBSP}»{NNBSP}!"
    )
    assert fr("Pourquoi?") == f"Pourquoi{NNBSP}?"
    assert fr("Note: voir") == f"Note{NBSP}: voir"
    assert fr("«mot»") == f"«{NBSP}mot{NBSP}»"


def test_addresses_times_and_already_correct_text_are_left_alone():
    for text in ("https://exemple.fr/page?x=1", "à 10:30", f"25{NBSP}%", f"Taux{NBSP}: 3"):
        assert fr(text) == text
    assert fr(fr("Taux : 25 % ; « a »")) == fr("Taux : 25 % ; « a »")


def test_plurals_agree_and_never_write_parentheses():
    assert plural(1, "ménage") == "ménage" and plural(0, "erreur") == "erreur"
    assert plural(2, "dossier bloqué") == "dossiers bloqués"
    assert plural(3, "non atteint") == "non atteints"
    assert plural(2, "écart par bailleur") == "écarts par bailleur"
    assert plural(4, "bailleur social") == "bailleurs sociaux"
    assert count(3, "ménage relogé") == f"3{NBSP}ménages relogés"
    assert count(1_234, "ménage") == f"1{NNBSP}234{NBSP}ménages"


def test_lists_are_joined_with_et():
    assert join(["A"]) == "A"
    assert join(["A", "B"]) == "A et B"
    assert join(["A", "B", "C"]) == "A, B et C"


def test_widths_follow_the_font_metrics():
    # Calibri / Carlito: « m » is wider than « i », bold wider than regular, width grows with size.
    assert text_width("m", 10) > text_width("i", 10)
    assert text_width("Proposition", 8, bold=True) > text_width("Proposition", 8)
    assert text_width("Taux", 16) == 2 * text_width("Taux", 8)
    assert longest_word_width("Attributions prononcées", 8) == text_width("Attributions", 8)
