"""The plan search: enumeration pruned by the rule table, evaluation over arrays, the Pareto
set (:mod:`gpuplan.search.plans`), and a cache of searches shared by sweeps
(:mod:`gpuplan.search.cache`)."""
