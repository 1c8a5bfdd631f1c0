"""Malformed workload files for bench/bench_bad_workloads.py: ~700 mutants of the shipped workloads.

Wrong types, extreme numbers, unknown and missing keys, values out of range, broken and hostile
YAML (deep nesting, alias bombs, recursive aliases, huge integers, complex keys, tags), huge and
colliding sweeps, unicode, truncated, re-encoded or binary files, empty files, non-mappings; the
findings of issue 14's campaign; and values at the limits `validate` accepts (which must run).
Deterministic for a seed.
"""

from __future__ import annotations

import copy
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
WORKLOADS = sorted((REPO / "workloads").glob("*.yaml"))
SMOKE = "smoke"

# Values that are wrong somewhere: wrong types, extremes, non-finite, empty, huge, unicode.
BAD_VALUES: list[Any] = [
    "16", True, None, [], {}, 1.5, -1, 0, 2**63, 10**30, 1e-300, 5e-324, float("inf"), float("nan"),
    -float("inf"), 1e300, "", "é☃\u200b", "x" * 5000, [0], [-1], [1.0, 2.5], {"kind": "nope"}, 2, 10**6,
]
# Values that may be right somewhere but are extreme, for the run sample to try.
EDGE_VALUES: list[Any] = [1, 2, 3, 7, 100, 0.001, 0.999, 1e-4, 0.5, 1.0, 4.0, 256, 1024, 4096, 65536]


@dataclass(frozen=True)
class Mutant:
    name: str  # what was done, for the report
    workload: str  # the stem of the workload it came from ("-" for workload-free YAML attacks)
    content: bytes


# ------------------------------------------------------------------------------------ mutants


def dump(doc: Any) -> bytes:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10**6).encode()


