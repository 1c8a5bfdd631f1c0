"""The bounds of the workload language (recscale/limits.py): one test per finding of the bad-input
campaign (issue 14), each a clear `file: dotted.path: what (got value)` instead of a crash, a hang
or a degenerate run."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from test_spec import SMOKE, problems_of, smoke_doc, write

from harness.cli import main
from harness.runner import eval_schedule
from recscale.limits import MAX_CTR, MAX_TEACHER_SCALE, MAX_YAML_BYTES, MIN_CTR, MIN_EVAL_EVERY
from recscale.load import load_workload
from recscale.strict_yaml import read_yaml
from reference.data.synthetic import SyntheticConfig, build_teacher

BIG = 2**63  # one more than an int64 holds


def no_sweep(mutate):
    """The mutation applied to the smoke workload without its sweep (so the base values are the point's)."""
    return lambda d: (d.pop("sweep"), mutate(d))


# (mutation of the smoke workload, dotted path, words of the message)
BOUNDS = [
    # finite floats everywhere (one config for every spec model)
    (lambda d: d["quality"].update(target=float("inf")), "quality.target", "finite number (got inf)"),
    (lambda d: d["training"]["optimizer"]["dense"].update(lr=float("nan")), "training.optimizer.dense.lr",
     "finite number"),
    (lambda d: d["data"]["synthetic"].update(zipf_exponent=float("inf")), "data.synthetic.zipf_exponent",
     "finite number"),
    # evaluations per run bounded: eval_every >= 1e-4 (1e-300 hung the run, 5e-324 crashed it)
    (lambda d: d["training"].update(eval_every=1e-300), "training.eval_every", "greater than or equal to 0.0001"),
    (lambda d: d["training"].update(eval_every=5e-324), "training.eval_every", "greater than or equal to 0.0001"),
    # NE and AUC need a click and a non-click
    (lambda d: d["data"].update(eval_samples=1), "data.eval_samples", "greater than or equal to 2 (got 1)"),
    (lambda d: d["data"].update(eval_samples=30), "data", "expects 7.68 examples of the rarer label"),
    # the synthetic teacher's bias calibration has a root
    (lambda d: d["data"]["synthetic"].update(ctr=1e-300), "data.synthetic.ctr", "greater than or equal to 0.001"),
    (lambda d: d["data"]["synthetic"].update(ctr=0.9999), "data.synthetic.ctr", "less than or equal to 0.999"),
    (lambda d: d["data"]["synthetic"].update(teacher_scale=10.0), "data.synthetic.teacher_scale",
     "less than or equal to 4"),
    (lambda d: d["data"]["synthetic"].update(teacher_rank=100_000), "data.synthetic.teacher_rank",
     "less than or equal to 256"),
    (lambda d: d["data"]["synthetic"].update(seed=-1), "data.synthetic.seed", "greater than or equal to 0"),
    (lambda d: d["data"]["synthetic"].update(seed=BIG), "data.synthetic.seed", f"less than or equal to {BIG - 1}"),
    # integers fit an int64; widths are positive
    (lambda d: d["model"].update(interaction={"kind": "wukong", "fmb_mlp": [0]}), "model.interaction.fmb_mlp.0",
     "greater than 0"),
    (lambda d: d["model"].update(interaction={"kind": "dcn", "low_rank": BIG}), "model.interaction.low_rank",
     "less than or equal to"),
    (lambda d: d["data"].update(train_samples=10**30), "data.train_samples", "less than or equal to"),
    (lambda d: d.update(runs_per_point=10**30), "runs_per_point", "less than or equal to 100"),
    # ids are path components
    (lambda d: d.update(id="a" * 201), "id", "at most 200 characters"),
    # degenerate data: no silent one-row fraction, a run takes at least one full batch
    (no_sweep(lambda d: d["data"].update(fraction=1e-9)), "data", "leaves no training row"),
    (lambda d: d["training"].update(batch_size=100_000), "training", "batch_size 100,000 is more than the 65,536"),
    (lambda d: d["sweep"].update({"data.fraction": [0.01, 1.0]}), "training", "in sweep point data.fraction=0.01"),
    (lambda d: d["data"].update(path="data/somewhere"), "data", "'path' is for converted data only"),
    # sweeps: two ids for one spec, ids too long for a folder, axes that name the workload
    (lambda d: d["sweep"].update({"data.fraction": [1, 1.0]}), "sweep", "have the same spec"),
    (lambda d: d["sweep"].update({"model.interaction": [{"kind": "wukong", "fmb_mlp": [1] * 100}]}), "sweep",
     "too long for a path component"),
    (lambda d: d["sweep"].update({"id": ["a", "b"]}), "sweep.id", "cannot be swept over"),
    (lambda d: d["sweep"].update({"a": list(range(100)), "b": list(range(100)), "c": list(range(100))}), "sweep",
     "2 x 2 x 100 x 100 x 100 = 4,000,000 points; a sweep has at most 10,000"),
    (lambda d: d.update(sweep={"data.cardinalities": [list(range(1, 20_001)), [5, 6]],
                               "training.optimizer.dense.lr": [0.01 * i for i in range(1, 101)]}),
     "sweep", "more than 1,000,000 values"),
]


@pytest.mark.parametrize(("mutate", "path", "words"), BOUNDS, ids=[f"{b[1]}:{b[2][:40]}" for b in BOUNDS])
def test_value_out_of_bounds_names_file_path_and_value(tmp_path: Path, mutate, path: str, words: str) -> None:
    doc = smoke_doc()
    mutate(doc)
    file = write(tmp_path, doc)
    lines = problems_of(file)
    assert [line for line in lines if line.startswith(f"{file}: {path}: ") and words in line], lines
    assert all(len(line) < 400 for line in lines)  # long values are shortened


def test_the_same_spec_twice_names_both_points(tmp_path: Path) -> None:
    doc = smoke_doc()
    doc["sweep"] = {"data.fraction": [0.5, 1, 1.0]}
    (line,) = problems_of(write(tmp_path, doc))
    assert "'data.fraction=1' and 'data.fraction=1.0'" in line


def test_large_sweep_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    doc = smoke_doc()
    doc["sweep"] = {f"training.optimizer.{part}.lr": [0.01 * i for i in range(1, 101)]
                    for part in ("dense", "sparse")} | {"data.fraction": [0.1 * i for i in range(1, 11)],
                                                        "training.eval_every": [0.1 * i for i in range(1, 11)]}
    started = time.monotonic()
    (line,) = problems_of(write(tmp_path, doc))
    assert "100 x 100 x 10 x 10 = 1,000,000 points" in line
    assert time.monotonic() - started < 5  # a million points would take minutes to expand


def test_the_smallest_eval_every_bounds_the_evaluations() -> None:
    """eval_every 1e-300 hung the run (a schedule of 1e300 evaluations); at the bound, 10,000 at most."""
    steps = eval_schedule(10**9, MIN_EVAL_EVERY)
    assert len(steps) == 10_000 and max(steps) == 10**9


@pytest.mark.parametrize(("ctr", "scale"), [(MIN_CTR, MAX_TEACHER_SCALE), (MAX_CTR, MAX_TEACHER_SCALE)])
def test_calibration_converges_at_the_bounds(ctr: float, scale: float) -> None:
    """The ctr / teacher_scale bounds: the teacher's bias (bracketed in [-60, 60]) has a root, with room, in the
    hardest corner measured (rank 1, near-uniform ids: the heaviest-tailed logits)."""
    config = SyntheticConfig(seed=3, ctr=ctr, zipf_exponent=0.01, teacher_rank=1, teacher_scale=scale,
                             cardinalities=(2000,) * 26, num_dense=1)
    teacher = build_teacher(config)
    assert -55 < teacher.bias < 55
    rows = teacher.generate(split=0, start=0, count=1 << 15)
    assert rows.probs.mean().item() == pytest.approx(ctr, rel=0.3)


def test_beyond_the_scale_bound_calibration_has_no_root() -> None:
    config = SyntheticConfig(seed=3, ctr=MIN_CTR, zipf_exponent=1.1, teacher_rank=8, teacher_scale=10.0,
                             cardinalities=(2000,) * 26)
    with pytest.raises(ValueError, match="different signs"):
        build_teacher(config)


# ------------------------------------------------------------------------------------------- YAML

SMOKE_TEXT = SMOKE.read_text()
BILLION_LAUGHS = "".join(
    ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10)]
)

