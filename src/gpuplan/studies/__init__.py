"""Studies over many plans: uncertainty (Monte Carlo over a scenario's ranges) and sweeps."""
