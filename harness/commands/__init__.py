"""Subcommands of `recscale`, one module per step of the flow; each has `register(subparsers)`."""
