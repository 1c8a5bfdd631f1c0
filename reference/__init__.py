"""RecScale reference implementation: the DLRM model, its data pipeline and its metrics."""
