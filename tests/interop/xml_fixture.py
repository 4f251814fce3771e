#!/usr/bin/env python3
"""Prepare third-party XML messages for schema validation (Python std only).

  xml_fixture.py body IN OUT
      Write to OUT the message body of IN, ready for an XML Schema validator:
      - a bare body element (lcm:SubmitObjectsRequest, PRPA_IN201301UV02, ...)
        is copied as is;
      - a SOAP 1.2 (or 1.1) Envelope is replaced by the first element child
        of its Body;
      - a MIME multipart/related message (MTOM/XOP), optionally preceded by
        an HTTP request line and headers, is unpacked: the root part is
        taken, each xop:Include is replaced by the base64 of the MIME part it
        references (cid:), then the envelope is unwrapped as above.
      Bare-LF MIME (as stored in the NIST fixtures) is accepted.

  xml_fixture.py mutants IN OUTDIR [--keep-inside LOCALNAME]... [--opaque LOCALNAME]... [--max N]
      Write structural variants of the XML document IN to OUTDIR, one file
      per variant, and print one line per variant: "<file>\t<description>".
      Each variant changes one thing: an element deleted, duplicated, swapped
      with its next sibling or renamed to an unknown name; an attribute
      removed; an unknown attribute added. The root element itself is not
      deleted, duplicated or renamed. With --keep-inside NAME, the content of
      elements with that local name (children, their order, descendants) is
      left alone, but the element itself and its attributes are still
      mutated. With --opaque NAME, the element's attributes are left alone
      too; it can still be deleted, duplicated, swapped or renamed. Both
      options may be repeated. At most N variants (default 150) are written,
      picked evenly from all candidates, in a deterministic order.
"""

import base64
import copy
import os
import re
import sys
import xml.etree.ElementTree as ET

SOAP_NS = ("http://www.w3.org/2003/05/soap-envelope", "http://schemas.xmlsoap.org/soap/envelope/")
XOP_INCLUDE = "{http://www.w3.org/2004/08/xop/include}Include"


def split_headers(block):
    """Parse RFC 822 style headers (LF or CRLF); returns a dict of lowercase names."""
    headers = {}
    last = None
    for line in block.split(b"\n"):
        line = line.rstrip(b"\r")
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and last is not None:
            headers[last] += b" " + line.strip()
            continue
        name, _, value = line.partition(b":")
        last = name.strip().lower().decode("ascii", "replace")
        headers[last] = value.strip()
    return headers


def split_head_body(data):
    """Split at the first empty line (LF or CRLF)."""
    m = re.search(rb"\r?\n\r?\n", data)
    if m is None:
        return data, b""
    return data[: m.start()], data[m.end():]


def param(header_value, name):
    m = re.search(rb'(?i)(?:^|;)\s*' + name.encode() + rb'\s*=\s*("([^"]*)"|[^;\s]+)', header_value)
    if m is None:
        return None
    return m.group(2) if m.group(2) is not None else m.group(1)


def mime_parts(data, boundary):
    """The parts of a multipart body: list of (headers, content)."""
    delimiter = b"--" + boundary
    pieces = re.split(rb"(?:\r?\n)?" + re.escape(delimiter), data)
    parts = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break  # close delimiter
        piece = re.sub(rb"^[ \t]*\r?\n", b"", piece, count=1)
        head, content = split_head_body(piece)
        parts.append((split_headers(head), content))
    return parts


def unpack_mime(data):
    """Return the XML of the root part of a (possibly HTTP-framed) MIME message."""
    content_type = None
    if re.match(rb"^[A-Z]+ \S+ HTTP/1\.[01]\r?\n", data):
        head, data = split_head_body(data)
        content_type = split_headers(head.split(b"\n", 1)[1]).get("content-type")
    boundary = param(content_type, "boundary") if content_type else None
    if boundary is None:
        first = data.lstrip().split(b"\n", 1)[0].rstrip(b"\r")
        if not first.startswith(b"--"):
            raise SystemExit("not a MIME multipart message")
        boundary = first[2:]
    parts = mime_parts(data, boundary)
    if not parts:
        raise SystemExit("no MIME parts found")
    start = param(content_type, "start") if content_type else None
    by_id = {}
    for headers, content in parts:
        cid = headers.get("content-id", b"").strip().strip(b"<>")
        by_id[cid.decode("ascii", "replace")] = content
    root = by_id.get(start.strip(b"<>").decode()) if start else None
    if root is None:
        root = parts[0][1]

    tree = ET.ElementTree(ET.fromstring(root))
    for parent in tree.iter():
        for i, child in enumerate(list(parent)):
            if child.tag == XOP_INCLUDE:
                href = child.get("href", "")
                cid = href[4:] if href.startswith("cid:") else href
                cid = cid.replace("%40", "@")
                if cid not in by_id:
                    raise SystemExit("xop:Include refers to a missing MIME part: " + href)
                parent.remove(child)
                parent.text = (parent.text or "") + base64.b64encode(by_id[cid]).decode("ascii")
    return tree.getroot()


