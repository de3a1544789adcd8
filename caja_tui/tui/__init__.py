"""The Textual till: `caja` (or `caja till`) starts it; see tui/app.py and README "Using the till"."""
