"""Load the catalog data files into frozen, validated records.

The catalog is the only source of world constants in gpuplan. Each file in ``data/``
is parsed once (the result is cached) and every record is validated by its schema;
a malformed record raises :class:`CatalogError` naming the file, the record and the field.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from gpuplan.catalog.parsed import parse, read_built, read_parsed
from gpuplan.catalog.schema import (
    Accelerator,
    AttentionKernel,
    AttentionKernelLimit,
    Cluster,
    EfficiencyProfile,
    ElectricityPrice,
    FailureRate,
    Framework,
    Grid,
    Household,
    MeasuredOn,
    Model,
    Pue,
    Record,
    ReliabilityParameter,
    Run,
    ScalingLaw,
    SeedCluster,
    ShapeFamily,
    SystemParameter,
    Transport,
    Trend,
)
from gpuplan.errors import CatalogError

R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True)
class Catalog:
    """Every catalog record, by kind and id."""

    accelerators: Mapping[str, Accelerator]
    models: Mapping[str, Model]
    grids: Mapping[str, Grid]
    electricity_prices: Mapping[str, ElectricityPrice]
    households: Mapping[str, Household]
    pue: Mapping[str, Pue]
    systems: Mapping[str, SystemParameter]
    scaling_laws: Mapping[str, ScalingLaw]
    seed_clusters: Mapping[str, SeedCluster]
    efficiency: Mapping[str, EfficiencyProfile]
    frameworks: Mapping[str, Framework]
    runs: Mapping[str, Run]
    trends: Mapping[str, Trend]
    failure_rates: Mapping[str, FailureRate]
    reliability_parameters: Mapping[str, ReliabilityParameter]
    shape_families: Mapping[str, ShapeFamily]
    clusters: Mapping[str, Cluster] = field(default_factory=dict)
    """Cluster profiles (clusters.yaml) plus each accelerator's reference profile."""
    at_scale: Mapping[str, SystemParameter] = field(default_factory=dict)
    """At-scale synchronisation parameters (clusters.yaml ``at_scale``)."""
    measured_on: Mapping[str, MeasuredOn] = field(default_factory=dict)
    """The cluster each validation source ran on (clusters.yaml ``measured_on``)."""
    attention_kernels: Mapping[str, AttentionKernelLimit] = field(default_factory=dict)
    """The widest head each attention kernel runs (frameworks.yaml ``attention_kernels``)."""

    def accelerator(self, accelerator_id: str) -> Accelerator:
        return _lookup(self.accelerators, accelerator_id, "accelerator")

    def model(self, model_id: str) -> Model:
        return _lookup(self.models, model_id, "model")

    def grid(self, grid_id: str) -> Grid:
        return _lookup(self.grids, grid_id, "grid")

    def electricity_price(self, site_id: str) -> ElectricityPrice:
        return _lookup(self.electricity_prices, site_id, "electricity price")

    def household(self, country_id: str) -> Household:
        return _lookup(self.households, country_id, "household")

    def efficiency_profile(self, accelerator_id: str) -> EfficiencyProfile:
        return _lookup(self.efficiency, accelerator_id, "efficiency profile")

    def framework(self, framework_id: str) -> Framework:
        return _lookup(self.frameworks, framework_id, "framework")

    def cluster(self, cluster_id: str) -> Cluster:
        return _lookup(self.clusters, cluster_id, "cluster")

    def cluster_measured_on(self, row_id: str) -> Cluster | None:
        """The cluster a validation row ran on, where its source states it."""
        for where in self.measured_on.values():
            if fnmatch.fnmatchcase(row_id, where.rows):
                return self.cluster(where.cluster)
        return None

    def default_cluster(self, accelerator_id: str) -> Cluster:
        """The accelerator's reference profile (its accelerators.yaml server)."""
        return self.cluster(reference_cluster_id(accelerator_id))

    def shape_family(self, family_id: str) -> ShapeFamily:
        return _lookup(self.shape_families, family_id, "shape family")

    def system(self, parameter_id: str) -> SystemParameter:
        return _lookup(self.systems, parameter_id, "system parameter")

    def scaling_law(self, law_id: str | None = None) -> ScalingLaw:
        """The named fit, or the default one when ``law_id`` is None."""
        if law_id is None:
            defaults = [law for law in self.scaling_laws.values() if law.default]
            assert len(defaults) == 1, "the loader checks there is exactly one default law"
            return defaults[0]
        return _lookup(self.scaling_laws, law_id, "scaling law")

    def records(self) -> list[Record]:
        """Every record that carries a source, for provenance checks and reports."""
        out: list[Record] = []
        for table in (
            self.accelerators,
            self.models,
            self.grids,
            self.electricity_prices,
            self.households,
            self.pue,
            self.systems,
            self.scaling_laws,
            self.seed_clusters,
            self.efficiency,
            self.frameworks,
            self.runs,
            self.trends,
            self.failure_rates,
            self.reliability_parameters,
            self.shape_families,
            self.clusters,
            self.at_scale,
            self.measured_on,
            self.attention_kernels,
        ):
            out.extend(table.values())
        return out


