"""Reading workload files: bounded strict YAML, safe point ids, the search path of workload ids."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from recscale.errors import InputError
from recscale.limits import MAX_YAML_NODES
from recscale.load import default_workload_paths, load_points, points_from_text, resolve_workload
from recscale.resources import packaged_workloads
from recscale.strict_yaml import parse_yaml

SMOKE = packaged_workloads() / "smoke.yaml"


def test_an_alias_bomb_is_refused_quickly():
    """1e9 values from 9 lines: each anchor is ten aliases of the one before."""
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"{name}: &{name} [{', '.join([f'*{before}'] * 10)}]" for before, name in zip("abcdefgh", "bcdefghi",
                                                                                          strict=True)]
    bomb = "\n".join(lines) + "\n"
    started = time.perf_counter()
    with pytest.raises(InputError, match=f"more than {MAX_YAML_NODES:,} values"):
        parse_yaml(bomb, "bomb.yaml")
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(("text", "message"), [
    ("a: &a [*a]\n", "recursive alias"),
    ("? [1, 2]\n: x\n", "a key must be a plain value"),
    ("a: 1\na: 2\n", "duplicate key 'a'"),
    (f"a: {'9' * 5000}\n", "YAML value refused"),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
])
def test_bad_yaml_is_an_input_error(text, message):
    with pytest.raises(InputError, match=message):
        parse_yaml(text, "x.yaml")


def test_merge_keys_work_and_written_keys_override_merged_ones():
    data = parse_yaml("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n", "m.yaml")
    assert data["use"] == {"x": 1, "y": 3}
    with pytest.raises(InputError, match="duplicate key 'y'"):
        parse_yaml("base: &b {x: 1}\nuse:\n  <<: *b\n  y: 3\n  y: 4\n", "m.yaml")


def test_a_workload_in_memory_loads_like_its_file():
    spec, points = points_from_text(SMOKE.read_text(), "copy.yaml")
    file_spec, file_points = load_points(SMOKE)
    assert spec == file_spec and [p.spec_sha256 for p in points] == [p.spec_sha256 for p in file_points]


def test_point_ids_too_long_for_a_folder_are_refused_at_validation(tmp_path):
    doc = yaml.safe_load(SMOKE.read_text())
    doc["sweep"] = {"model.bottom_mlp": [[16] * 80 + [8]]}
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(InputError, match="too long for a path component"):
        load_points(path)


def test_workload_ids_are_found_in_the_current_directory_then_the_shipped_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert default_workload_paths() == [packaged_workloads()]
    assert resolve_workload("smoke") == SMOKE
    (tmp_path / "workloads").mkdir()
    (tmp_path / "workloads" / "smoke.yaml").write_text(SMOKE.read_text())
    assert resolve_workload("smoke") == Path("workloads") / "smoke.yaml"
    with pytest.raises(InputError, match="no workload of that id in workloads, "):
        resolve_workload("nope")


def test_synthetic_data_refuses_a_path(tmp_path):
    doc = yaml.safe_load(SMOKE.read_text())
    doc["data"]["path"] = "data/somewhere"
    with pytest.raises(InputError, match="'path' is for converted data only"):
        points_from_text(yaml.safe_dump(doc), "x.yaml")


def test_validate_and_ls_default_to_the_shipped_workloads(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 0
    shipped = sorted(packaged_workloads().glob("*.yaml"))
    assert capsys.readouterr().out.count("ok  ") == len(shipped)
    assert main(["ls"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(shipped) + 1
