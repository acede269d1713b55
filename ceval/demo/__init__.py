"""The demo hall and a private broker: for `ceval demo`, the tests and the benchmarks, never a hall's production
path."""
