"""Read the four GIPP files into one immutable Config: the only place that reads GIPP XML.

A user GIPP may come from any Sen2Cor version from 2.8 to 3: it is validated against a schema that
knows all those layouts, and every element it leaves out takes the value of our default file in
``cfg/`` (the default is parsed first, then the user's values are laid over it element by element).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from lxml import etree

from .model import AcGipp, Config, GippPaths, L2AGipp, PbGipp, ScGipp
from .schema import GippError, parse_and_validate

__all__ = ["CFG_DIR", "GIPP_FILES", "GippError", "load_config", "resolve_gipp_path", "with_overrides"]

# sen2cor3/cfg is a link to the project's top-level cfg/ folder, shipped with the package
CFG_DIR = Path(__file__).resolve().parent.parent / "cfg"


@dataclasses.dataclass(frozen=True)
class _GippKind:
    default_name: str
    root_tag: str
    schema_name: str
    model: type


GIPP_FILES: dict[str, _GippKind] = {
    "l2a": _GippKind("L2A_GIPP.xml", "Level-2A_Ground_Image_Processing_Parameter", "L2A_GIPP.xsd", L2AGipp),
    "sc": _GippKind(
        "L2A_CAL_SC_GIPP.xml", "Level-2A_CAL_SC_Ground_Image_Processing_Parameter", "L2A_CAL_SC_GIPP.xsd", ScGipp
    ),
    "ac": _GippKind(
        "L2A_CAL_AC_GIPP.xml", "Level-2A_CAL_AC_Ground_Image_Processing_Parameter", "L2A_CAL_AC_GIPP.xsd", AcGipp
    ),
    "pb": _GippKind("L2A_PB_GIPP.xml", "GS2_PROCESSING_BASELINE_PARAMETERS", "L2A_PB_GIPP.xsd", PbGipp),
}

T = TypeVar("T")


def resolve_gipp_path(name_or_path: str | None, default_name: str) -> Path:
    """The GIPP file to read, as Sen2Cor finds it: None -> our default in cfg/; an existing path
    (absolute, or relative to the working directory) -> that file; else a bare name in cfg/."""
    if name_or_path is None or str(name_or_path).strip() == "":
        candidate = CFG_DIR / default_name
        if not candidate.is_file():
            raise GippError(f"{default_name}: File does not exist (default GIPP missing from {CFG_DIR})")
        return candidate.resolve()
    given = Path(str(name_or_path)).expanduser()
    for candidate in (given, CFG_DIR / given):
        if candidate.is_file():
            return candidate.resolve()
    raise GippError(f"{name_or_path}: File does not exist")


def load_config(
    gip_l2a: str | None = None,
    gip_sc: str | None = None,
    gip_ac: str | None = None,
    gip_pb: str | None = None,
) -> Config:
    """Config from the four GIPPs (the ``--GIP_L2A*`` options; None = our default file)."""
    given = {"l2a": gip_l2a, "sc": gip_sc, "ac": gip_ac, "pb": gip_pb}
    sections: dict[str, Any] = {}
    paths: dict[str, Path] = {}
    for key, kind in GIPP_FILES.items():
        path = resolve_gipp_path(given[key], kind.default_name)
        default_path = resolve_gipp_path(None, kind.default_name)
        default_root = parse_and_validate(default_path, kind.root_tag, kind.schema_name)
        user_root = default_root if path == default_path else parse_and_validate(path, kind.root_tag, kind.schema_name)
        sections[key] = _Builder(path.name, default_path.name).build(kind.model, user_root, default_root, "")
        paths[key] = path
    return Config(paths=GippPaths(**paths), **sections)


def load_gipp(kind: str, name_or_path: str | None = None) -> Any:
    """One section alone (``kind`` = 'l2a', 'sc', 'ac' or 'pb'), e.g. to check a user file."""
    spec = GIPP_FILES[kind]
    path = resolve_gipp_path(name_or_path, spec.default_name)
    default_path = resolve_gipp_path(None, spec.default_name)
    default_root = parse_and_validate(default_path, spec.root_tag, spec.schema_name)
    user_root = parse_and_validate(path, spec.root_tag, spec.schema_name)
    return _Builder(path.name, default_path.name).build(spec.model, user_root, default_root, "")


# ------------------------------------------------------------------------------------- building
class _Builder:
    """Fills a model dataclass from the user's element, falling back to the default's element."""

    def __init__(self, user_name: str, default_name: str) -> None:
        self.user_name = user_name
        self.default_name = default_name

    def build(self, cls: type[T], user: etree._Element | None, default: etree._Element, where: str) -> T:
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            hint = hints[f.name]
            xml = f.metadata.get("xml")
            if f.metadata.get("many"):
                values[f.name] = self._many(f, hint, user, default, where)
            elif dataclasses.is_dataclass(hint):
                d_elem = self._find(default, xml, f.name)
                if d_elem is None:
                    raise GippError(f"{self.default_name}: {where}{f.name}: missing in the default GIPP")
                u_elem = self._find(user, xml, f.name) if user is not None else None
                values[f.name] = self.build(hint, u_elem, d_elem, f"{where}{d_elem.tag}/")
            else:
                values[f.name] = self._leaf(f, hint, user, default, where)
        return cls(**values)

    @staticmethod
    def _find(elem: etree._Element | None, xml: str | None, name: str) -> etree._Element | None:
        if elem is None:
            return None
        if xml:
            return elem.find(xml)
        for child in elem:
            if isinstance(child.tag, str) and child.tag.lower() == name:
                return child
        return None

    def _text(self, elem: etree._Element | None, xml: str | None, name: str) -> tuple[str, str] | None:
        """(text, element name) of a leaf element or attribute, None when absent."""
        if elem is None:
            return None
        if xml and "@" in xml:
            base, _, attr = xml.rpartition("@")
            holder = elem.find(base.rstrip("/")) if base.rstrip("/") else elem
            if holder is None or holder.get(attr) is None:
                return None
            return holder.get(attr), f"{holder.tag}/@{attr}"
        child = self._find(elem, xml, name)
        if child is None:
            return None
        return (child.text or ""), (xml or child.tag)

    def _leaf(self, f: dataclasses.Field, hint: Any, user: Any, default: Any, where: str) -> Any:
        xml = f.metadata.get("xml")
        found = self._text(user, xml, f.name)
        source = self.user_name
        if found is None:
            found = self._text(default, xml, f.name)
            source = self.default_name
        if found is None:
            raise GippError(f"{self.default_name}: {where}{f.name}: missing in the default GIPP")
        text, tag = found
        return self._convert(text, hint, f.metadata.get("convert"), f"{source}: {where}{tag}")

    def _many(self, f: dataclasses.Field, hint: Any, user: Any, default: Any, where: str) -> tuple:
        """Repeated elements: the user's list replaces the default's, or merges with it by ``key``."""
        item_type = typing.get_args(hint)[0]
        xml = f.metadata["xml"]

        def items(elem: Any, source: str) -> list:
            if elem is None:
                return []
            if "@" in xml:
                base, _, attr = xml.rpartition("@")
                nodes = elem.findall(base.rstrip("/"))
                return [
                    self._convert(n.get(attr, ""), item_type, None, f"{source}: {where}{n.tag}/@{attr}") for n in nodes
                ]
            nodes = elem.findall(xml)
            if dataclasses.is_dataclass(item_type):  # each item read whole from one file
                n_user = source == self.user_name and elem is not default
                return [self.build(item_type, n if n_user else None, n, f"{where}{n.tag}/") for n in nodes]
            return [self._convert(n.text or "", item_type, None, f"{source}: {where}{n.tag}") for n in nodes]

        mine = items(user, self.user_name)
        base = items(default, self.default_name)
        key = f.metadata.get("key")
        if key is None:
            return tuple(mine or base)
        merged = {getattr(it, key): it for it in base}
        merged.update({getattr(it, key): it for it in mine})
        return tuple(sorted(merged.values(), key=lambda it: _version_key(getattr(it, key))))

    @staticmethod
    def _convert(text: str, hint: Any, convert: Callable[[str], Any] | None, where: str) -> Any:
        value = text.strip()
        try:
            if convert is not None:
                return convert(value)
            return _to_type(value, hint)
        except (TypeError, ValueError):
            raise GippError(f"{where}: '{value}' cannot be read as {_type_word(hint)}") from None


def _to_type(value: str, hint: Any) -> Any:
    if hint is bool:
        if value.upper() not in ("TRUE", "FALSE"):
            raise ValueError(value)
        return value.upper() == "TRUE"
    if hint is int:
        number = float(value)
        if not number.is_integer():
            raise ValueError(value)
        return int(number)
    if hint is float:
        return float(value)
    if hint is str:
        return value
    if _is_union(hint):  # int | str: a number where it is one, else the keyword (OFF, AUTO)
        try:
            return int(value)
        except ValueError:
            return value
    raise TypeError(f"unsupported field type {hint!r}")


def _is_union(hint: Any) -> bool:
    return isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union


def _type_word(hint: Any) -> str:
    return {bool: "TRUE or FALSE", int: "an integer", float: "a number", str: "text"}.get(hint, "a value")


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (10**6,)


# ------------------------------------------------------------------------------------ overrides
def with_overrides(config: Config, **changes: Any) -> Config:
    """A copy of ``config`` with some fields changed, e.g. ``downsample_20_to_60=False`` when the CLI
    asks for 60 m only. A key is a field name found once in the tree, or a path joined by '__'
    (``l2a__common__log_level``) where the name alone is ambiguous (``flags``, ``calibration``)."""
    for key, value in changes.items():
        path = key.split("__") if "__" in key else _find_field(config, key)
        config = _replace_at(config, path, value, key)
    return config


def _find_field(config: Config, name: str) -> list[str]:
    found: list[list[str]] = []

    def walk(obj: Any, trail: list[str]) -> None:
        for f in dataclasses.fields(obj):
            if f.name == name:
                found.append([*trail, f.name])
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                walk(value, [*trail, f.name])

    walk(config, [])
    if not found:
        raise ValueError(f"with_overrides: no configuration field named '{name}'")
    if len(found) > 1:
        options = ", ".join("__".join(p) for p in found)
        raise ValueError(f"with_overrides: '{name}' is ambiguous, use one of {options}")
    return found[0]


def _replace_at(obj: Any, path: list[str], value: Any, key: str) -> Any:
    head, rest = path[0], path[1:]
    if not dataclasses.is_dataclass(obj) or head not in {f.name for f in dataclasses.fields(obj)}:
        raise ValueError(f"with_overrides: '{key}' does not name a configuration field")
    if rest:
        return dataclasses.replace(obj, **{head: _replace_at(getattr(obj, head), rest, value, key)})
    hint = typing.get_type_hints(type(obj))[head]
    if not _accepts(hint, value):
        raise TypeError(f"with_overrides: '{key}' expects {hint}, got {value!r}")
    if hint is float:
        value = float(value)
    return dataclasses.replace(obj, **{head: value})


def _accepts(hint: Any, value: Any) -> bool:
    if _is_union(hint):
        return any(_accepts(h, value) for h in typing.get_args(hint))
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    origin = typing.get_origin(hint)
    if origin is tuple:
        return isinstance(value, tuple)
    return isinstance(value, hint) if isinstance(hint, type) else True