def nearest_ids(name: str, known: list[str], count: int = 3) -> list[str]:
    """Up to ``count`` known ids closest to ``name``, for 'did you mean' messages."""
    prefixed = sorted(k for k in known if k.startswith(name))
    close = difflib.get_close_matches(name, known, n=count, cutoff=0.4)
    return list(dict.fromkeys(prefixed + close))[:count]


def unknown_id_message(kind: str, name: str, known: list[str]) -> str:
    suggestions = nearest_ids(name, known) if name.strip() else []  # '' is near everything
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    return f"unknown {kind} '{name}'{hint} (known: {', '.join(sorted(known))})"


BOUND_HINTS = {
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
}
"""pydantic's bound errors in gpuplan's words (scenario files, claims, audits, budgets)."""


def unknown_key_message(schema: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """An unknown key at ``loc`` of ``schema`` (pydantic's 'Extra inputs are not permitted'):
    the key, the near ones and every key allowed there."""
    for part in loc[:-1]:  # down the nested blocks to the one that holds the key
        field = schema.model_fields.get(str(part))
        nested = _model_in(field.annotation) if field is not None else None
        if nested is None:
            return "unknown key"
        schema = nested
    return unknown_id_message("key", str(loc[-1]), list(schema.model_fields))


def schema_message(schema: type[BaseModel], error: Mapping[str, Any]) -> str:
    """A pydantic error of ``schema`` in words: an unknown key with the keys allowed there, a
    missing one 'required' (not 'Field required'), else pydantic's message."""
    if error["type"] == "extra_forbidden":
        return unknown_key_message(schema, tuple(error["loc"]))
    if error["type"] == "missing":
        return "required"
    if error["type"] in BOUND_HINTS:  # 'must be > 0', as a scenario says it
        return BOUND_HINTS[error["type"]].format(**error.get("ctx", {}))
    return str(error["msg"]).removeprefix("Value error, ")


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (``Tolerance``, ``Tolerance | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, (_model_in(a) for a in get_args(annotation))), None)


def _lookup(table: Mapping[str, R], key: str, kind: str) -> R:
    try:
        return table[key]
    except KeyError:
        raise CatalogError(unknown_id_message(kind, key, list(table))) from None


def _read_yaml(filename: str) -> dict[str, Any]:
    source = resources.files("gpuplan.catalog").joinpath("data", filename)
    data = read_parsed(source) if isinstance(source, Path) else parse(source.read_text("utf-8"))
    if not isinstance(data, dict):
        raise CatalogError(f"catalog file {filename}: expected a mapping at the top level")
    return data


