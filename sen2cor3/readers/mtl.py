"""Landsat MTL metadata in its three USGS forms (ODL text ``_MTL.txt``, ``_MTL.xml``, ``_MTL.json``) as one
nested dict of strings: ``{"LANDSAT_METADATA_FILE": {"IMAGE_ATTRIBUTES": {"SUN_ELEVATION": "54.14", ...}}}``.

Values keep their text (quotes removed) so that numbers print back exactly as USGS wrote them; :class:`Mtl`
gives typed access with one-line errors naming the file and the key. Collection 1 text files (``L1_METADATA_FILE``)
parse the same way.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from lxml import etree

from sen2cor3.errors import InputError

_LINE = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=\s*(.*?)\s*$")


def parse_odl(text: str, path: Path | str = "MTL") -> dict:
    """The ODL text form: ``GROUP = X`` ... ``END_GROUP = X``, ``KEY = value`` lines, ``END`` last; a value in
    parentheses may run over several lines (the ANG file's coefficient lists) and is kept as one string."""
    root: dict = {}
    stack = [root]
    pending: list[str] | None = None          # a parenthesised value still open: [key, text so far]
    for n, line in enumerate(text.splitlines(), 1):
        if pending is not None:
            pending[1] += " " + line.strip()
            if pending[1].rstrip().endswith(")"):
                stack[-1][pending[0]] = pending[1]
                pending = None
            continue
        if not line.strip() or line.strip() == "END":
            continue
        m = _LINE.match(line)
        if not m:
            raise InputError(f"{path}: line {n} is not 'KEY = value' ({line.strip()[:60]!r})")
        key, value = m.groups()
        if key == "GROUP":
            group: dict = {}
            stack[-1][value] = group
            stack.append(group)
        elif key == "END_GROUP":
            if len(stack) == 1:
                raise InputError(f"{path}: line {n}: END_GROUP {value} without its GROUP")
            stack.pop()
        elif value.startswith("(") and not value.endswith(")"):
            pending = [key, value]
        else:
            stack[-1][key] = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if pending is not None:
        raise InputError(f"{path}: value of {pending[0]} not closed (truncated file?)")
    if len(stack) != 1:
        raise InputError(f"{path}: GROUP without END_GROUP (truncated file?)")
    return root


def _xml_to_dict(el) -> dict | str:
    children = [c for c in el if isinstance(c.tag, str)]
    if not children:
        return (el.text or "").strip()
    return {etree.QName(c).localname: _xml_to_dict(c) for c in children}


def read_mtl(path: Path) -> dict:
    """The MTL at ``path`` (``.txt``, ``.xml`` or ``.json``) as a nested dict; InputError naming the file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the MTL ({exc.strerror or exc})") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".xml":
            root = etree.fromstring(raw, etree.XMLParser(resolve_entities=False))
            return {etree.QName(root).localname: _xml_to_dict(root)}
        if suffix == ".json":
            return {k: _stringify(v) for k, v in json.loads(raw.decode("utf-8")).items()}
        return parse_odl(raw.decode("utf-8", errors="strict"), path)
    except (etree.XMLSyntaxError, json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: malformed MTL ({msg})") from None


def _stringify(v):
    return {k: _stringify(x) for k, x in v.items()} if isinstance(v, dict) else ("" if v is None else str(v))


def read_ang(path: Path) -> dict:
    """A Landsat ``_ANG.txt`` (angle coefficient file, ODL) as nested dict; InputError naming the file."""
    path = Path(path)
    try:
        data = parse_odl(path.read_bytes().decode("utf-8"), path)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the angle coefficient file ({exc})") from None
    if "FILE_HEADER" not in data:
        raise InputError(f"{path}: no FILE_HEADER group (not a Landsat ANG file)")
    return data


class Mtl:
    """Typed access to an MTL: ``mtl.text("IMAGE_ATTRIBUTES", "SPACECRAFT_ID")``, ``mtl.number(...)``."""

    def __init__(self, data: dict, path: Path):
        self.path = Path(path)
        top = data.get("LANDSAT_METADATA_FILE") or data.get("L1_METADATA_FILE")
        if not isinstance(top, dict):
            raise InputError(f"{path}: no LANDSAT_METADATA_FILE group (not a Landsat MTL)")
        self.groups = top

    def text(self, group: str, key: str, default: str | None = None) -> str:
        value = self.groups.get(group, {}).get(key) if isinstance(self.groups.get(group), dict) else None
        if value is None or value == "":
            if default is not None:
                return default
            raise InputError(f"{self.path}: missing {group}/{key}")
        return str(value)

    def number(self, group: str, key: str, default: float | None = None) -> float:
        txt = self.text(group, key, None if default is None else str(default))
        try:
            return float(txt)
        except ValueError:
            raise InputError(f"{self.path}: {group}/{key} is not a number ({txt!r})") from None

    def has(self, group: str, key: str) -> bool:
        g = self.groups.get(group)
        return isinstance(g, dict) and g.get(key) not in (None, "")


def set_processing_level(text: str, level: str = "L2TP") -> str:
    """The MTL text with its ``PROCESSING_LEVEL`` lines (C2; ``DATA_TYPE`` in C1) set to ``level``, nothing else
    touched (Sen2Cor 3 copies the L1 MTL so; sen2like reads the level back)."""
    out = re.sub(r'^(\s*PROCESSING_LEVEL\s*=\s*)"[^"]*"', rf'\g<1>"{level}"', text, flags=re.M)
    if out == text:
        out = re.sub(r'^(\s*DATA_TYPE\s*=\s*)"L1[^"]*"', rf'\g<1>"{level}"', text, flags=re.M)
    return out
