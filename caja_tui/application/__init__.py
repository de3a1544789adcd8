"""Use cases: plain functions that load state, ask the domain, and commit events with their read models."""
