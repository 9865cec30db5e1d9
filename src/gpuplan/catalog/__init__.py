"""World data (accelerators, models, sites, system factors, scaling laws) with sources."""

from gpuplan.catalog.loader import Catalog, load_catalog

__all__ = ["Catalog", "load_catalog"]