def body_element(root):
    """Unwrap a SOAP Envelope; anything else is already a body."""
    for ns in SOAP_NS:
        if root.tag == "{%s}Envelope" % ns:
            body = root.find("{%s}Body" % ns)
            if body is None or len(body) == 0:
                raise SystemExit("SOAP Envelope without a Body element")
            return body[0]
    return root


def cmd_body(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    stripped = data.lstrip()
    if stripped.startswith(b"<"):
        root = ET.fromstring(data)
    else:
        root = unpack_mime(data)
    body = body_element(root)
    if body is root and stripped.startswith(b"<"):
        # Untouched: keep the original bytes, so line numbers in validation
        # errors are those of the fixture file.
        with open(dst, "wb") as f:
            f.write(data)
        return
    with open(dst, "wb") as f:
        f.write(ET.tostring(body, encoding="utf-8"))


def local(tag):
    return tag.rsplit("}", 1)[-1]


def namespace(tag):
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def candidates(root, keep_inside, opaque):
    """Yield (path, kind, detail) for every mutation of the document."""
    # path: list of child indexes from the root
    def walk(el, path):
        name = local(el.tag)
        if name not in opaque:
            for attr in sorted(el.attrib):
                yield (path, "drop-attribute", attr)
            yield (path, "add-attribute", "hiehubMutant")
        if path:
            yield (path, "delete", None)
            yield (path, "duplicate", None)
            yield (path, "rename", None)
        if name in keep_inside or name in opaque:
            return
        children = list(el)
        for i in range(len(children) - 1):
            yield (path + [i], "swap-with-next", None)
        for i, child in enumerate(children):
            yield from walk(child, path + [i])

    yield from walk(root, [])


def apply(root, path, kind, detail):
    doc = copy.deepcopy(root)
    parent = None
    el = doc
    for i in path:
        parent = el
        el = el[i]
    if kind == "drop-attribute":
        del el.attrib[detail]
    elif kind == "add-attribute":
        el.set(detail, "x")
    elif kind == "delete":
        parent.remove(el)
    elif kind == "duplicate":
        parent.insert(path[-1] + 1, copy.deepcopy(el))
    elif kind == "rename":
        ns = namespace(el.tag)
        el.tag = ("{%s}" % ns if ns else "") + "HiehubMutant" + local(el.tag)
    elif kind == "swap-with-next":
        nxt = parent[path[-1] + 1]
        parent.remove(nxt)
        parent.insert(path[-1], nxt)
    return doc


def describe(root, path, kind, detail):
    steps = []
    el = root
    for i in path:
        el = el[i]
        steps.append("%s[%d]" % (local(el.tag), i))
    where = "/" + "/".join([local(root.tag)] + steps)
    return "%s %s%s" % (kind, where, "" if detail is None else " @" + detail)


def cmd_mutants(src, outdir, keep_inside, opaque, limit):
    root = ET.parse(src).getroot()
    # Comments and processing instructions are not kept by ElementTree's
    # default parser, so every child is an element.
    all_candidates = list(candidates(root, keep_inside, opaque))
    if len(all_candidates) > limit:
        step = len(all_candidates) / float(limit)
        picked = [all_candidates[int(i * step)] for i in range(limit)]
    else:
        picked = all_candidates
    os.makedirs(outdir, exist_ok=True)
    for n, (path, kind, detail) in enumerate(picked):
        doc = apply(root, path, kind, detail)
        name = os.path.join(outdir, "m%04d.xml" % n)
        with open(name, "wb") as f:
            f.write(ET.tostring(doc, encoding="utf-8"))
        print("%s\t%s" % (name, describe(root, path, kind, detail)))


def main(argv):
    if len(argv) == 4 and argv[1] == "body":
        cmd_body(argv[2], argv[3])
        return 0
    if len(argv) >= 4 and argv[1] == "mutants":
        keep_inside = set()
        opaque = set()
        limit = 150
        rest = argv[4:]
        while rest:
            if rest[0] == "--keep-inside" and len(rest) > 1:
                keep_inside.add(rest[1])
                rest = rest[2:]
            elif rest[0] == "--opaque" and len(rest) > 1:
                opaque.add(rest[1])
                rest = rest[2:]
            elif rest[0] == "--max" and len(rest) > 1:
                limit = int(rest[1])
                rest = rest[2:]
            else:
                print(__doc__, file=sys.stderr)
                return 2
        cmd_mutants(argv[2], argv[3], keep_inside, opaque, limit)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