YAML_REFUSED = [
    # (text, words): each names the line, none is a traceback
    ("? [a, b]\n: 1\n", "line 1, column 3: a key must be a plain value (text), not a list"),
    ("id: x\non: 1\n", "line 2, column 1: the key 'on' is read as True"),
    ("id: x\n1: 1\n", "line 2, column 1: the key '1' is read as 1"),
    ("id: " + "9" * 5000 + "\n", "line 1, column 5: an integer of 5,000 characters"),
    ("x: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply: more than 32 levels"),
    ("x:\n" + "".join(" " * i + "- \n" for i in range(1, 200)), "nested too deeply: more than 32 levels"),
    ("x: &x [1, *x]\n", "line 1, column 11: the alias *x is inside the value it refers to"),
    ("x: &x {a: *x}\n", "the alias *x is inside the value it refers to"),
    (BILLION_LAUGHS, "more than 100,000 values once aliases are expanded"),
    (SMOKE_TEXT.replace("sweep:\n", f"bomb:\n{BILLION_LAUGHS}".replace("\na", "\n  a") + "sweep:\n"),
     "more than 100,000 values once aliases are expanded"),
    ("id: a\x00b\n", "line 1, column 6: character U+0000 is not allowed"),
    ("id: a\n---\nid: b\n", "line 2, column 1: expected a single document"),
    ("id: a\nx: *nope\n", "line 2, column 4: found undefined alias 'nope'"),
    ("base: &b {dim: 8}\nm:\n  <<: *b\n  dim: 4\n  dim: 5\n", "duplicate key 'dim' (line 5)"),
    ("m: !!python/object:os.system {}\n", "could not determine a constructor"),
]


