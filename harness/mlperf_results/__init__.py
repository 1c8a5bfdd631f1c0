"""MLPerf Training result packages read exactly as mlperf-logging's parser, compliance checker and
result summarizer read them (rulesets 3.0.0 on).

* :mod:`~harness.mlperf_results.rounds` -- the round of a package and the mlperf-logging ruleset for it;
* :mod:`~harness.mlperf_results.resultlog` -- one ``result_*.txt`` as ``mlp_parser`` reads it;
* :mod:`~harness.mlperf_results.compliance` -- mlperf-logging's compliance check of one run;
* :mod:`~harness.mlperf_results.runs` -- a run as the summarizer counts it and RecScale shows it;
* :mod:`~harness.mlperf_results.package` -- a submitter folder: systems, runs, ``scaling.json``;
* :mod:`~harness.mlperf_results.summarizer` -- a system's score, or the summarizer's reason for none.
"""
