"""Real HTTP stand-ins for external systems: used by the tests, the replay tool and the benchmarks."""
