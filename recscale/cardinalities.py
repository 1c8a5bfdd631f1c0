"""Named sets of per-feature cardinalities (rows of each categorical feature's vocabulary).

Kept free of torch so that spec validation stays fast.
"""

# Criteo Kaggle (Display Advertising Challenge), 26 categorical features C1..C26: the number of
# distinct values of each in the 45.8M-row train.txt, as used by facebookresearch/dlrm
# (dlrm_data_pytorch.py, `--data-set=kaggle`, no `--max-ind-range`).
CRITEO_KAGGLE: tuple[int, ...] = (
    1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194,
    27, 14992, 5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181, 105, 142572,
)

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
