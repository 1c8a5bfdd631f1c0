"""The reference DLRM: sparse arch (embeddings), dense arch (bottom MLP), interaction, over arch."""
