"""The performance model of training: pure functions over frozen inputs, no I/O."""
