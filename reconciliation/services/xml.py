"""Safe XML: lxml through defusedxml, no DTD, no entities, no network, no huge trees."""

from __future__ import annotations

import warnings

from lxml import etree

from reconciliation.services.parsers.base import FormatError

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # defusedxml.lxml is marked deprecated
    from defusedxml import DefusedXmlException
    from defusedxml import lxml as defused_lxml

MAX_XML_BYTES = 50 * 1024 * 1024


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
    )


def safe_xml(data: bytes) -> etree._Element:
    """The root element of ``data``; ``FormatError`` for a DTD, an entity or broken XML."""
    if len(data) > MAX_XML_BYTES:
        raise FormatError("the XML file is too large")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise FormatError("XML with a DOCTYPE or entity declaration is refused")
    try:
        return defused_lxml.fromstring(
            data, parser=_parser(), forbid_dtd=True, forbid_entities=True
        )
    except DefusedXmlException as exc:
        raise FormatError(f"unsafe XML refused ({type(exc).__name__})") from None
    except etree.XMLSyntaxError as exc:
        raise FormatError(f"broken XML ({exc.msg})", exc.lineno) from None
