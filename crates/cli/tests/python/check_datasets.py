"""Loads tracealign's dataset files with Hugging Face `datasets` and checks their columns.

Usage: check_datasets.py KIND=PATH [KIND=PATH ...], KIND one of sft, dpo, repair, rewards,
traced.
Exits non-zero, naming the file, row and column, when a file does not load as trainers
would load it (`datasets.load_dataset("json", data_files=PATH)`) or a column has the wrong
type or length. Run by the Rust integration test `datasets::datasets_loads_every_output`.
"""

import sys

from datasets import load_dataset


def dtype(feature):
    """`string`, `float64`, `list<int64>`, ... for a datasets feature."""
    if hasattr(feature, "dtype") and not hasattr(feature, "feature"):
        return feature.dtype
    inner = getattr(feature, "feature", None)
    if inner is None:  # datasets < 4 spells lists of values as [Value]
        inner = feature[0]
    return "list<" + dtype(inner) + ">"


def expect_types(path, features, expected):
    for column, wanted in expected.items():
        if column not in features:
            sys.exit(f"{path}: no column `{column}` (columns: {sorted(features)})")
        got = dtype(features[column])
        if got not in wanted:
            sys.exit(f"{path}: column `{column}` is {got}, expected one of {wanted}")


def expect_len(path, k, column, values, length, of):
    if len(values) != length:
        sys.exit(f"{path}: row {k}: len({column}) = {len(values)}, expected len({of}) = {length}")


STRING = ("string",)
FLOATS = ("list<float64>",)
INTS = ("list<int64>",)


def check_tokens(path, k, row):
    n = len(row["input_ids"])
    for column in ("attention_mask", "labels"):
        expect_len(path, k, column, row[column], n, "input_ids")
    labels = row["labels"]
    prompt = next((i for i, label in enumerate(labels) if label != -100), n)
    if any(label == -100 for label in labels[prompt:]):
        sys.exit(f"{path}: row {k}: labels are not -100 over a prefix only")
    if prompt == n:
        sys.exit(f"{path}: row {k}: no trained token")


def check_sft(path, ds, tokenized):
    expect_types(path, ds.features, {"prompt": STRING, "completion": STRING, "weights": FLOATS})
    for k, row in enumerate(ds):
        if tokenized:
            check_tokens(path, k, row)
            expect_len(path, k, "weights", row["weights"], len(row["input_ids"]), "input_ids")
        else:
            expect_len(path, k, "weights", row["weights"], len(row["completion"]), "completion")
        if min(row["weights"]) < 0:
            sys.exit(f"{path}: row {k}: a negative weight")


def check_dpo(path, ds, tokenized):
    expect_types(path, ds.features, {
        "prompt": STRING, "chosen": STRING, "rejected": STRING,
        "chosen_diff_mask": INTS, "rejected_diff_mask": INTS,
    })
    for k, row in enumerate(ds):
        for side in ("chosen", "rejected"):
            of = f"{side}_input_ids" if tokenized else side
            expect_len(path, k, f"{side}_diff_mask", row[f"{side}_diff_mask"], len(row[of]), of)
        if "rejected_fault_mask" in row:
            of = "rejected_input_ids" if tokenized else "rejected"
            expect_len(path, k, "rejected_fault_mask", row["rejected_fault_mask"], len(row[of]), of)


def check_repair(path, ds, tokenized):
    expect_types(path, ds.features, {
        "prompt": STRING, "completion": STRING, "representation": STRING, "fixed": STRING,
    })
    for k, row in enumerate(ds):
        if tokenized:
            check_tokens(path, k, row)


def check_rewards(path, ds, tokenized):
    expect_types(path, ds.features, {
        "prompt": STRING, "completion": STRING, "scheme": STRING,
        "reward": ("float64",), "line_rewards": FLOATS + ("list<null>",),
        "token_rewards": FLOATS + ("list<null>",),
    })
    for k, row in enumerate(ds):
        if row["reward"] is None:
            of = "input_ids" if tokenized else "completion"
            expect_len(path, k, "token_rewards", row["token_rewards"], len(row[of]), of)
        elif row["token_rewards"]:
            sys.exit(f"{path}: row {k}: a scalar reward with dense values")
        if tokenized:
            check_tokens(path, k, row)


def check_traced(path, ds, tokenized):
    expect_types(path, ds.features, {
        "prompt": STRING, "completion": STRING, "kind": STRING, "code": STRING, "args": STRING,
    })
    for k, row in enumerate(ds):
        answer = row["answer"]
        if answer["type"] == "vars" and not all(len(pair) == 2 for pair in answer["vars"]):
            sys.exit(f"{path}: row {k}: answer.vars is not a list of [name, value] pairs")


CHECKS = {"sft": check_sft, "dpo": check_dpo, "repair": check_repair, "rewards": check_rewards,
          "traced": check_traced}


def main(args):
    for arg in args:
        kind, _, path = arg.partition("=")
        ds = load_dataset("json", data_files=path, split="train")
        if len(ds) == 0:
            sys.exit(f"{path}: no rows")
        tokenized = "input_ids" in ds.column_names or "chosen_input_ids" in ds.column_names
        CHECKS[kind](path, ds, tokenized)
        print(f"{kind}: {path}: {len(ds)} rows, columns {ds.column_names}")


if __name__ == "__main__":
    main(sys.argv[1:])
