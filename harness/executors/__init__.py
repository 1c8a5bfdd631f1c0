"""Executors: where the runs of a sweep train, as opposed to where their results are written.

harness.submission plans a sweep (which runs are left), hands the runs to an executor, and
publishes each run that comes back into the submission folder. An executor only trains:

- task: one run as a unit of work (RunTask), what comes back (RunReport: the log's text, or why
  there is none) and execute_run, the worker side every executor shares;
- inprocess: the runs one after another in this process (and its torchrun peers): the default;
- ray_cluster: each run one Ray task on a local or remote Ray cluster (the `ray` extra);
- progress: the overall bar and the line per finished run.
"""
