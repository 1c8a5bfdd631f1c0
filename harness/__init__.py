"""RecScale harness: the runner, the checker, the scorer and the CLI (over recscale, the leaf layer)."""