def leaves(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """(path, value) of every value in a document, containers included (the root excluded)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        yield (*path, key), value
        yield from leaves(value, (*path, key))


def mappings(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, dict]]:
    if isinstance(node, dict):
        yield path, node
    for sub_path, value in leaves(node, path):
        if isinstance(value, dict) and len(sub_path) == len(path) + 1:
            yield from mappings(value, sub_path)


def replaced(doc: Any, path: tuple, value: Any) -> Any:
    out = copy.deepcopy(doc)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def edited(doc: dict, edit: Callable[[dict], None]) -> bytes:
    out = copy.deepcopy(doc)
    edit(out)
    return dump(out)


def dotted(path: tuple) -> str:
    return ".".join(map(str, path))


def value_mutants(stem: str, doc: dict, rng: random.Random, count: int) -> list[Mutant]:
    """Replace a random value by a bad or extreme one; add unknown keys; delete keys."""
    paths = [p for p, _ in leaves(doc)]
    out = []
    for _ in range(count):
        path = rng.choice(paths)
        value = rng.choice(BAD_VALUES + EDGE_VALUES)
        out.append(Mutant(f"value {dotted(path)} = {str(value)[:30]!s}", stem, dump(replaced(doc, path, value))))
    for path, mapping in mappings(doc):
        if rng.random() < 0.5:
            grown = replaced(doc, (*path, "colour"), "blue") if path else {**doc, "colour": "blue"}
            out.append(Mutant(f"unknown key {dotted((*path, 'colour'))}", stem, dump(grown)))
        if mapping and rng.random() < 0.5:
            key = rng.choice(list(mapping))
            smaller = copy.deepcopy(doc)
            holder = smaller
            for part in path:
                holder = holder[part]
            del holder[key]
            out.append(Mutant(f"deleted {dotted((*path, key))}", stem, dump(smaller)))
    return out


def text_mutants(stem: str, text: str, rng: random.Random) -> list[Mutant]:
    """Damage to the file itself: truncation, flipped bytes, line endings, tabs, encodings."""
    raw = text.encode()
    cut = rng.randrange(1, len(raw))
    flipped = bytearray(raw)
    for _ in range(3):
        flipped[rng.randrange(len(raw))] = rng.randrange(256)
    return [
        Mutant(f"truncated at byte {cut}", stem, raw[:cut]),
        Mutant("three random bytes", stem, bytes(flipped)),
        Mutant("CRLF line endings", stem, text.replace("\n", "\r\n").encode()),
        Mutant("tab indentation", stem, text.replace("  ", "\t").encode()),
        Mutant("UTF-8 BOM", stem, b"\xef\xbb\xbf" + raw),
        Mutant("UTF-16", stem, text.encode("utf-16")),
    ]


def sweep_mutants(stem: str, doc: dict) -> list[Mutant]:
    """Sweeps that are too large, collide, or name what cannot vary."""
    fraction = doc["data"].get("fraction", 1.0)
    cases: dict[str, Any] = {
        "1e6 points": {"training.optimizer.dense.lr": [0.01] * 1000, "training.optimizer.sparse.lr": [0.1] * 1000},
        "1e12 points": {f"a{i}": list(range(100)) for i in range(6)},
        "same value written twice": {"data.fraction": [fraction, fraction]},
        "1 and 1.0": {"training.passes": [1, 1.0]},
        "empty axis": {"data.fraction": []},
        "axis of mappings": {"data.fraction": [{"a": 1}]},
        "unsafe characters": {"data.fraction": ["../x", "a/b"]},
        "over id": {"id": ["a", "b"]},
        "over version": {"version": [1, 2]},
        "over sweep": {"sweep": [{}]},
        "mismatched group": {"g": {"model.embedding.dim": [4, 8], "model.bottom_mlp": [[4]]}},
        "empty group": {"g": {}},
        "not a mapping": ["data.fraction"],
        "long values": {"model.top_mlp": [[7] * 150 + [1]]},
        "bool fraction": {"data.fraction": [True]},
    }
    return [Mutant(f"sweep: {name}", stem, dump({**doc, "sweep": sweep})) for name, sweep in cases.items()]


def finding_mutants(doc: dict) -> list[Mutant]:
    """The campaign findings of issue 14, each on the smoke workload."""
    return [Mutant(f"finding: {name}", SMOKE, edited(doc, edit)) for name, edit in {
        "quality.target inf": lambda d: d["quality"].update(target=float("inf")),
        "eval_every 1e-300": lambda d: d["training"].update(eval_every=1e-300),
        "eval_every 5e-324": lambda d: d["training"].update(eval_every=5e-324),
        "eval_samples 1": lambda d: d["data"].update(eval_samples=1),
        "ctr 1e-300": lambda d: d["data"]["synthetic"].update(ctr=1e-300),
        "seed -1": lambda d: d["data"]["synthetic"].update(seed=-1),
        "fmb_mlp [0]": lambda d: d["model"].update(interaction={"kind": "wukong", "fmb_mlp": [0]}),
        "runs_per_point 1e30": lambda d: d.update(runs_per_point=10**30),
        "id of 300 characters": lambda d: d.update(id="a" * 300),
        "fraction 1e-9": lambda d: (d["data"].update(fraction=1e-9), d.pop("sweep")),
        "batch larger than the data": lambda d: d["training"].update(batch_size=10**6),
        "sweep [1, 1.0]": lambda d: d["sweep"].update({"data.fraction": [1, 1.0]}),
        "data.path for synthetic data": lambda d: d["data"].update(path="/nonexistent"),
    }.items()]


def boundary_mutants(doc: dict) -> list[Mutant]:
    """The smoke workload with values at the limits that validate accepts: each must run."""
    one_point = {"data.fraction": [0.5]}
    return [Mutant(f"boundary: {name}", SMOKE, edited(doc, edit)) for name, edit in {
        "eval_every 1e-4": lambda d: d["training"].update(eval_every=1e-4),
        "eval_samples 40 (10 expected clicks)": lambda d: d["data"].update(eval_samples=40),
        "ctr 0.001, 10,000 eval samples": lambda d: (d["data"]["synthetic"].update(ctr=0.001),
                                                     d["data"].update(eval_samples=10_000)),
        "ctr 0.999, 10,000 eval samples": lambda d: (d["data"]["synthetic"].update(ctr=0.999),
                                                     d["data"].update(eval_samples=10_000)),
        "teacher_scale 4, rank 256": lambda d: d["data"]["synthetic"].update(teacher_scale=4.0, teacher_rank=256),
        "seed 2^63 - 1": lambda d: d["data"]["synthetic"].update(seed=2**63 - 1),
        "zipf 1e-300": lambda d: d["data"]["synthetic"].update(zipf_exponent=1e-300),
        "rows = one batch": lambda d: (d.update(sweep=one_point), d["training"].update(batch_size=32768)),
        "batch 1": lambda d: (d.update(sweep=one_point), d["training"].update(batch_size=1),
                              d["data"].update(train_samples=2000)),
        "eval_batch_size 1": lambda d: (d["training"].update(eval_batch_size=1), d["data"].update(eval_samples=100)),
        "runs_per_point 100": lambda d: d.update(runs_per_point=100),
        "one feature of one id": lambda d: d["data"].update(cardinalities=[1], cardinality_cap=None),
        "cap 1, hash 1, dim 1": lambda d: (d["data"].update(cardinality_cap=1), d.update(sweep=one_point),
                                           d["model"].update(embedding={"dim": 1, "hash_size": 1}, bottom_mlp=[1])),
        "one dense feature": lambda d: d["data"].update(num_dense=1),
        "wukong, empty fmb_mlp": lambda d: d["model"].update(interaction={"kind": "wukong", "fmb_mlp": []}),
        "wukong of ones": lambda d: d["model"].update(interaction={
            "kind": "wukong", "layers": 1, "fmb_features": 1, "lcb_features": 1, "fmb_rank": 1, "fmb_mlp": [1]}),
        "dcn rank 1": lambda d: d["model"].update(interaction={"kind": "dcn", "layers": 1, "low_rank": 1}),
        "three passes": lambda d: d["training"].update(passes=3),
        "eval_every 1": lambda d: d["training"].update(eval_every=1.0),
        "target never reached": lambda d: d["quality"].update(target=1e-9),
        "auc target 1": lambda d: d["quality"].update(metric="auc", target=1.0),
        "lr 1e6 (diverges)": lambda d: d["training"]["optimizer"]["dense"].update(lr=1e6),
    }.items()]


def yaml_attacks(smoke_text: str) -> list[Mutant]:
    """Hostile or odd YAML, alone and inside the smoke workload."""
    laughs = "a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10))
    in_sweep = "l0: &l0 [1, 2, 3, 4, 5, 6, 7, 8]\n" + "".join(
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 8)}]\n" for i in range(1, 6))
    texts = {
        "empty file": "", "only whitespace": " \n\t\n", "only a comment": "# nothing\n", "null": "null\n",
        "a scalar": "42\n", "a string": "hello\n", "a list": "- a\n- b\n", "NUL bytes": "id: a\x00\n",
        "control character": "id: a\x07\n", "complex key": "? [a, b]\n: 1\n", "key on": "on: 1\n",
        "integer key": "1: a\n", "null key": "null: a\n", "5000-digit integer": "id: " + "9" * 5000 + "\n",
        "25-digit integer": "version: " + "9" * 25 + "\n", "float overflow": "version: 1.0e+400\n",
        "5000-deep flow nesting": "x: " + "[" * 5000 + "]" * 5000 + "\n",
        "5000-deep mapping nesting": "x: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
        "300-deep block nesting": "x:\n" + "".join(" " * i + "- \n" for i in range(1, 300)),
        "recursive alias (list)": "x: &x [1, *x]\n", "recursive alias (map)": "x: &x {a: *x}\n",
        "undefined alias": "x: *nope\n", "billion laughs": laughs,
        "alias bomb in a sweep": in_sweep + smoke_text.replace("sweep:\n", "sweep:\n  data.cardinalities: "
                                                               "[*l5, *l5, *l5, *l5]\n"),
        "billion laughs in the workload": smoke_text.replace(
            "sweep:\n", "bomb:\n" + "".join("  " + line for line in laughs.splitlines(True)) + "sweep:\n"),
        "merge key": smoke_text.replace("dense: {name: adagrad, lr: 0.05}", "dense: &d {name: adagrad, lr: 0.05}")
        .replace("sparse: {name: rowwise_adagrad, lr: 0.1}", "sparse: {<<: *d, name: rowwise_adagrad, lr: 0.1}"),
        "merge of a scalar": "a: &a 1\nb: {<<: *a}\n", "merge of a list of scalars": "a: &a [1]\nb: {<<: *a}\n",
        "duplicate key beside a merge": "a: &a {x: 1}\nb: {<<: *a, y: 1, y: 2}\n",
        "two documents": smoke_text + "---\n" + smoke_text, "python tag": "x: !!python/object/apply:os.system [ls]\n",
        "binary tag": "id: !!binary aGVsbG8=\n", "set tag": "id: !!set {a, b}\n", "timestamp id": "id: 2024-01-01\n",
        "unknown tag": "id: !custom x\n", "exponent float as id": smoke_text.replace("id: smoke", "id: 1e5"),
        "2 MB file": smoke_text + "#" * (2 << 20), "1 MB line": "id: " + "a" * (1 << 20) + "\n",
        "unicode id": smoke_text.replace("id: smoke", "id: smöke☃"),
        "zero-width in key": smoke_text.replace("version:", "ver\u200bsion:"),
        "right-to-left text": smoke_text.replace("description:", "description: \u202egnp.exe\n_:"),
    }
    out = [Mutant(f"yaml: {name}", "-", text.encode("utf-8", errors="surrogatepass")) for name, text in texts.items()]
    out += [Mutant("yaml: invalid UTF-8", "-", b"id: caf\xe9\n"), Mutant("yaml: random bytes", "-", os.urandom(512))]
    return out


def all_mutants(seed: int) -> list[Mutant]:
    rng = random.Random(seed)
    smoke_text = (REPO / "workloads" / f"{SMOKE}.yaml").read_text()
    smoke = yaml.safe_load(smoke_text)
    mutants = yaml_attacks(smoke_text) + finding_mutants(smoke) + boundary_mutants(smoke)
    for path in WORKLOADS:
        text = path.read_text()
        doc = yaml.safe_load(text)
        mutants += value_mutants(path.stem, doc, rng, 140 if path.stem == SMOKE else 22)
        mutants += text_mutants(path.stem, text, rng)
        if path.stem in (SMOKE, "study-interaction", "dlrm-criteo-kaggle"):
            mutants += sweep_mutants(path.stem, doc)
    return mutants
