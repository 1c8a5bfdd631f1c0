"""The workload spec language: valid workloads load, malformed ones fail with file + dotted path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from recscale.errors import InputError
from recscale.load import load_points, load_workload
from recscale.sweep import expand, point_id, spec_sha256

REPO = Path(__file__).resolve().parent.parent
SMOKE = REPO / "workloads" / "smoke.yaml"


def smoke_doc() -> dict:
    return yaml.safe_load(SMOKE.read_text())


def write(tmp_path: Path, doc: dict | str, name: str = "w.yaml") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_points(path)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("workload", sorted((REPO / "workloads").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_workloads_are_valid(workload: Path) -> None:
    spec, points = load_points(workload)
    assert spec.id == workload.stem
    assert len(points) >= 1
    assert len({p.point_id for p in points}) == len(points)


def test_smoke_sweep_is_the_product_with_zipped_group() -> None:
    _, points = load_points(SMOKE)
    # 2 fractions x 1 group of 2 zipped positions = 4 points, not 2 x 2 x 2
    assert len(points) == 4
    for point in points:
        assert point.spec.model.bottom_mlp[-1] == point.spec.model.embedding.dim
        assert point.spec.sweep == {}
    ids = [p.point_id for p in points]
    assert "data.fraction=0.5,model.bottom_mlp=32-4,model.embedding.dim=4" in ids


def test_point_ids_are_stable_under_axis_reordering(tmp_path: Path) -> None:
    doc = smoke_doc()
    doc["sweep"] = dict(reversed(list(doc["sweep"].items())))
    _, reordered = load_points(write(tmp_path, doc))
    _, original = load_points(SMOKE)
    assert sorted(p.point_id for p in reordered) == sorted(p.point_id for p in original)
    by_id = {p.point_id: p.spec_sha256 for p in original}
    assert all(by_id[p.point_id] == p.spec_sha256 for p in reordered)


def test_spec_hash_changes_with_any_value() -> None:
    _, points = load_points(SMOKE)
    hashes = {p.spec_sha256 for p in points}
    assert len(hashes) == len(points)
    assert spec_sha256({"a": 1, "b": 2}) == spec_sha256({"b": 2, "a": 1})


def test_point_id_formatting() -> None:
    assert point_id({}) == "base"
    assert point_id({"b": 0.25, "a": [64, 16]}) == "a=64-16,b=0.25"
    assert point_id({"model.interaction": {"kind": "dcn", "layers": 2, "low_rank": 64}}) == (
        "model.interaction=dcn_layers2_low_rank64"
    )


def test_no_sweep_gives_one_base_point(tmp_path: Path) -> None:
    doc = smoke_doc()
    del doc["sweep"]
    _, points = load_points(write(tmp_path, doc))
    assert [p.point_id for p in points] == ["base"]


def test_interaction_sweep_over_kinds(tmp_path: Path) -> None:
    doc = smoke_doc()
    doc["sweep"] = {"model.interaction": [{"kind": "dot"}, {"kind": "dcn", "layers": 2, "low_rank": 4},
                                          {"kind": "wukong", "layers": 1}]}
    _, points = load_points(write(tmp_path, doc))
    assert [p.spec.model.interaction.kind for p in points] == ["dot", "dcn", "wukong"]


# ---------------------------------------------------------------------------- malformed specs

MALFORMED = [
    # (mutation, expected dotted path, expected words in the message)
    (lambda d: d["model"]["embedding"].update(dim="8"), "model.embedding.dim", "valid integer"),
    (lambda d: d["model"]["embedding"].update(dimm=8), "model.embedding.dimm", "did you mean 'dim'"),
    (lambda d: d.update(colour="blue"), "colour", "unknown key"),
    (lambda d: d["data"].update(fraction=1.5), "data.fraction", "less than or equal to 1"),
    (lambda d: d["data"].update(fraction=0.0), "data.fraction", "greater than 0"),
    (lambda d: d["data"].update(train_samples=True), "data.train_samples", "valid integer"),
    (lambda d: d["data"].update(source="parquet"), "data.source", "'synthetic'"),
    (lambda d: d["data"].update(cardinalities="criteo_2tb"), "data.cardinalities", "criteo_kaggle"),
    (lambda d: d["data"].pop("synthetic"), "data", "needs a 'synthetic' section"),
    (lambda d: d["model"].update(top_mlp=[32, 2]), "model", "top_mlp must end in 1"),
    (lambda d: d["model"].update(bottom_mlp=[]), "model.bottom_mlp", "at least 1"),
    (lambda d: d["model"]["interaction"].update(kind="transformer"), "model.interaction", "dot"),
    (lambda d: d["model"].update(interaction={"kind": "dcn", "lyers": 2}), "model.interaction.lyers",
     "did you mean 'layers'"),
    (lambda d: d["model"].update(interaction={"kind": "dcn", "layers": "2"}), "model.interaction.layers",
     "valid integer"),
    (lambda d: d["training"]["optimizer"]["dense"].update(name="adamw"), "training.optimizer.dense.name", "adam"),
    (lambda d: d["training"]["optimizer"]["sparse"].update(lr=-1), "training.optimizer.sparse.lr", "greater than 0"),
    (lambda d: d["training"].update(eval_every=2), "training.eval_every", "less than or equal to 1"),
    (lambda d: d["quality"].update(metric="accuracy"), "quality.metric", "'ne'"),
    (lambda d: d["quality"].update(metric="auc", target=0.3), "quality", "AUC target"),
    (lambda d: d.update(runs_per_point=0), "runs_per_point", "greater than 0"),
    (lambda d: d.update(id="Bad Id"), "id", "pattern"),
    (lambda d: d.pop("training"), "training", "required field is missing"),
    (lambda d: d["sweep"].update({"data.fraction": []}), "sweep.data.fraction", "at least 1"),
    (lambda d: d["sweep"].update({"model.embedding.dims": [4]}), "sweep.model.embedding.dims", "no such field"),
    (lambda d: d["sweep"].update({"sweep.x": [4]}), "sweep.sweep.x", "no such field"),
    (lambda d: d["sweep"].update({"data.fraction": [0.5, 2.0]}), "data.fraction", "in sweep point"),
    (lambda d: d["sweep"].update({"data.fraction": ["a b"]}), "sweep.data.fraction", "cannot form a point id"),
    (lambda d: d["sweep"].update({"g": {"model.embedding.dim": [4, 8], "model.bottom_mlp": [[32, 4]]}}),
     "sweep", "one length"),
    (lambda d: d["sweep"].update({"model.embedding.dim": [16]}), "model", "bottom_mlp ends in"),
]


@pytest.mark.parametrize(("mutate", "path", "words"), MALFORMED, ids=[m[1] + ":" + m[2] for m in MALFORMED])
def test_malformed_spec_names_file_and_path(tmp_path: Path, mutate, path: str, words: str) -> None:
    doc = smoke_doc()
    mutate(doc)
    file = write(tmp_path, doc)
    lines = problems_of(file)
    matching = [line for line in lines if line.startswith(f"{file}: {path}: ") and words in line]
    assert matching, f"expected '{path}' with '{words}' in {lines}"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("id: x\n  bad: indentation\n", "YAML syntax error: line 2"),
        ("id: [unclosed\n", "YAML syntax error"),
        ("- a list\n- at top level\n", "YAML mapping at top level"),
        ("id: a\nid: b\n", "duplicate key 'id'"),
        ("", "YAML mapping at top level"),
    ],
)
def test_bad_yaml_is_reported_with_file(tmp_path: Path, text: str, words: str) -> None:
    file = write(tmp_path, text)
    lines = problems_of(file)
    assert any(line.startswith(str(file)) and words in line for line in lines), lines


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_workload(tmp_path / "nope.yaml")


def test_strict_types_do_not_coerce(tmp_path: Path) -> None:
    doc = smoke_doc()
    doc["training"]["optimizer"]["dense"]["lr"] = 1  # an int for a float is fine
    spec = load_workload(write(tmp_path, doc))
    assert spec.training.optimizer.dense.lr == 1.0


def test_expand_reports_every_bad_point(tmp_path: Path) -> None:
    spec = load_workload(SMOKE)
    assert len(expand(spec)) == 4


# ------------------------------------------------------------------------------------------- CLI


def test_cli_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert out.count("ok  ") == len(list((REPO / "workloads").glob("*.yaml")))


def test_cli_validate_bad_exits_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, smoke_doc(), "good.yaml")
    bad_doc = smoke_doc()
    bad_doc["model"]["embedding"]["dim"] = "x"
    bad = write(tmp_path, bad_doc, "bad.yaml")
    assert main(["validate", str(good), str(bad)]) == 2
    captured = capsys.readouterr()
    assert f"ok  {good}" in captured.out
    assert f"{bad}: model.embedding.dim: " in captured.err
    assert "Traceback" not in captured.err


def test_cli_ls_and_points(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    assert "smoke" in out and "dlrm-dcnv2-criteo1tb" in out
    assert main(["points", "smoke"]) == 0
    out = capsys.readouterr().out
    assert out.count("train_rows=") == 4


def test_cli_points_unknown_workload(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["points", "no-such-workload"]) == 2
    assert "no such workload" in capsys.readouterr().err


def test_cli_subprocess_has_no_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = write(tmp_path, textwrap.dedent("id: x\nversion: one\n"))
    run = subprocess.run([sys.executable, "-m", "harness.cli", "validate", str(bad)], capture_output=True,
                         text=True, check=False)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert f"{bad}: version: " in run.stderr
