"""Writes python/runway_core/api.py: a typed async method for every operation in the catalogue.

    python tests/scripts/gen_api.py          # rewrite the file
    python tests/scripts/gen_api.py --check  # exit 1 if it is not current

The catalogue (src/catalogue.json, as the built extension exports it) is the only source: adding
an operation there and running this is all a new method takes. tests/core/test_api.py runs the
check, so the file cannot drift from the data.
"""

from __future__ import annotations

import keyword
import pathlib
import sys
from typing import Any

from runway_core import _core

OUT = pathlib.Path(__file__).resolve().parents[2] / "python" / "runway_core" / "api.py"

HEADER = '''"""Every operation of Runway's API as a typed async method: `client.api.routers.create(slug=...)`.

Generated from the catalogue by tests/scripts/gen_api.py: do not edit by hand. Keyword arguments
are Runway's own field names (`from_` stands for `from`); an argument left at UNSET is not sent,
and None sends null where Runway takes it (to clear a field). Requests are checked against the
catalogue before anything is sent; lists are async iterators that follow Runway's cursors;
task-creating operations return a Task and are journaled like `Client.create_task`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator, Dict, List, Literal, Union

if TYPE_CHECKING:
    from . import Client
    from ._core import Task


class Unset:
    """The default of an optional argument: the field is left out of the request."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()


def _given(**fields: Any) -> Dict[str, Any]:
    return {k[:-1] if k.endswith("_") else k: v for k, v in fields.items() if not isinstance(v, Unset)}


class _Namespace:
    __slots__ = ("_client",)

    def __init__(self, client: "Client") -> None:
        self._client = client
'''


def py_type(spec: dict[str, Any]) -> str:
    t = spec["type"]
    if t in ("text", "tag", "media"):
        return "str"
    if t == "enum":
        return "Literal[" + ", ".join(repr(v) for v in spec["values"]) + "]"
    if t == "int":
        return "int"
    if t == "number":
        return "float"
    if t == "bool":
        return "bool"
    if t == "null":
        return "None"
    if t == "array":
        return f"List[{py_type(spec['items'])}]"
    if t == "object":
        return "Dict[str, Any]"
    if t == "any_of":
        seen: list[str] = []
        for o in spec["options"]:
            for part in split_union(py_type(o)):
                if part not in seen:
                    seen.append(part)
        return seen[0] if len(seen) == 1 else "Union[" + ", ".join(seen) + "]"
    return "Any"


def split_union(t: str) -> list[str]:
    if not t.startswith("Union["):
        return [t]
    inner, depth, parts, cur = t[6:-1], 0, [], ""
    for ch in inner:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return parts + [cur.strip()]


def arg_name(field: str) -> str:
    return field + "_" if keyword.iskeyword(field) or field.endswith("_") else field


def camel(parts: list[str]) -> str:
    return "".join(p.title().replace("_", "") for p in parts)


