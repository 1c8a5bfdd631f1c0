"""Named sets of per-feature cardinalities (rows of each categorical feature's vocabulary).

Kept free of torch so that spec validation stays fast.
"""

# Criteo Kaggle (Display Advertising Challenge), 26 categorical features C1..C26: the rows of each
# table of facebookresearch/dlrm on the 45,840,617-line train.txt (`--data-set=kaggle`, no
# `--max-ind-range`; dlrm_data_pytorch.py). DLRM counts each feature's distinct values with "missing"
# as one of them: data_utils.py (getCriteoAdData) reads an empty field as the hash 0. So a count is
# the distinct hashes, plus 1 in the features that have missing values. `recscale data convert
# --ids vocabulary` follows the same rule (reference/data/convert.py: missing is a value, id 0, only
# where it occurs), so on the full file it gives exactly these sizes; a rule that reserved id 0 in every
# feature would give one row more in the 14 features without missing values.
#
# Which features have missing values (derived below): C3, C4, C6, C12, C16, C19, C20, C21, C22, C24,
# C25, C26. Source: https://github.com/facebookresearch/dlrm/issues/233 ("Embedding tables smaller
# than number of unique tokens", 2022) tabulates the distinct non-empty values of each feature of the
# full train.txt (CRITEO_KAGGLE_DISTINCT_HASHES): one less than DLRM's count in exactly these 12
# features, equal in the other 14. The 200 real rows of tests/fixtures/criteo_kaggle_sample have empty
# fields in exactly these 12 features (a test checks it). Assumed, as DLRM does: no feature holds the
# hash 00000000, which DLRM would merge with missing.
CRITEO_KAGGLE: tuple[int, ...] = (
    1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194,
    27, 14992, 5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181, 105, 142572,
)
CRITEO_KAGGLE_DISTINCT_HASHES: tuple[int, ...] = (
    1460, 583, 10131226, 2202607, 305, 23, 12517, 633, 3, 93145, 5683, 8351592, 3194,
    27, 14992, 5461305, 10, 5652, 2172, 3, 7046546, 17, 15, 286180, 104, 142571,
)
CRITEO_KAGGLE_FEATURES_WITH_MISSING: tuple[str, ...] = tuple(
    f"C{f + 1}" for f, (count, distinct) in enumerate(zip(CRITEO_KAGGLE, CRITEO_KAGGLE_DISTINCT_HASHES, strict=True))
    if count > distinct
)
# The synthetic workloads (study-*, smoke, dlrm-synthetic-scaling) take their table shapes from this
# named set and their committed results refer to it by name: its numbers must never change.

# Criteo 1TB Click Logs, as capped at 40M rows per table by the MLPerf Training DLRM-DCNv2
# reference (pytorch/torchrec examples/golden_training & torchrec_dlrm README,
# `--num_embeddings_per_feature`). About 204M rows in all: 26.1B parameters at dim 128.
CRITEO_1TB_MLPERF: tuple[int, ...] = (
    40000000, 39060, 17295, 7424, 20265, 3, 7122, 1543, 63, 40000000, 3067956, 405282, 10,
    2209, 11938, 155, 4, 976, 14, 40000000, 40000000, 40000000, 590152, 12973, 108, 36,
)

# MLPerf DLRM-DCNv2 multi-hot sizes (ids per sample per feature) of the synthetic multi-hot
# Criteo 1TB dataset (mlcommons/training recommendation_v2 materialize_synthetic_multihot_dataset).
CRITEO_1TB_MULTI_HOT_SIZES: tuple[int, ...] = (
    3, 2, 1, 2, 6, 1, 1, 1, 1, 7, 3, 8, 1, 6, 9, 5, 1, 1, 1, 12, 100, 27, 10, 3, 1, 1,
)

NAMED_CARDINALITIES: dict[str, tuple[int, ...]] = {
    "criteo_kaggle": CRITEO_KAGGLE,
    "criteo_1tb": CRITEO_1TB_MLPERF,
}