def _parse(filename: str, key: str, schema: type[R], data: dict[str, Any]) -> dict[str, R]:
    rows = data.get(key)
    if not isinstance(rows, list):
        raise CatalogError(f"catalog file {filename}: '{key}' must be a list of records")
    out: dict[str, R] = {}
    for index, row in enumerate(rows):
        record_id = row.get("id", f"#{index}") if isinstance(row, dict) else f"#{index}"
        try:
            record = schema.model_validate(row)
        except ValidationError as exc:
            first = exc.errors()[0]
            # A record-level check (no location) names its fields in its own message.
            where = ".".join(str(p) for p in first["loc"])
            field = f", field {where}" if where else ""
            raise CatalogError(
                f"catalog file {filename}, {key} '{record_id}'{field}: {first['msg']}"
            ) from None
        if record_id in out:
            raise CatalogError(f"catalog file {filename}: duplicate {key} id '{record_id}'")
        out[str(record_id)] = record
    return out


DATA_FILES = ("accelerators.yaml", "models.yaml", "sites.yaml", "systems.yaml",
              "scaling_laws.yaml", "seed.yaml", "efficiency.yaml", "frameworks.yaml", "runs.yaml",
              "trends.yaml", "reliability.yaml", "model_shapes.yaml", "clusters.yaml")  # fmt: skip
"""The data files the catalog is loaded from."""


@functools.cache
def load_catalog() -> Catalog:
    """Parse and validate every data file (cached: the catalog is immutable). The validated
    catalog is kept in the user's cache until a data file or the schema's code changes
    (:func:`gpuplan.catalog.parsed.read_built`)."""
    data = resources.files("gpuplan.catalog").joinpath("data")
    if not isinstance(data, Path):  # not installed as files: nothing to stamp
        return _build_catalog()
    package = Path(__file__).resolve().parent
    code = [*sorted((package / "schema").glob("*.py")), package / "loader.py",
            package.parent / "units.py"]  # fmt: skip
    return read_built("catalog", [*(data / f for f in DATA_FILES), *code], _build_catalog)


def _build_catalog() -> Catalog:
    sites = _read_yaml("sites.yaml")
    reliability = _read_yaml("reliability.yaml")
    frameworks = _read_yaml("frameworks.yaml")
    catalog = Catalog(
        accelerators=_parse(
            "accelerators.yaml", "accelerators", Accelerator, _read_yaml("accelerators.yaml")
        ),
        models=_parse("models.yaml", "models", Model, _read_yaml("models.yaml")),
        grids=_parse("sites.yaml", "grids", Grid, sites),
        electricity_prices=_parse("sites.yaml", "electricity_prices", ElectricityPrice, sites),
        households=_parse("sites.yaml", "households", Household, sites),
        pue=_parse("sites.yaml", "pue", Pue, sites),
        systems=_parse("systems.yaml", "parameters", SystemParameter, _read_yaml("systems.yaml")),
        scaling_laws=_parse(
            "scaling_laws.yaml", "laws", ScalingLaw, _read_yaml("scaling_laws.yaml")
        ),
        seed_clusters=_parse("seed.yaml", "clusters", SeedCluster, _read_yaml("seed.yaml")),
        efficiency=_parse(
            "efficiency.yaml", "profiles", EfficiencyProfile, _read_yaml("efficiency.yaml")
        ),
        frameworks=_parse("frameworks.yaml", "frameworks", Framework, frameworks),
        attention_kernels=_parse(
            "frameworks.yaml", "attention_kernels", AttentionKernelLimit, frameworks
        ),
        runs=_parse("runs.yaml", "runs", Run, _read_yaml("runs.yaml")),
        trends=_parse("trends.yaml", "trends", Trend, _read_yaml("trends.yaml")),
        failure_rates=_parse("reliability.yaml", "failure_rates", FailureRate, reliability),
        reliability_parameters=_parse(
            "reliability.yaml", "parameters", ReliabilityParameter, reliability
        ),
        shape_families=_parse(
            "model_shapes.yaml", "families", ShapeFamily, _read_yaml("model_shapes.yaml")
        ),
    )
    clusters_file = _read_yaml("clusters.yaml")
    catalog = dataclasses.replace(
        catalog,
        clusters=_parse("clusters.yaml", "clusters", Cluster, clusters_file)
        | reference_clusters(catalog.accelerators),
        at_scale=_parse("clusters.yaml", "at_scale", SystemParameter, clusters_file),
        measured_on=_parse("clusters.yaml", "measured_on", MeasuredOn, clusters_file),
    )
    _check_references(catalog)
    return catalog


