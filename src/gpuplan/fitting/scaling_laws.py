"""Loss as a function of parameters and data, and the compute-optimal split of a budget.

Chinchilla form (Hoffmann et al. 2022, eq. 2): ``L = E + A / N^alpha + B / D^beta``.
Kaplan form (Kaplan et al. 2020, eq. 1.5):
``L = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D``.

Compute-optimal allocation uses the fits' own convention ``C = 6 N D``. For the Chinchilla
form the optimum has a closed form (Hoffmann et al. 2022, eq. 4):
``N_opt = G (C / 6)^(beta / (alpha + beta))`` with
``G = (alpha A / (beta B))^(1 / (alpha + beta))``, and ``D_opt = C / (6 N_opt)``.
The Kaplan form is minimised numerically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gpuplan.catalog.schema import ScalingLaw, ScalingLawForm


@dataclass(frozen=True)
class ComputeOptimal:
    compute_flops: float
    params: float
    tokens: float
    loss: float

    @property
    def tokens_per_param(self) -> float:
        return self.tokens / self.params


def loss(law: ScalingLaw, params: float, tokens: float) -> float:
    """Predicted loss (nats per token on the fit's data) of ``params`` trained on ``tokens``."""
    if params <= 0 or tokens <= 0:
        raise ValueError(f"params and tokens must be positive, got {params}, {tokens}")
    if law.form is ScalingLawForm.CHINCHILLA:
        return float(law.e + law.a / params**law.alpha + law.b / tokens**law.beta)
    return float(((law.a / params) ** (law.alpha / law.beta) + law.b / tokens) ** law.beta)


def compute_optimal(law: ScalingLaw, compute_flops: float) -> ComputeOptimal:
    """The model size and token count that minimise loss for ``compute_flops`` (C = 6ND)."""
    if compute_flops <= 0:
        raise ValueError(f"compute_flops must be positive, got {compute_flops}")
    half_budget = compute_flops / 6.0
    if law.form is ScalingLawForm.CHINCHILLA:
        g = (law.alpha * law.a / (law.beta * law.b)) ** (1.0 / (law.alpha + law.beta))
        params = g * half_budget ** (law.beta / (law.alpha + law.beta))
    else:
        from scipy.optimize import minimize_scalar  # slow to import; only this form needs it

        log_budget = math.log(half_budget)

        def objective(log_n: float) -> float:
            return loss(law, math.exp(log_n), math.exp(log_budget - log_n))

        found = minimize_scalar(objective, bounds=(0.0, log_budget), method="bounded")
        params = math.exp(float(found.x))
    tokens = half_budget / params
    return ComputeOptimal(compute_flops, params, tokens, loss(law, params, tokens))
