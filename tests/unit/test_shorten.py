"""Names shortened where the screen is narrow: cut in the middle, so the end (size, pack, surname) stays."""

from caja_tui.tui.widgets import shorten


def test_a_long_name_keeps_its_start_and_its_end():
    assert shorten("Pasta spaghetti 200 g (paquete)", 24) == "Pasta spaghe~g (paquete)"
    assert shorten("Maria Lopez Garcia", 14) == "Maria L~Garcia"


def test_a_name_that_fits_is_left_alone_and_a_tiny_column_is_cut_plainly():
    assert shorten("Arroz 1 kg", 24) == "Arroz 1 kg"
    assert shorten("Arroz blanco", 5) == "Arroz"
    assert all(len(shorten("x" * n, w)) == min(n, w) for n in range(0, 40) for w in range(1, 30))
