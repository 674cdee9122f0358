"""Vectorized validation and flattening, compiled from the pydantic contract models.

``ingestion.records`` is the only place the contract is written down. This module walks those models
(field types, optionality, ``Field`` constraints, ``Literal`` values, nested models and the declared
cross-field rules) and compiles them into DuckDB SQL over a JSON column ``j``:

* ``reasons_sql(model)``: one expression giving every violated rule as ``'; '``-joined text, or
  NULL when the record is valid (the same verdict ``validate_record`` gives, checked by property tests);
* ``raw_columns(model)``: the typed, flattened columns of the ``raw.<endpoint>`` table, with the
  expression extracting each from ``j``. Nested contract objects flatten with ``__`` (``llm__usage__input_tokens``).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Literal

import annotated_types
from pydantic import AwareDatetime, BaseModel

from ingestion.records import ISO_TIMESTAMP_PATTERN, MAX_INT, TIMESTAMP_REASON, ContractModel, NotAbove, RequiredWhen

JSON_INTEGER_TYPES = ("BIGINT", "UBIGINT")
JSON_NUMBER_TYPES = ("BIGINT", "UBIGINT", "DOUBLE")


@dataclass(frozen=True)
class Leaf:
    """One scalar (or free-form object) field of the contract, at a path inside the record."""

    path: tuple[str, ...]
    kind: str  # string | integer | number | timestamp | enum | object
    required: bool
    default: Any
    choices: tuple[str, ...] = ()
    ge: float | None = None
    le: float | None = None
    min_length: int | None = None

    @property
    def column(self) -> str:
        return "__".join(self.path)

    @property
    def label(self) -> str:
        return ".".join(self.path)

    @property
    def type_reason(self) -> str:
        """Why a present, non-null value of the wrong JSON type (or text of the wrong shape) is invalid."""
        return f"{self.label}: {_TYPE_REASONS[self.kind].format(choices=', '.join(self.choices))}"

    @property
    def bounds_reason(self) -> str:
        """Why a value of the right type outside the field's bounds is invalid."""
        if self.le is None:
            return f"{self.label}: must be >= {self.ge}"
        if self.le >= MAX_INT:  # the bound is the warehouse type's, not the contract's
            return f"{self.label}: must be >= {self.ge} and fit a signed 64-bit integer"
        return f"{self.label}: must be between {self.ge} and {self.le}"

    @property
    def length_reason(self) -> str:
        return f"{self.label}: must not be empty"


_TYPE_REASONS = {
    "string": "expected a string",
    "integer": "expected an integer",
    "number": "expected a number",
    "enum": "expected one of {choices}",
    "timestamp": TIMESTAMP_REASON,
    "object": "expected an object",
}


@dataclass(frozen=True)
class Node:
    """A nested contract object (e.g. ``llm``, ``llm.usage``) with its own rules."""

    path: tuple[str, ...]
    model: type[ContractModel]
    required: bool


