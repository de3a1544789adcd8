"""The Textual terminal UI (issue 5, in progress): `caja tui` starts it; `caja` still starts the line-mode till."""
