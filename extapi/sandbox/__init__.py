"""A throwaway extapi for testing integrations: ``running()`` and the pytest plugin."""

from extapi.sandbox.instance import Sandbox, running
from extapi.sandbox.seed import EXAMPLE_SEED, SeededClient, SeedError

__all__ = ["Sandbox", "running", "SeedError", "SeededClient", "EXAMPLE_SEED"]
