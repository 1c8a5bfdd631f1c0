"""Data: the planted-teacher synthetic generator, real Criteo converters, shards and loaders."""