@pytest.mark.parametrize(("text", "words"), YAML_REFUSED, ids=[w[:40] for _, w in YAML_REFUSED])
def test_bad_yaml_is_a_problem_with_file_and_line(tmp_path: Path, text: str, words: str) -> None:
    file = write(tmp_path, text)
    started = time.monotonic()
    (line,) = problems_of(file)
    assert line.startswith(f"{file}: ") and words in line, line
    assert time.monotonic() - started < 10  # the alias bomb once ran > 300 s


def test_a_sweep_of_aliases_cannot_explode(tmp_path: Path) -> None:
    """The campaign's 1.3 KB bomb: a sweep axis of aliases to aliases, each value a big list."""
    lists = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 8)}]\n" for i in range(1, 6))
    text = SMOKE_TEXT.replace("sweep:\n", "sweep:\n  data.cardinalities: [*l5, *l5, *l5, *l5]\n")
    text = "l0: &l0 [1, 2, 3, 4, 5, 6, 7, 8]\n" + lists + text
    assert len(text.encode()) < 3000
    (line,) = problems_of(write(tmp_path, text))
    assert "values once aliases are expanded" in line


def test_files_over_the_size_limit_are_not_read(tmp_path: Path) -> None:
    file = write(tmp_path, SMOKE_TEXT + "#" * MAX_YAML_BYTES)
    (line,) = problems_of(file)
    assert line == f"{file}: larger than {MAX_YAML_BYTES:,} bytes: not a workload file"


def test_text_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    file = tmp_path / "w.yaml"
    file.write_bytes(b"id: x\nversion: 1\ndescription: caf\xe9\n")
    (line,) = problems_of(file)
    assert line == f"{file}: not UTF-8 text: line 3, column 17: byte 0xe9"


def test_merge_keys_work_and_the_keys_beside_them_win(tmp_path: Path) -> None:
    text = SMOKE_TEXT.replace("dense: {name: adagrad, lr: 0.05}", "dense: &dense {name: adagrad, lr: 0.05, eps: 1e-7}")
    text = text.replace("sparse: {name: rowwise_adagrad, lr: 0.1}",
                        "sparse: {<<: *dense, name: rowwise_adagrad, lr: 0.1}")
    optimizer = load_workload(write(tmp_path, text)).training.optimizer
    assert optimizer.sparse.model_dump() == {"name": "rowwise_adagrad", "lr": 0.1, "eps": 1e-7}
    assert optimizer.dense.model_dump() == {"name": "adagrad", "lr": 0.05, "eps": 1e-7}


def test_exponent_floats_are_numbers_as_in_yaml_1_2(tmp_path: Path) -> None:
    doc = SMOKE_TEXT.replace("dense: {name: adagrad, lr: 0.05}", "dense: {name: adagrad, lr: 5e-2, eps: 1E-8}")
    spec = load_workload(write(tmp_path, doc))
    assert spec.training.optimizer.dense.lr == 0.05 and spec.training.optimizer.dense.eps == 1e-8
    file = write(tmp_path, SMOKE_TEXT.replace("id: smoke", "id: 1e5"))  # text that looks like a number: quote it
    assert problems_of(file) == [f"{file}: id: Input should be a valid string (got 100000.0)"]


@pytest.mark.parametrize("workload", sorted((SMOKE.parent).glob("*.yaml")), ids=lambda p: p.stem)
def test_the_strict_reader_reads_shipped_workloads_as_yaml_does(workload: Path) -> None:
    """So no shipped point's spec, nor its hash, changes with the reader."""
    import yaml

    assert read_yaml(workload) == yaml.safe_load(workload.read_text())


def test_cli_validate_refuses_the_bomb_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bomb = write(tmp_path, BILLION_LAUGHS, "bomb.yaml")
    deep = write(tmp_path, "x: " + "[" * 5000 + "]" * 5000 + "\n", "deep.yaml")
    assert main(["validate", str(bomb), str(deep), str(SMOKE)]) == 2
    captured = capsys.readouterr()
    assert f"ok  {SMOKE}" in captured.out and "Traceback" not in captured.err
    assert f"{bomb}: YAML value refused: line" in captured.err
    assert f"{deep}: YAML value refused: line 1" in captured.err