def reference_cluster_id(accelerator_id: str) -> str:
    return f"{accelerator_id}-reference"


def reference_clusters(accelerators: Mapping[str, Accelerator]) -> dict[str, Cluster]:
    """One profile per accelerator from its own record (the reference server on one
    non-blocking fabric): the default, which reproduces the accelerator-only network."""
    out: dict[str, Cluster] = {}
    for chip in accelerators.values():
        tpu = chip.kind.value == "tpu"
        out[reference_cluster_id(chip.id)] = Cluster(
            id=reference_cluster_id(chip.id),
            name=f"{chip.name} reference server (accelerators.yaml)",
            accelerator=chip.id,
            scaleup_domain=chip.scaleup_domain,
            scaleup_unidir_gb_per_s=chip.scaleup_unidir_gb_per_s,
            scaleout_gbit_per_s=chip.scaleout_unidir_gb_per_s * 8,
            rail_optimized=not tpu,
            transport=Transport.ICI_TORUS_DCN if tpu else Transport.INFINIBAND,
            reference=True,
            source=chip.source,
            retrieved=chip.retrieved,
            notes="Derived from the accelerator record: scale-up domain and bandwidth, one "
            "NIC share per accelerator, one non-blocking fabric.",
        )
    return out


def _check_references(catalog: Catalog) -> None:
    """Records that name other records name ones that exist; one default scaling law."""
    defaults = [law.id for law in catalog.scaling_laws.values() if law.default]
    if len(defaults) != 1:
        raise CatalogError(
            f"scaling_laws.yaml: exactly one law must have default: true (found {defaults})"
        )
    for parameter in catalog.systems.values():
        for accelerator_id in parameter.by_accelerator:
            if accelerator_id not in catalog.accelerators:
                raise CatalogError(
                    f"systems.yaml, parameter '{parameter.id}': "
                    + unknown_id_message("accelerator", accelerator_id, list(catalog.accelerators))
                )
    missing = sorted(str(k) for k in set(AttentionKernel) - set(catalog.attention_kernels))
    if missing:
        raise CatalogError(f"frameworks.yaml: no attention_kernels record for {', '.join(missing)}")
    missing = sorted(set(catalog.accelerators) - set(catalog.efficiency))
    if missing:
        raise CatalogError(f"efficiency.yaml: no profile for accelerators {', '.join(missing)}")
    for cluster in catalog.seed_clusters.values():
        if cluster.hardware not in catalog.accelerators:
            raise CatalogError(
                f"seed.yaml, cluster '{cluster.id}': "
                + unknown_id_message("accelerator", cluster.hardware, list(catalog.accelerators))
            )
    for profile in catalog.clusters.values():
        if profile.accelerator not in catalog.accelerators:
            raise CatalogError(
                f"clusters.yaml, cluster '{profile.id}': "
                + unknown_id_message("accelerator", profile.accelerator, list(catalog.accelerators))
            )
    for where in catalog.measured_on.values():
        if where.cluster not in catalog.clusters:
            raise CatalogError(
                f"clusters.yaml, measured_on '{where.id}': "
                + unknown_id_message("cluster", where.cluster, list(catalog.clusters))
            )
    for run in catalog.runs.values():
        if run.accelerator is not None and run.accelerator not in catalog.accelerators:
            raise CatalogError(
                f"runs.yaml, run '{run.id}': "
                + unknown_id_message("accelerator", run.accelerator, list(catalog.accelerators))
            )