def _json_path(path: tuple[str, ...]) -> str:
    return "$." + ".".join(f'"{p}"' for p in path)


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """Strip ``X | None`` and return (X, nullable)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != len(typing.get_args(annotation)):
            inner, _ = _unwrap(args[0]) if len(args) == 1 else (args[0], False)
            return inner, True
    return annotation, False


def _constraints(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        for attr, key in (("ge", "ge"), ("le", "le"), ("min_length", "min_length")):
            if isinstance(item, annotated_types.Ge | annotated_types.Le | annotated_types.MinLen) and hasattr(
                item, attr
            ):
                found[key] = getattr(item, attr)
        # pydantic may keep grouped constraints (annotated_types.Interval) or FieldInfo metadata
        for key in ("ge", "le", "min_length"):
            value = getattr(item, key, None)
            if value is not None and key not in found:
                found[key] = value
    return found


@cache
def walk(model: type[ContractModel], prefix: tuple[str, ...] = ()) -> tuple[tuple[Leaf, ...], tuple[Node, ...]]:
    """All leaves and nested objects of a contract model, depth first, in declaration order."""
    leaves: list[Leaf] = []
    nodes: list[Node] = []
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        annotation, _ = _unwrap(field.annotation)
        required = field.is_required()
        # Annotated[...] metadata lands in field.metadata for top-level aliases; inner Annotated in args
        metadata = list(field.metadata)
        if typing.get_origin(annotation) is typing.Annotated:
            base, *extra = typing.get_args(annotation)
            annotation = base
            for item in extra:
                metadata.extend(getattr(item, "metadata", [item]))
        limits = _constraints(metadata)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            nodes.append(Node(path, annotation, required))
            sub_leaves, sub_nodes = walk(annotation, path)
            leaves.extend(sub_leaves)
            nodes.extend(sub_nodes)
            continue
        if typing.get_origin(annotation) is Literal:
            kind, choices = "enum", tuple(typing.get_args(annotation))
        elif annotation is str:
            kind, choices = "string", ()
        elif annotation is int:
            kind, choices = "integer", ()
        elif annotation is float:
            kind, choices = "number", ()
        elif annotation is AwareDatetime or (isinstance(annotation, type) and issubclass(annotation, datetime)):
            kind, choices = "timestamp", ()
        elif typing.get_origin(annotation) is dict:
            kind, choices = "object", ()
        else:  # pragma: no cover - a contract change that this compiler does not know yet
            raise TypeError(f"{model.__name__}.{name}: no SQL check for {annotation!r}")
        default = None if required else field.default
        leaves.append(Leaf(path, kind, required, default, choices, **limits))
    return tuple(leaves), tuple(nodes)


def _column(path: tuple[str, ...]) -> str:
    return "__".join(path)


def _jt(path: tuple[str, ...]) -> str:
    """The JSON type of the value at a path (NULL when absent), precomputed by ``framed``."""
    return f'"_t_{_column(path)}"'


def _text(path: tuple[str, ...]) -> str:
    return f'"_s_{_column(path)}"'


def _frag(path: tuple[str, ...]) -> str:
    return f'"_j_{_column(path)}"'


def _key_count(path: tuple[str, ...]) -> str:
    """How many keys the object at a path has (the record itself at ``()``), duplicates included."""
    return f'"_k_{_column(path) or "_record"}"'


def _type_check(leaf: Leaf) -> str:
    """SQL that is true when a present, non-null value has the right JSON type (``leaf.type_reason`` when not)."""
    jt = _jt(leaf.path)
    text = _text(leaf.path)
    if leaf.kind == "string":
        return f"{jt} = 'VARCHAR'"
    if leaf.kind == "integer":
        # an integer beyond 64 bits is typed DOUBLE but keeps its digits: an integer out of bounds, not a float
        return f"({jt} in {JSON_INTEGER_TYPES} or ({jt} = 'DOUBLE' and regexp_full_match({text}, '-?[0-9]+')))"
    if leaf.kind == "number":
        return f"{jt} in {JSON_NUMBER_TYPES}"
    if leaf.kind == "enum":
        return f"({jt} = 'VARCHAR' and {text} in ({', '.join(_sql_str(c) for c in leaf.choices)}))"
    if leaf.kind == "timestamp":
        return (
            f"({jt} = 'VARCHAR' and regexp_full_match({text}, {_sql_str(ISO_TIMESTAMP_PATTERN)})"
            f" and try_cast({text} as timestamptz) is not null)"
        )
    if leaf.kind == "object":
        return f"{jt} = 'OBJECT'"
    raise TypeError(leaf.kind)


def _value(leaf: Leaf) -> str:
    """Typed value of a leaf (NULL when absent; only meaningful once the type check passed)."""
    text = _text(leaf.path)
    if leaf.kind == "integer":
        return f"try_cast({text} as bigint)"
    if leaf.kind == "number":
        return f"try_cast({text} as double)"
    if leaf.kind == "timestamp":
        return f"timezone('UTC', try_cast({text} as timestamptz))"
    if leaf.kind == "object":
        return _frag(leaf.path)
    return text


def _present(path: tuple[str, ...]) -> str:
    return f"coalesce({_jt(path)}, 'NULL') <> 'NULL'"


def _within_bounds(leaf: Leaf) -> str:
    """SQL that is true when a well-typed value is inside the leaf's bounds. A value that does not even fit the
    warehouse type (NULL after the cast) is out of them."""
    value = _value(leaf)
    bounds = [f"{value} >= {leaf.ge}"] if leaf.ge is not None else []
    bounds += [f"{value} <= {leaf.le}"] if leaf.le is not None else []
    return f"coalesce({' and '.join(bounds) or 'true'}, false)"


def _long_enough(leaf: Leaf) -> str:
    return f"length({_value(leaf)}) >= {leaf.min_length or 0}"


def _valid(leaf: Leaf) -> str:
    """SQL that is true when a present, non-null value passes every check of its own."""
    checks = [_type_check(leaf)]
    if leaf.ge is not None or leaf.le is not None:
        checks.append(_within_bounds(leaf))
    if leaf.min_length:
        checks.append(_long_enough(leaf))
    return "(" + " and ".join(checks) + ")"


def _checks(model: type[ContractModel]) -> list[tuple[str, str]]:
    """(condition that is TRUE when violated, reason) for every rule of the model and its children."""
    leaves, nodes = walk(model)
    checks: list[tuple[str, str]] = []
    parents = {n.path: n for n in nodes}

    def parent_is_object(path: tuple[str, ...]) -> str:
        conds = [f"{_jt(path[:i])} = 'OBJECT'" for i in range(1, len(path)) if path[:i] in parents]
        return " and ".join(conds) if conds else "true"

    # A key twice in one object: parsers disagree on which one counts (DuckDB reads the first, PostgreSQL's jsonb
    # and Python the last), so the record is invalid. Counting the keys the contract knows (present once each)
    # is cheap; only an object with more keys than that (a duplicate, or an unknown extra field) is checked.
    for owner in _key_owners(model):
        keys = f"json_keys(j, {_sql_str(_json_path(owner) if owner else '$')})"
        label = ".".join(owner) + ": " if owner else ""
        # nested CASE, not AND: only the rare objects with more keys than known ones are read again for their keys
        more_keys = _more_keys_than_known(model, owner)
        duplicated = f"case when {more_keys} then {_key_count(owner)} <> len(list_distinct({keys})) end"
        checks.append((duplicated, f"{label}duplicate key"))
    for node in nodes:
        label = ".".join(node.path)
        if node.required:
            checks.append((f"{parent_is_object(node.path)} and not {_present(node.path)}", f"{label}: missing"))
        checks.append(
            (
                f"{parent_is_object(node.path)} and {_present(node.path)} and {_jt(node.path)} <> 'OBJECT'",
                f"{label}: expected an object",
            )
        )
    for leaf in leaves:
        scope = parent_is_object(leaf.path)
        if leaf.required:
            checks.append((f"{scope} and not {_present(leaf.path)}", f"{leaf.label}: missing"))
        type_ok = _type_check(leaf)
        present = f"{scope} and {_present(leaf.path)}"
        checks.append((f"{present} and not {type_ok}", leaf.type_reason))
        if leaf.ge is not None or leaf.le is not None:
            checks.append((f"{present} and {type_ok} and not {_within_bounds(leaf)}", leaf.bounds_reason))
        if leaf.min_length:
            checks.append((f"{present} and {type_ok} and not {_long_enough(leaf)}", leaf.length_reason))
    # cross-field rules, evaluated only where every field they read is valid (as ContractModel checks them)
    for owner_path, owner in [((), model), *((n.path, n.model) for n in nodes)]:
        by_name = {leaf.path[-1]: leaf for leaf in leaves if leaf.path[:-1] == owner_path}
        for rule in owner.rules:
            prefix = ".".join(owner_path) + ": " if owner_path else ""
            scope = _present(owner_path) if owner_path else "true"
            if owner_path:
                scope += f" and {_jt(owner_path)} = 'OBJECT'"
            if isinstance(rule, NotAbove):
                used = [by_name[n] for n in (*rule.parts, rule.limit)]
                valid = " and ".join(f"(not {_present(u.path)} or {_valid(u)})" for u in used)
                # summed as hugeint: two counts near the bigint limit must not overflow the check itself
                total = " + ".join(f"coalesce(cast({_value(by_name[n])} as hugeint), 0)" for n in rule.parts)
                limit = f"coalesce({_value(by_name[rule.limit])}, 0)"
                checks.append((f"{scope} and {valid} and ({total}) > {limit}", prefix + rule.reason))
            elif isinstance(rule, RequiredWhen):
                when = by_name[rule.when_field]
                checks.append(
                    (
                        f"{scope} and {_value(when)} = {_sql_str(rule.when_value)}"
                        f" and not {_present((*owner_path, rule.field))}",
                        prefix + rule.reason,
                    )
                )
    return checks


def _more_keys_than_known(model: type[ContractModel], owner: tuple[str, ...]) -> str:
    """SQL that is true when the object at ``owner`` has more keys than the contract fields present in it: an
    unknown field, or a key twice (NULL when there is no such object)."""
    known = " + ".join(
        f"({_jt(p)} is not null)::int" for p in _frame_paths(model) if len(p) == len(owner) + 1 and p[:-1] == owner
    )
    return f"{_key_count(owner)} > {known or 0}"


def _key_owners(model: type[ContractModel]) -> list[tuple[str, ...]]:
    """The record and each contract object in it: the objects whose keys are checked for duplicates."""
    _, nodes = walk(model)
    return [(), *(n.path for n in nodes)]


def _frame_paths(model: type[ContractModel]) -> list[tuple[str, ...]]:
    leaves, nodes = walk(model)
    return [n.path for n in nodes] + [leaf.path for leaf in leaves]


def _object_paths(model: type[ContractModel]) -> list[tuple[str, ...]]:
    """Free-form object fields: the only ones whose JSON fragment (not just type and text) is stored."""
    leaves, _ = walk(model)
    return [leaf.path for leaf in leaves if leaf.kind == "object"]


def _scalar_paths(model: type[ContractModel]) -> list[tuple[str, ...]]:
    """The fields read as text: every leaf but free-form objects. The text of an object (a nested contract object,
    a payload) is never read, and extracting it would serialize the whole object again for every record."""
    leaves, _ = walk(model)
    return [leaf.path for leaf in leaves if leaf.kind != "object"]


def _path_list(paths: list[tuple[str, ...]]) -> str:
    return "[" + ", ".join(_sql_str(_json_path(p)) for p in paths) + "]"


@cache
def extract_sql(model: type[ContractModel], json_column: str = "j") -> str:
    """One pass per property over the record: the JSON type at every contract path, the text of every scalar
    field, and the fragments of free-form objects, as a struct of lists (NULL for non-objects). Per-path
    extraction would re-parse the record once per path; a list of paths reads it once."""
    parts = [
        f"types := json_type({json_column}, {_path_list(_frame_paths(model))})",
        f"texts := json_extract_string({json_column}, {_path_list(_scalar_paths(model))})",
    ]
    owners = "[" + ", ".join(_sql_str(_json_path(p) if p else "$") for p in _key_owners(model)) + "]"
    # only the counts are kept (a list of key lists per record would be materialized with every chunk)
    parts.append(f"key_counts := list_transform(json_keys({json_column}, {owners}), lambda keys: len(keys))")
    objects = _object_paths(model)
    if objects:
        parts.append(f"objects := json_extract({json_column}, {_path_list(objects)})")
    return f"case when json_type({json_column}) = 'OBJECT' then struct_pack({', '.join(parts)}) end"


@cache
def framed(model: type[ContractModel], relation: str, list_column: str | None = None) -> str:
    """``relation`` (with a JSON column ``j``) plus, for every contract path, its JSON type and text (and the
    fragment of free-form objects) as small columns.

    The document is read once (``extract_sql``); every check then reads these precomputed columns instead of
    re-parsing the whole record per rule. ``reasons_sql`` and ``raw_columns`` expressions are evaluated over
    this relation. Pass ``list_column`` when ``relation`` already holds ``extract_sql`` materialized: DuckDB
    may otherwise inline the extraction once per reference.
    """
    if list_column is None:
        relation, list_column = f"(select *, {extract_sql(model)} as _v from {relation})", "_v"
    columns = [f"{list_column}.types[{i}] as {_jt(p)}" for i, p in enumerate(_frame_paths(model), start=1)]
    columns += [f"{list_column}.texts[{i}] as {_text(p)}" for i, p in enumerate(_scalar_paths(model), start=1)]
    columns += [f"{list_column}.objects[{k}] as {_frag(p)}" for k, p in enumerate(_object_paths(model), start=1)]
    columns += [f"{list_column}.key_counts[{k}] as {_key_count(p)}" for k, p in enumerate(_key_owners(model), 1)]
    return f"(select *, {', '.join(columns)} from {relation})"


@cache
def reasons_sql(model: type[ContractModel]) -> str:
    """SQL over ``framed(model, ...)``: NULL when valid, else every violated rule joined by ``'; '``."""
    parts = [f"case when coalesce({cond}, false) then {_sql_str(reason)} end" for cond, reason in _checks(model)]
    return f"nullif(concat_ws('; ', {', '.join(parts)}), '')"


@cache
def unknown_fields_sql(model: type[ContractModel]) -> str:
    """SQL over ``framed(model, ...)`` of a valid record: its fields the contract does not know, as a JSON object,
    or NULL when it has none (most records: nothing is computed for them). The fields the contract knows are in
    the typed columns already; a contract object that holds an unknown field is kept whole, so the unknown field
    stays where it was delivered."""
    owners = _key_owners(model)
    unknown = {owner: f"coalesce({_more_keys_than_known(model, owner)}, false)" for owner in owners}
    removals = []
    for (name,) in (path for path in _frame_paths(model) if len(path) == 1):
        removal = _sql_str(f'"{name}":null')
        holders = [unknown[owner] for owner in owners if owner[:1] == (name,)]
        removals.append(f"case when not ({' or '.join(holders)}) then {removal} end" if holders else removal)
    patch = f"concat('{{', concat_ws(',', {', '.join(removals)}), '}}')"
    return f"case when {' or '.join(unknown.values())} then json_merge_patch(j, {patch}) end"


@dataclass(frozen=True)
class RawColumn:
    name: str
    sql_type: str
    expression: str


_SQL_TYPES = {
    "string": "varchar",
    "enum": "varchar",
    "integer": "bigint",
    "number": "double",
    "timestamp": "timestamp",
    "object": "json",
}


@cache
def raw_columns(model: type[ContractModel]) -> tuple[RawColumn, ...]:
    """Typed, flattened columns of a raw table: timestamps as naive UTC, missing defaults applied."""
    leaves, _ = walk(model)
    columns = []
    for leaf in leaves:
        expr = _value(leaf)
        if leaf.default not in (None, ...):
            expr = f"coalesce({expr}, {leaf.default!r})"
            if len(leaf.path) > 1:  # defaults apply only where the enclosing object exists
                expr = f"case when {_present(leaf.path[:-1])} then {expr} end"
        columns.append(RawColumn(leaf.column, _SQL_TYPES[leaf.kind], expr))
    return tuple(columns)
