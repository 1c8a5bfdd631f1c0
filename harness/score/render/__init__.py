"""Rendering: documents (Markdown, HTML), plots and the canonical JSON of the leaderboard and study report."""
