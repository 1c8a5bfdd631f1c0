"""Scaling-law fits: the power law with bootstrap intervals, the joint law, and one workload's fits."""
