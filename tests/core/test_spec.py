"""The typed view of the catalogue (runway_core.spec) against the data the core exports: every key
of every object in `catalogue()` is declared in its TypedDict, every required key is present, and
every Literal holds. The walk follows the TypedDicts' own annotations, so a key the core starts to
export (or a nested shape) that the view does not name fails here instead of going unseen."""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest

import runway_core
from runway_core import spec


def walk(value: Any, hint: Any, at: str, seen: dict[str, int], wrong: list[str]) -> None:
    origin = get_origin(hint)
    if is_typeddict(hint):
        if not isinstance(value, dict):
            wrong.append(f"{at}: {hint.__name__} expected, got {value!r}")
            return
        seen[hint.__name__] = seen.get(hint.__name__, 0) + 1
        required, optional = hint.__required_keys__, hint.__optional_keys__
        wrong += [f"{at}.{k}: not declared in {hint.__name__}" for k in sorted(set(value) - required - optional)]
        wrong += [f"{at}: required key {k} of {hint.__name__} missing" for k in sorted(required - set(value))]
        hints = get_type_hints(hint)
        for k, v in value.items():
            if k in hints:
                walk(v, hints[k], f"{at}.{k}", seen, wrong)
    elif origin is list:
        for i, v in enumerate(value):
            walk(v, get_args(hint)[0], f"{at}[{i}]", seen, wrong)
    elif origin is dict:
        for k, v in value.items():
            walk(v, get_args(hint)[1], f"{at}.{k}", seen, wrong)
    elif origin is Literal:
        if value not in get_args(hint):
            wrong.append(f"{at}: {value!r} is not one of {get_args(hint)}")
    elif origin in (Union, types.UnionType):
        shapes = [a for a in get_args(hint) if is_typeddict(a)]
        if value is None and type(None) in get_args(hint):
            return
        if len(shapes) == 1:
            walk(value, shapes[0], at, seen, wrong)
        elif not shapes and not isinstance(value, (str, int, float, bool, type(None))):
            wrong.append(f"{at}: a scalar expected, got {value!r}")


def test_every_exported_key_is_declared_in_the_typed_view():
    seen: dict[str, int] = {}
    wrong: list[str] = []
    walk(runway_core.catalogue(), spec.Catalogue, "catalogue", seen, wrong)
    assert not wrong, "\n".join(wrong[:30])
    # The walk reached every shape (so none of them is checked vacuously).
    shapes = {"Catalogue", "Endpoint", "Operation", "Model", "Field", "Spec", "Cost", "CostCase", "Rule", "Condition",
              "OutputCount", "Removed", "SumOf", "MaxPerValue"}
    assert shapes <= set(seen), shapes - set(seen)


def test_the_walk_finds_an_undeclared_key():
    cat = runway_core.catalogue()
    model = cat["models"][0]
    field = next(iter(model["fields"].values()))
    typing.cast(dict[str, Any], field)["colour"] = "red"
    wrong: list[str] = []
    walk(cat, spec.Catalogue, "catalogue", {}, wrong)
    assert wrong == [f"catalogue.models[0].fields.{next(iter(model['fields']))}.colour: not declared in Field"]


def test_functions_give_the_typed_view():
    assert runway_core.operations() == runway_core.catalogue()["operations"]
    t2v = runway_core.models("/v1/text_to_video")
    assert t2v and all(m["endpoint"] == "text_to_video" and m["cost_text"] for m in t2v)
    assert all(f["allowed"] for m in t2v for f in m["fields"].values())


def test_cost_summary_over_endpoint_and_model_pairs():
    pairs = [(m["endpoint"], m["model"]) for m in runway_core.models("text_to_video")]
    assert runway_core.cost_summary(pairs) == "Cost: 10-40 credits/s."
    assert runway_core.cost_summary([]) == ""
    with pytest.raises(ValueError, match="gen10"):
        runway_core.cost_summary([("text_to_video", "gen10")])
