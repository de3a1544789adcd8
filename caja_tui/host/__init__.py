"""The machine the till runs on: its clock chip, its receipt printer, its system services."""
