"""Parse a GIPP file and validate it against its XSD, turning every failure into a one-line GippError.

Sen2Cor refuses a GIPP that breaks its schema; so do we, but the message names the file, the element
and the problem in words a user can act on ("'x' is not one of 0,1") instead of libxml2's wording.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from lxml import etree

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
_XS = "{http://www.w3.org/2001/XMLSchema}"
_NUMBER_WORDS = {
    "decimal": "a number",
    "float": "a number",
    "double": "a number",
    "integer": "an integer",
    "nonNegativeInteger": "an integer >= 0",
    "positiveInteger": "an integer >= 1",
}


from sen2cor3.errors import GippError  # noqa: E402,F401  (one line naming the file and the element)


@cache
def _schema_doc(schema_name: str) -> etree._ElementTree:
    return etree.parse(str(SCHEMA_DIR / schema_name))


@cache
def _schema(schema_name: str) -> etree.XMLSchema:
    return etree.XMLSchema(_schema_doc(schema_name))


def _parser() -> etree.XMLParser:
    # no entity expansion, no network: a GIPP is plain data
    return etree.XMLParser(remove_comments=True, remove_pis=True, resolve_entities=False, no_network=True)


def parse_and_validate(path: Path, root_tag: str, schema_name: str) -> etree._Element:
    """Root element of ``path`` after checking it is well-formed, has ``root_tag`` and fits the schema."""
    name = path.name
    try:
        tree = etree.parse(str(path), _parser())
    except etree.XMLSyntaxError as exc:
        line = f" at line {exc.lineno}" if exc.lineno else ""
        raise GippError(f"{name}: malformed XML{line}: {_one_line(exc.msg)}") from None
    except OSError as exc:
        raise GippError(f"{name}: cannot be read: {_one_line(str(exc))}") from None
    root = tree.getroot()
    if root.tag != root_tag:
        raise GippError(f"{name}: root element is '{root.tag}', expected '{root_tag}'")
    schema = _schema(schema_name)
    if not schema.validate(tree):
        errors = list(schema.error_log)
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise GippError(f"{name}: {_where(first, root_tag)}: {_explain(first, schema_name)}{more}")
    return root


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _where(entry: etree._LogEntry, root_tag: str) -> str:
    """Element path without the root, e.g. 'Atmospheric_Correction/Flags/WV_Correction'."""
    path = getattr(entry, "path", None) or ""
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] == root_tag:
        parts = parts[1:]
    attribute = re.match(r"Element '[^']+', attribute '([^']+)'", entry.message or "")
    if attribute:
        parts.append(f"@{attribute.group(1)}")
    if parts:
        return "/".join(parts)
    return root_tag if path else f"line {entry.line}"


def _explain(entry: etree._LogEntry, schema_name: str) -> str:
    """libxml2's validation message rewritten in plain words."""
    msg = _one_line(entry.message)
    element = None
    m = re.match(r"Element '([^']+)'(?:, attribute '([^']+)')?: (.*)$", msg)
    if m:
        element = m.group(2) or m.group(1)
        msg = m.group(3)
    m = re.search(r"\[facet 'enumeration'\] The value '(.*)' is not an element of the set \{(.*)\}", msg)
    if m:
        choices = ",".join(c.strip().strip("'") for c in m.group(2).split(","))
        return f"'{m.group(1)}' is not one of {choices}"
    m = re.search(r"\[facet '\w+'\] The value '(.*)' (.*)\.$", msg)
    if m:
        return f"'{m.group(1)}' {m.group(2)}".replace("('", "(").replace("')", ")")
    m = re.search(r"'(.*)' is not a valid value of the (?:local )?(?:atomic|union|list) type", msg)
    if m:
        expected = describe_type(schema_name, element) if element else None
        return f"'{m.group(1)}' is not {expected}" if expected else f"'{m.group(1)}' is not a valid value"
    m = re.search(r"Missing child element\(s\)\. Expected is (?:one of )?\( (.*) \)", msg)
    if m:
        return f"missing element {m.group(1)}"
    m = re.search(r"This element is not expected\.(?: Expected is (?:one of )?\( (.*) \))?", msg)
    if m:
        return f"unexpected element (expected {m.group(1)})" if m.group(1) else "unexpected element"
    return msg.rstrip(".")


def describe_type(schema_name: str, element: str) -> str | None:
    """What the schema expects for ``element`` (or attribute), e.g. 'a number' or 'OFF, AUTO or an integer'."""
    doc = _schema_doc(schema_name)
    decl = doc.find(f".//{_XS}element[@name='{element}']")
    if decl is None:
        decl = doc.find(f".//{_XS}attribute[@name='{element}']")
    if decl is None:
        return None
    if decl.get("type"):
        return _describe_named(doc, decl.get("type"))
    simple = decl.find(f"{_XS}simpleType")
    if simple is None:  # complex content with a simple base (AC wavelength)
        ext = decl.find(f".//{_XS}extension")
        return _describe_named(doc, ext.get("base")) if ext is not None else None
    return _describe_simple(doc, simple)


def _describe_named(doc: etree._ElementTree, type_name: str) -> str | None:
    if type_name.startswith("xs:"):
        return _NUMBER_WORDS.get(type_name[3:])
    simple = doc.find(f"{_XS}simpleType[@name='{type_name}']")
    return _describe_simple(doc, simple) if simple is not None else None


def _describe_simple(doc: etree._ElementTree, simple: etree._Element) -> str | None:
    union = simple.find(f"{_XS}union")
    if union is not None:
        members = [_describe_named(doc, t) for t in (union.get("memberTypes") or "").split()]
        members += [_describe_simple(doc, s) for s in union.findall(f"{_XS}simpleType")]
        words = [w for w in members if w]
        return " or ".join([", ".join(words[:-1]), words[-1]] if len(words) > 2 else words) or None
    restriction = simple.find(f"{_XS}restriction")
    if restriction is None:
        return None
    choices = [e.get("value") for e in restriction.findall(f"{_XS}enumeration")]
    if choices:
        return ", ".join(choices)
    return _describe_named(doc, restriction.get("base", ""))
