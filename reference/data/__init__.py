"""Data: the planted-teacher synthetic generator, real Criteo converters, shards and loaders.

    synthetic.py   the planted teacher: rows of any range, on any device, the same for the same seed
    counter_hash.py  counter-based random words (exact int64 on every device) and uniforms
    zipf.py        exact Zipf sampling by inversion (guide table, bisection where needed)
    dense_profile.py  the Criteo-like heavy-tailed dense counts
    generate.py    parallel, atomic, cached materialisation of a synthetic data set
    criteo.py      vectorised parsing of Criteo TSV logs (Kaggle train.txt, 1TB day_N[.gz])
    convert.py     `recscale data convert`: logs -> shards + manifest (streaming)
    npy.py         torchrec day_N_*.npy and MLPerf multi-hot .npz days, indexed in place
    manifest.py    the on-disk format: manifest model, checksums, memory maps
    loader.py      Dataset / open_dataset: nested fractions, seeded shuffle, per-rank batches
    dali.py        optional NVIDIA DALI pipeline over the same shards

The data sources a workload can name are listed in recscale/sources.py. Import what you need from
the modules themselves: this package imports nothing, so a worker that needs one module loads only
that one.
"""
