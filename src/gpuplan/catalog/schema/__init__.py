"""Schema of the catalog data files: one frozen, validated type per record kind.

Data files use human units only where the key says so (``hbm_gib``, ``tdp_w``,
``peak_bf16_dense_tflops``); the properties convert them to SI once. Every record
carries ``source`` and ``retrieved``; the loader refuses a record without them.
One module per kind of data; everything is importable from here.
"""

from gpuplan.catalog.schema.base import Fraction, Positive, PositiveInt, Record
from gpuplan.catalog.schema.cluster import Cluster, FabricTier, MeasuredOn, Transport
from gpuplan.catalog.schema.framework import (
    AttentionKernel,
    AttentionKernelLimit,
    CpRing,
    Framework,
    StackBenchmark,
)
from gpuplan.catalog.schema.hardware import (
    Accelerator,
    AcceleratorKind,
    AttentionPoint,
    CloudPrice,
    EfficiencyProfile,
    NoncausalPoint,
    PriceTerm,
    PurchasePrice,
    Vendor,
)
from gpuplan.catalog.schema.laws import (
    RateForm,
    ScalingLaw,
    ScalingLawForm,
    Trend,
    TrendQuantity,
)
from gpuplan.catalog.schema.measurements import (
    InlineShape,
    Measured,
    MeasuredPlan,
    Measurement,
    MedianTarget,
    ValidationTarget,
)
from gpuplan.catalog.schema.models import (
    Ffn,
    Mla,
    Mmdit,
    Model,
    ModelKind,
    Moe,
    Norm,
    Position,
    ShapeFamily,
    ShapePoint,
    TextConditioning,
    Video,
)
from gpuplan.catalog.schema.reliability import (
    Confidence,
    FailureMetric,
    FailureRate,
    ReliabilityParameter,
    ReliabilityParameterId,
)
from gpuplan.catalog.schema.runs import (
    ChipRun,
    FlopsBasis,
    Run,
    RunDomain,
    RunTotal,
)
from gpuplan.catalog.schema.site import (
    ElectricityPrice,
    Grid,
    Household,
    Pue,
    SeedCluster,
    SystemParameter,
)

__all__ = [
    "Accelerator",
    "AcceleratorKind",
    "AttentionKernel",
    "AttentionKernelLimit",
    "AttentionPoint",
    "ChipRun",
    "CloudPrice",
    "Cluster",
    "Confidence",
    "CpRing",
    "EfficiencyProfile",
    "ElectricityPrice",
    "FabricTier",
    "FailureMetric",
    "FailureRate",
    "Ffn",
    "FlopsBasis",
    "Fraction",
    "Framework",
    "Grid",
    "Household",
    "InlineShape",
    "Measured",
    "MeasuredOn",
    "MeasuredPlan",
    "Measurement",
    "MedianTarget",
    "Mla",
    "Mmdit",
    "Model",
    "ModelKind",
    "Moe",
    "NoncausalPoint",
    "Norm",
    "Position",
    "Positive",
    "PositiveInt",
    "PriceTerm",
    "Pue",
    "PurchasePrice",
    "RateForm",
    "Record",
    "ReliabilityParameter",
    "ReliabilityParameterId",
    "Run",
    "RunDomain",
    "RunTotal",
    "ScalingLaw",
    "ScalingLawForm",
    "SeedCluster",
    "ShapeFamily",
    "ShapePoint",
    "StackBenchmark",
    "SystemParameter",
    "TextConditioning",
    "Transport",
    "Trend",
    "TrendQuantity",
    "ValidationTarget",
    "Vendor",
    "Video",
]
