"""RecScale harness: specs, runner, logging, results, checker, scorer and CLI."""

__version__ = "0.1.0"
