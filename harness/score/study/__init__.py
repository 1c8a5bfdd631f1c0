"""The study report (`recscale report`): one submission's axes, ranking and findings in words."""
