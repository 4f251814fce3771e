// The radiology report pane. The hub sends an escaped HTML fragment rendered from the CDA narrative;
// the viewer still rebuilds it from an allow-list of text elements (no scripts, no attributes but
// table spans, no links or images), so a fragment that slipped through cannot run anything here.

const ALLOWED = new Set([
  'article', 'section', 'header', 'footer', 'div', 'p', 'span', 'br', 'hr',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'b', 'strong', 'i', 'em', 'u', 'sub', 'sup', 'small', 'pre', 'code',
  'ul', 'ol', 'li', 'dl', 'dt', 'dd',
  'table', 'caption', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'col', 'colgroup',
]);
const DROP = new Set(['script', 'style', 'template', 'iframe', 'object', 'embed', 'noscript', 'svg', 'math', 'head', 'title', 'link', 'meta']);
const KEEP_ATTRS = new Set(['colspan', 'rowspan', 'scope']);

/** A DocumentFragment holding the allowed part of `html`. */
export function sanitize(html) {
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html');
  const out = document.createDocumentFragment();
  copyChildren(doc.body, out);
  return out;
}

function copyChildren(from, to) {
  for (const node of from.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      to.append(document.createTextNode(node.textContent));
      continue;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) continue;
    const tag = node.localName;
    if (DROP.has(tag)) continue;
    if (!ALLOWED.has(tag)) {
      copyChildren(node, to); // unknown element: keep its text
      continue;
    }
    const copy = document.createElement(tag);
    for (const a of node.attributes) {
      if (KEEP_ATTRS.has(a.name) && /^[a-z0-9 ]{0,16}$/i.test(a.value)) copy.setAttribute(a.name, a.value);
    }
    copyChildren(node, copy);
    to.append(copy);
  }
}
