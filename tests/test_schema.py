"""Tests for discrete_gan.schema: inference, encode/decode round trips, JSON, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from discrete_gan.schema import Column, TableSchema

# Schema inference, encoding and JSON are numpy and Python: no Keras backend is involved.
pytestmark = pytest.mark.backend_agnostic


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "s": ["b", "a", "c", "a"],
            "i": np.array([3, 1, 2, 1], dtype="int64"),
            "b": [True, False, True, True],
            "c": pd.Categorical(["y", "x", "y", "y"], categories=["y", "x", "z"]),
            "o": pd.Series(["u", "v", "u", "v"], dtype=object),
            "f": [0.5, 1.5, 0.5, 2.5],
        }
    )


def _missing_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "s": pd.Series(["b", None, "a", "b"], dtype=object),
            "str": pd.Series(["b", None, "a", "b"], dtype="str"),
            "string": pd.Series(["b", None, "a", "b"], dtype="string"),
            "f": [1.0, np.nan, 2.0, 1.0],
            "I": pd.Series([1, None, 2, 1], dtype="Int64"),
            "B": pd.Series([True, None, False, True], dtype="boolean"),
            "ob": pd.Series([True, None, False, True], dtype=object),
            "c": pd.Categorical(["x", None, "y", "x"]),
        }
    )


def _assert_round_trip(df: pd.DataFrame, schema: TableSchema) -> None:
    back = schema.decode(schema.encode(df))
    pd.testing.assert_frame_equal(back, df.reset_index(drop=True), check_exact=True)
    assert list(back.dtypes) == list(df.dtypes)


def test_round_trip_restores_labels_and_dtypes() -> None:
    df = _frame()
    schema = TableSchema.from_dataframe(df)
    codes = schema.encode(df)
    assert codes.dtype == np.int32 and codes.shape == (4, 6)
    _assert_round_trip(df, schema)
    assert schema.decode(codes)["c"].cat.categories.tolist() == ["y", "x", "z"]


def test_round_trip_with_missing_values() -> None:
    df = _missing_frame()
    schema = TableSchema.from_dataframe(df)
    assert all(col.categories[-1] is None for col in schema.columns)
    _assert_round_trip(df, schema)
    back = schema.decode(schema.encode(df))
    assert back["s"][1] is None and np.isnan(back["f"][1]) and back["I"][1] is pd.NA


def test_hand_built_int_column_with_missing_decodes_as_nullable() -> None:
    schema = TableSchema([Column("n", (1, 2, None), "int64"), Column("t", (True, None), "bool")])
    back = schema.decode(np.array([[0, 0], [2, 1]]))
    assert str(back["n"].dtype) == "Int64" and back["n"].tolist() == [1, pd.NA]
    assert str(back["t"].dtype) == "boolean" and back["t"][1] is pd.NA


def test_category_order_and_frequencies() -> None:
    df = pd.DataFrame(
        {
            "n": [10, 2, 2, 1],
            "s": ["b", "B", "a", "b"],
            "m": pd.Series([2, "10", "a", 2], dtype=object),
            "b": [True, False, True, True],
            "x": ["q", None, "q", np.nan],
        }
    )
    schema = TableSchema.from_dataframe(df)
    assert schema.column("n").categories == (1, 2, 10)
    assert schema.column("n").frequencies == (0.25, 0.5, 0.25)
    assert schema.column("s").categories == ("B", "a", "b")
    assert schema.column("m").categories == ("10", 2, "a")
    assert schema.column("b").categories == (False, True)
    assert schema.column("x").categories == ("q", None)
    assert schema.column("x").frequencies == (0.5, 0.5)
    assert all(abs(sum(c.frequencies) - 1) < 1e-12 for c in schema.columns)
    assert schema.column("n").dtype == "int64" and schema.column("n").cardinality == 3


def test_categorical_keeps_declared_order_and_unused_categories() -> None:
    schema = TableSchema.from_dataframe(_frame(), ["c"])
    col = schema.column("c")
    assert col.categories == ("y", "x", "z")
    assert col.frequencies == (0.75, 0.25, 0.0)


def test_layout_properties_and_one_hot() -> None:
    schema = TableSchema.from_dataframe(_frame(), ["s", "b", "i"])
    assert schema.names == ["s", "b", "i"]
    assert schema.cardinalities == [3, 2, 3]
    assert schema.offsets == [0, 3, 5]
    assert schema.total_dim == 8
    codes = np.array([[0, 1, 2], [2, 0, 0]])
    oh = schema.one_hot(codes)
    assert oh.dtype == np.float32 and oh.shape == (2, 8)
    np.testing.assert_array_equal(oh[0], [1, 0, 0, 0, 1, 0, 0, 1])
    np.testing.assert_array_equal(oh[1], [0, 0, 1, 1, 0, 1, 0, 0])
    assert schema.one_hot(np.zeros((0, 3), "int32")).shape == (0, 8)


def test_json_round_trip_preserves_label_types() -> None:
    df = pd.DataFrame(
        {
            "mixed": pd.Series([1, "1", 1.5, None], dtype=object),
            "flag": [True, False, True, True],
            "f": [1.0, 0.1, 1.0, float("inf")],
        }
    )
    schema = TableSchema.from_dataframe(df)
    text = schema.to_json()
    json.loads(text)  # strict JSON
    back = TableSchema.from_json(text)
    assert back == schema
    cats = back.column("mixed").categories
    assert [type(x) for x in cats] == [type(x) for x in schema.column("mixed").categories]
    assert 1 in cats and "1" in cats and cats[-1] is None
    assert [type(x) for x in back.column("flag").categories] == [bool, bool]
    assert [type(x) for x in back.column("f").categories] == [float, float, float]
    assert back.column("f").categories == (0.1, 1.0, float("inf"))
    assert back.missing == "category"
    _assert_round_trip(df, back)


def test_schema_equality_is_type_aware() -> None:
    a = TableSchema([Column("x", (1, 2))])
    assert a == TableSchema([Column("x", (1, 2))])
    assert a != TableSchema([Column("x", (True, 2))])
    assert a != TableSchema([Column("x", (1, 2))], missing="drop")


def test_from_json_rejects_other_versions_and_garbage() -> None:
    d = TableSchema([Column("x", ("a",))]).to_dict()
    with pytest.raises(ValueError, match="format_version: 2"):
        TableSchema.from_dict({**d, "format_version": 2})
    with pytest.raises(ValueError, match="not valid JSON"):
        TableSchema.from_json("{nope")
    with pytest.raises(ValueError, match="Malformed"):
        TableSchema.from_dict({"format_version": 1})
    d["columns"][0]["category_types"] = ["int"]
    with pytest.raises(ValueError, match="invalid label"):
        TableSchema.from_dict(d)


def test_missing_policies() -> None:
    df = pd.DataFrame({"a": ["x", None, "y", "x"], "b": [1, 2, 3, 4]})
    with pytest.raises(ValueError, match=r"Column 'a' has 1 missing value"):
        TableSchema.from_dataframe(df, missing="error")
    drop = TableSchema.from_dataframe(df, missing="drop")
    assert drop.missing == "drop" and drop.column("a").categories == ("x", "y")
    codes = drop.encode(df)
    assert codes.shape == (3, 2)
    np.testing.assert_array_equal(drop.decode(codes)["b"], [1, 3, 4])
    strict = TableSchema.from_dataframe(df.dropna(), missing="error")
    with pytest.raises(ValueError, match=r"Column 'a' has 1 missing value"):
        strict.encode(df)
    cat = TableSchema.from_dataframe(df.dropna())
    with pytest.raises(ValueError, match="no missing category"):
        cat.encode(df)
    with pytest.raises(ValueError, match=r"Invalid value for `missing`.*missing='x'"):
        TableSchema.from_dataframe(df, missing="x")


def test_missing_variants_share_one_category() -> None:
    df = pd.DataFrame({"a": pd.Series(["x", None, np.nan, pd.NA], dtype=object)})
    schema = TableSchema.from_dataframe(df)
    assert schema.column("a").categories == ("x", None)
    assert schema.column("a").frequencies == (0.25, 0.75)
    np.testing.assert_array_equal(schema.encode(df)[:, 0], [0, 1, 1, 1])


def test_from_dataframe_errors() -> None:
    df = _frame()
    with pytest.raises(ValueError, match="empty DataFrame"):
        TableSchema.from_dataframe(df.iloc[:0])
    with pytest.raises(ValueError, match=r"Unknown column\(s\) \['nope', 'zz'\]"):
        TableSchema.from_dataframe(df, ["s", "nope", "zz"])
    with pytest.raises(ValueError, match="No columns"):
        TableSchema.from_dataframe(df, [])
    with pytest.raises(ValueError, match="No columns"):
        TableSchema.from_dataframe(pd.DataFrame(index=range(3)))
    big = pd.DataFrame({"x": np.arange(1234)})
    with pytest.raises(ValueError, match="Column 'x' has 1234 categories, more than max_categ"):
        TableSchema.from_dataframe(big, max_categories=1000)
    with pytest.raises(ValueError, match="max_categories"):
        TableSchema.from_dataframe(big, max_categories=0)
    with pytest.raises(TypeError, match="unsupported type Timestamp"):
        TableSchema.from_dataframe(pd.DataFrame({"t": pd.to_datetime(["2024-01-01"])}))
    with pytest.raises(TypeError, match="DataFrame"):
        TableSchema.from_dataframe([[1, 2]])  # type: ignore[arg-type]


def test_encode_errors() -> None:
    schema = TableSchema.from_dataframe(_frame())
    bad = _frame().assign(s=["a", "q", "r", "q"])
    with pytest.raises(ValueError, match=r"Column 's' has 3 value\(s\) not in the schema.*'q'"):
        schema.encode(bad)
    with pytest.raises(ValueError, match=r"lacks schema column\(s\) \['b'\]"):
        schema.encode(_frame().drop(columns="b"))
    many = pd.DataFrame({"x": list("abcdefgh")})
    with pytest.raises(ValueError, match=r"\['c', 'd', 'e', 'f', 'g'\]\. Known"):
        TableSchema.from_dataframe(pd.DataFrame({"x": ["a", "b"]})).encode(many)


def test_encode_ignores_extra_columns_and_reorders() -> None:
    df = _frame()
    schema = TableSchema.from_dataframe(df, ["i", "s"])
    codes = schema.encode(df[["s", "f", "i"]])
    np.testing.assert_array_equal(codes, [[2, 1], [0, 0], [1, 2], [0, 0]])


def test_decode_validates_codes() -> None:
    schema = TableSchema.from_dataframe(_frame(), ["s", "b"])
    with pytest.raises(ValueError, match=r"shape \(n_rows, 2\)"):
        schema.decode(np.zeros((3, 3), "int32"))
    with pytest.raises(ValueError, match=r"column 'b' must be in \[0, 2\)"):
        schema.decode(np.array([[0, 2]]))
    with pytest.raises(ValueError, match=r"column 's' must be in \[0, 3\)"):
        schema.one_hot(np.array([[-1, 0]]))
    with pytest.raises(TypeError, match="integer codes"):
        schema.decode(np.array([[0.0, 1.0]]))
    assert schema.decode(np.zeros((0, 2), "int32")).shape == (0, 2)


def test_decode_labels() -> None:
    schema = TableSchema.from_dataframe(_missing_frame(), ["s"])
    labels = schema.decode_labels("s", np.array([2, 0, 1]))
    assert labels.dtype == object and labels.tolist() == [None, "a", "b"]
    with pytest.raises(ValueError, match=r"Unknown column 'zz'. Known columns: \['s'\]"):
        schema.decode_labels("zz", np.array([0]))
    with pytest.raises(ValueError, match=r"must be in \[0, 3\)"):
        schema.decode_labels("s", np.array([3]))


def test_column_and_schema_validation() -> None:
    with pytest.raises(ValueError, match="at least one category"):
        Column("x", ())
    with pytest.raises(ValueError, match="duplicate categories"):
        Column("x", ("a", "b", "a"))
    with pytest.raises(ValueError, match="sum to 1"):
        Column("x", ("a", "b"), "object", (0.5, 0.6))
    with pytest.raises(ValueError, match="2 categories, 1 freqs"):
        Column("x", ("a", "b"), "object", (1.0,))
    assert Column("x", ("a", "b")).frequencies == (0.5, 0.5)
    assert Column("x", (np.int64(3), float("nan"))).categories == (3, None)
    with pytest.raises(ValueError, match="at least one column"):
        TableSchema([])
    with pytest.raises(ValueError, match="unique"):
        TableSchema([Column("x", ("a",)), Column("x", ("b",))])
    with pytest.raises(ValueError, match="missing category but missing='drop'"):
        TableSchema([Column("x", ("a", None))], missing="drop")


def test_encode_is_vectorised_for_a_million_rows() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    df = pd.DataFrame(
        {
            "s": rng.choice(["alpha", "beta", "gamma", None], n),
            "i": rng.integers(0, 500, n),
            "b": rng.integers(0, 2, n).astype(bool),
        }
    )
    schema = TableSchema.from_dataframe(df)
    codes = schema.encode(df)
    assert codes.shape == (n, 3)
    back = schema.decode(codes[:1000])
    assert back["i"].tolist() == df["i"][:1000].tolist()


def test_block_helpers():
    schema = TableSchema(
        [Column("a", ("x", "y"), frequencies=(0.25, 0.75)), Column("b", (1, 2, 3))]
    )
    assert schema.blocks == [slice(0, 2), slice(2, 5)]
    np.testing.assert_allclose(schema.marginals, [0.25, 0.75, 1 / 3, 1 / 3, 1 / 3])
    flat = np.arange(5.0)
    a, b = schema.split(flat)
    np.testing.assert_array_equal(a, [0, 1]) and np.testing.assert_array_equal(b, [2, 3, 4])
    assert schema.split(np.ones((7, 5)))[1].shape == (7, 3)
    assert schema.label_dict(flat) == {"a": {"x": 0.0, "y": 1.0}, "b": {1: 2.0, 2: 3.0, 3: 4.0}}
    with pytest.raises(ValueError, match="last dimension of 5"):
        schema.split(np.ones(4))


def test_code_of_matches_labels_exactly():
    col = Column("c", ("007", "7", 7, 1.0, None, float("inf")))
    assert col.code_of("007") == 0 and col.code_of("7") == 1 and col.code_of(7) == 2
    assert col.code_of(1) == 3 and col.code_of(1.0) == 3 and col.code_of(True) is None
    assert col.code_of(None) == 4 and col.code_of("inf") == 5 and col.code_of(7.0) == 2
    assert col.code_of("07") is None and col.code_of(" 7") is None
    flags = Column("f", (False, True))
    assert flags.code_of(True) == 1 and flags.code_of("True") == 1 and flags.code_of("true") == 1
    assert flags.code_of("TRUE") is None and flags.code_of(1) is None


def test_mixed_types_that_python_calls_equal_are_refused():
    frame = pd.DataFrame({"v": pd.Series([1, 1.0, 2] * 5, dtype=object)})
    with pytest.raises(ValueError, match="1 and 1.0"):
        TableSchema.from_dataframe(frame)
    mixed = pd.DataFrame({"v": pd.Series(["1", 1, 2, "2"] * 5, dtype=object)})
    schema = TableSchema.from_dataframe(mixed)
    assert schema.column("v").categories == (1, "1", 2, "2")
    np.testing.assert_array_equal(schema.encode(mixed)[:4, 0], [1, 0, 2, 3])
