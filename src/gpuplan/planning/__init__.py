"""plan(scenario) -> PlanResult, the one orchestration function, and its one JSON schema."""
