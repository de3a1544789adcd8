"""The tests' throwaway PostgreSQL cluster (shared with `caja bench`)."""

from caja_tui.server.devcluster import Cluster, free_port

__all__ = ["Cluster", "free_port"]