def fields_of(op: dict[str, Any], models: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(query fields, body fields) of an operation; a fixed-model task operation's body is its
    model's fields."""
    if op["returns"] == "task":
        fixed = [m for m in models if m["endpoint"] == op["endpoint"] and m.get("fixed")]
        return {}, (fixed[0]["fields"] if fixed else {})
    return op.get("query", {}), op.get("body") or {}


def method(op: dict[str, Any], models: list[dict[str, Any]]) -> list[str]:
    name = op["name"].split(".")[-1]
    params = [p[1:-1] for p in op["path"].split("/") if p.startswith("{")]
    query, body = fields_of(op, models)
    clash = set(query) & set(body)
    assert not clash, f"{op['name']}: {clash} in both query and body"
    args = ["self"] + [f"{p}: str" for p in params]
    named_model = op["returns"] == "task" and not body
    kw: list[str] = []
    if named_model:
        kw.append("model: str")
    for f, spec in sorted({**query, **body}.items(), key=lambda kv: not kv[1].get("required")):
        t = py_type(spec)
        if spec.get("required"):
            kw.append(f"{arg_name(f)}: {t}")
        else:
            kw.append(f"{arg_name(f)}: Union[{', '.join(split_union(t) + ['Unset'])}] = UNSET")
    if op["returns"] in ("task", "invocation"):
        kw.append("force_new: bool = False")
    if kw:
        args.append("*")
    args += kw
    if named_model:
        args.append("**fields: Any")
    path_arg = "{" + ", ".join(f'"{p}": {p}' for p in params) + "}"
    q = "_given(" + ", ".join(f"{arg_name(f)}={arg_name(f)}" for f in query) + ")"
    b = "_given(" + ", ".join(f"{arg_name(f)}={arg_name(f)}" for f in body) + ")"
    returns = {
        "object": "Dict[str, Any]",
        "page": "AsyncIterator[Dict[str, Any]]",
        "empty": "None",
        "task": "Task",
        "invocation": "Task",
    }[op["returns"]]
    doc = [op["summary"]]
    for f, spec in {**query, **body}.items():
        if spec.get("description"):
            doc.append(f"{arg_name(f)}: {spec['description']}")
    if op["returns"] == "invocation":
        doc.append("Returns the invocation as a Task, journaled like a task's create (see Client.run_workflow).")
    out = []
    head = "def" if op["returns"] == "page" else "async def"
    one_line = f"    {head} {name}({', '.join(args)}) -> {returns}:"
    if len(one_line) <= 110:
        out.append(one_line)
    else:
        out.append(f"    {head} {name}(")
        out += [f"        {a}," for a in args]
        out.append(f"    ) -> {returns}:")
    out.append('        """' + "\n        ".join(doc).replace('"""', "'''") + '"""')
    if op["returns"] == "page":
        out.append(f'        return self._client.iterate("{op["name"]}", {path_arg}, {q})')
    elif op["returns"] == "task":
        body_expr = '{"model": model, **fields}' if named_model else b
        out.append(f'        task: Task = await self._client.call("{op["name"]}", body={body_expr}, force_new=force_new)')
        out.append("        return task")
    elif op["returns"] == "invocation":
        out.append(f'        task: Task = await self._client.call("{op["name"]}", {path_arg}, {q}, {b}, force_new=force_new)')
        out.append("        return task")
    elif op["returns"] == "empty":
        args_call = f'"{op["name"]}", {path_arg}, {q}' + (f", {b}" if op.get("body") is not None else "")
        out.append(f"        await self._client.call({args_call})")
    else:
        args_call = f'"{op["name"]}", {path_arg}, {q}' + (f", {b}" if op.get("body") is not None else "")
        out.append(f"        answer: Dict[str, Any] = await self._client.call({args_call})")
        out.append("        return answer")
    return out


def render() -> str:
    cat = _core.catalogue_json()
    ops, models = cat["operations"], cat["models"]
    # The namespace tree: ("routers",) -> its operations and child namespaces.
    spaces: dict[tuple[str, ...], dict[str, Any]] = {(): {"ops": [], "children": []}}
    for op in sorted(ops, key=lambda o: o["name"]):
        parts = op["name"].split(".")
        for i in range(1, len(parts)):
            key = tuple(parts[:i])
            if key not in spaces:
                spaces[key] = {"ops": [], "children": []}
                spaces[key[:-1]]["children"].append(key)
        spaces[tuple(parts[:-1])]["ops"].append(op)
    assert not spaces[()]["ops"], "every operation sits in a namespace"
    lines = [HEADER]
    for key in sorted(spaces, key=lambda k: (-len(k), k)):
        if not key:
            continue
        lines.append("")
        lines.append(f"class {camel(list(key))}(_Namespace):")
        lines.append(f'    """`{".".join(key)}` operations."""')
        lines.append("")
        for child in spaces[key]["children"]:
            lines += [
                "    @property",
                f"    def {child[-1]}(self) -> {camel(list(child))}:",
                f"        return {camel(list(child))}(self._client)",
                "",
            ]
        for op in spaces[key]["ops"]:
            lines += method(op, models) + [""]
        lines.pop()
        lines.append("")
    lines.append("")
    lines.append("class Api(_Namespace):")
    lines.append('    """Every operation of Runway\'s API, by the SDK\'s names."""')
    lines.append("")
    for child in spaces[()]["children"]:
        lines += [
            "    @property",
            f"    def {child[-1]}(self) -> {camel(list(child))}:",
            f"        return {camel(list(child))}(self._client)",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if OUT.read_text() != text:
            print(f"{OUT} is not current: run python tests/scripts/gen_api.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
