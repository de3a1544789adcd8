"""`caja bench`: the figures a shop measures on its own hardware (figures.py), the real till in a terminal (terminal.py)."""
