"""Load a directory of Terraform files into one dict and resolve the simple references in it.

python-hcl2 parses each .tf file; expressions it cannot reduce stay strings of the form
"${...}". The resolver below follows the references a reviewer would follow by eye:
`${local.NAME.attr...}` and `${var.NAME.attr...}` (to the variable's default), recursively, and
leaves every other expression as it is. That is enough to read the node groups' taints and sizes
from locals, policy resources from locals, and defaults from variables.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

_OPTIONS = hcl2.SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)
_REF = re.compile(r"^\$\{(local|var)\.([A-Za-z0-9_-]+)((?:\.[A-Za-z0-9_-]+|\[\d+\])*)\}$")
_ATTR = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]")
_UNSET = object()


@dataclass
class Model:
    directory: Path
    resources: dict[str, dict[str, dict]] = field(default_factory=dict)
    data: dict[str, dict[str, dict]] = field(default_factory=dict)
    variables: dict[str, dict] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    # ---- lookups ------------------------------------------------------------------------------

    def resource(self, rtype: str, name: str) -> dict:
        try:
            return self.resources[rtype][name]
        except KeyError:
            raise AssertionError(f"resource {rtype}.{name} is missing") from None

    def datasource(self, dtype: str, name: str) -> dict:
        try:
            return self.data[dtype][name]
        except KeyError:
            raise AssertionError(f"data {dtype}.{name} is missing") from None

    def of_type(self, rtype: str) -> dict[str, dict]:
        return self.resources.get(rtype, {})

    def default(self, var: str) -> Any:
        try:
            v = self.variables[var]
        except KeyError:
            raise AssertionError(f"variable {var} is missing") from None
        return self.resolve(v.get("default"))

    # ---- resolution ---------------------------------------------------------------------------

    def resolve(self, value: Any, _depth: int = 0) -> Any:
        if _depth > 20:
            raise AssertionError(f"reference cycle while resolving {value!r}")
        if isinstance(value, str):
            m = _REF.match(value)
            if not m:
                return value
            kind, name, path = m.groups()
            if kind == "local":
                if name not in self.locals:
                    raise AssertionError(f"local.{name} is not defined")
                base = self.locals[name]
            else:
                if name not in self.variables:
                    raise AssertionError(f"var.{name} is not declared")
                base = self.variables[name].get("default", _UNSET)
                if base is _UNSET:
                    return value  # a required variable: nothing to resolve to
            base = self.resolve(base, _depth + 1)
            for attr, index in _ATTR.findall(path):
                if attr:
                    if not isinstance(base, dict) or attr not in base:
                        return value
                    base = self.resolve(base[attr], _depth + 1)
                else:
                    if not isinstance(base, list) or int(index) >= len(base):
                        return value
                    base = self.resolve(base[int(index)], _depth + 1)
            return base
        if isinstance(value, list):
            return [self.resolve(v, _depth + 1) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v, _depth + 1) for k, v in value.items()}
        return value


def _merge_blocks(target: dict, blocks: list[dict]) -> None:
    """resource/data blocks arrive as [{type: {name: body}}, ...]."""
    for block in blocks:
        for btype, named in block.items():
            for name, body in named.items():
                slot = target.setdefault(btype, {})
                if name in slot:
                    raise AssertionError(f"duplicate block {btype}.{name}")
                slot[name] = body


_PARSED: dict[str, dict] = {}


def _parse(text: str) -> dict:
    """Parse once per distinct file text (the mutation tests reload mostly unchanged files)."""
    if text not in _PARSED:
        _PARSED[text] = hcl2.loads(text, serialization_options=_OPTIONS)
    return copy.deepcopy(_PARSED[text])


def load(directory: str | Path) -> Model:
    directory = Path(directory)
    model = Model(directory=directory)
    files = sorted(directory.glob("*.tf"))
    if not files:
        raise AssertionError(f"no .tf files in {directory}")
    for path in files:
        text = path.read_text()
        model.files[path.name] = text
        parsed = _parse(text)
        _merge_blocks(model.resources, parsed.get("resource", []))
        _merge_blocks(model.data, parsed.get("data", []))
        for block in parsed.get("variable", []):
            model.variables.update(block)
        for block in parsed.get("output", []):
            model.outputs.update(block)
        for block in parsed.get("locals", []):
            for k, v in block.items():
                if k in model.locals:
                    raise AssertionError(f"duplicate local {k}")
                model.locals[k] = v
    return model


def statements(doc: dict) -> list[dict]:
    """Every statement of an aws_iam_policy_document, dynamic ones included (their content)."""
    out = list(doc.get("statement", []))
    for dyn in doc.get("dynamic", []):
        if "statement" in dyn:
            out.extend(dyn["statement"].get("content", []))
    return out


def load_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())
