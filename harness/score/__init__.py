"""The scorer: scaling-law fits, the leaderboard (`recscale score`) and the study report (`recscale report`).

Subpackages, by what they produce (none imports anything at package level, so `harness.schemas`
imports the records cheaply):

* :mod:`harness.score.fits` -- the fits: ``fit_power_law`` (``L = a x^-b + c``, bootstrap intervals,
  conditioning check, extrapolation check), ``fit_joint`` (Chinchilla's approach 3), the
  compute-optimal allocation (:mod:`.fits.allocation`), IsoFLOP profiles (:mod:`.fits.isoflop`), the
  planted-floor refits (:mod:`.fits.floor`), the fits of one workload's records along each axis
  (:mod:`.fits.workload`), their records and summaries.
* :mod:`harness.score.leaderboard` -- `recscale score`: closed boards (time to target across
  stacks), open boards (curves ranked by predicted quality), MLPerf Training results, the command.
* :mod:`harness.score.study` -- `recscale report`: one submission's study (axes from the records'
  overrides, the ranking of quoted curves, the findings in words, the joint law on the N x D grid and
  its compute-optimal split, the planted-floor line, a verdict per question).
* :mod:`harness.score.render` -- Markdown and HTML documents, every plot, the canonical JSON.
* :mod:`harness.score.inputs` -- what both commands read: the checker's inputs and its one call,
  submissions and their run records.
"""
