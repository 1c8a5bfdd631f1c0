"""The data-source registry (recscale/sources.py) is the one list the spec, the data set manifest,
the loader and `recscale data` use."""

from __future__ import annotations

import pytest
import yaml

from harness.cli import main
from recscale.cardinalities import NAMED_CARDINALITIES
from recscale.errors import InputError
from recscale.load import points_from_text
from recscale.resources import load_schema, packaged_workloads
from recscale.sources import SOURCES, generated_sources, stored_sources

SMOKE = packaged_workloads() / "smoke.yaml"


def test_the_source_registry_drives_the_spec_and_the_cli(capsys):
    doc = yaml.safe_load(SMOKE.read_text())
    doc["data"]["source"] = "avazu"
    with pytest.raises(InputError) as err:
        points_from_text(yaml.safe_dump(doc), "x.yaml")
    assert all(f"'{name}'" in str(err.value) for name in SOURCES)
    assert main(["data", "sources"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == list(SOURCES)
    assert [line.split()[1] for line in listed] == ["generated", "stored", "stored", "stored"]


def test_the_schemas_list_the_registry():
    for schema, where in (("workload", ("$defs", "DataSpec", "properties", "source")),
                          ("dataset", ("properties", "source"))):
        node = load_schema(schema)
        for key in where:
            node = node[key]
        assert node["enum"] == list(SOURCES), schema


def test_every_named_vocabulary_exists_and_the_kinds_partition_the_sources():
    assert all(s.cardinalities in NAMED_CARDINALITIES for s in SOURCES.values() if s.cardinalities)
    assert sorted(generated_sources() + stored_sources()) == sorted(SOURCES)


def test_torchrec_npy_takes_the_vocabularies_of_its_source(tmp_path, capsys):
    (tmp_path / "days").mkdir()
    assert main(["data", "convert", "torchrec-npy", str(tmp_path / "days"), "--out", str(tmp_path / "out"),
                 "--source", "npy"]) == 2
    assert "source 'npy' has no named vocabulary sizes" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["data", "convert", "torchrec-npy", str(tmp_path / "days"), "--out", str(tmp_path / "o"),
              "--source", "synthetic"])  # generated sources are not converted
