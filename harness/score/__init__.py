"""The scorer: scaling-law fits, leaderboards, plots and the MLPerf import (`recscale score`).

Modules (imported on demand; this package imports nothing heavy, so `harness.schemas` stays fast):

* :mod:`harness.score.fit` -- ``fit_power_law(x, L)``: ``L = a x^-b + c`` with bootstrap intervals and an
  extrapolation check; ``FitError`` for data that cannot support a fit.
* :mod:`harness.score.joint` -- ``fit_joint(N, D, L)``: Chinchilla's approach 3 and the compute-optimal split.
* :mod:`harness.score.report` -- ``workload_report(records)`` / ``build_study(records)``: the per-axis study
  of one workload's run records (what `recscale report` prints).
* :mod:`harness.score.leaderboard` -- closed and open boards from checked submissions.
* :mod:`harness.score.mlperf_scores` -- MLPerf Training dlrm_dcnv2 scores and learning curves.
* :mod:`harness.score.scoring` -- ``score(root, out)``: the whole command; :mod:`.plots`, :mod:`.render`,
  :mod:`.html` write its outputs; :mod:`.models` holds the records (schemas/leaderboard.schema.json).
"""
