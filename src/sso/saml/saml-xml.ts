import { DOMParser } from "@xmldom/xmldom";
import { SsoRefused } from "../sso-errors";

export const SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol";
export const SAML = "urn:oasis:names:tc:SAML:2.0:assertion";
export const DSIG = "http://www.w3.org/2000/09/xmldsig#";

/**
 * Parses SAML XML into its root element. A DOCTYPE (and so any entity declaration) is refused before the
 * parser sees the text: no DTD processing, no entity expansion, no external entities, whatever the parser does.
 */
export function parseSamlXml(xml: string): Element {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new SsoRefused("doctype");
  let failed = false;
  const fail = () => void (failed = true);
  const doc = new DOMParser({ errorHandler: { warning: () => undefined, error: fail, fatalError: fail } }).parseFromString(xml, "text/xml");
  const root = doc?.documentElement;
  if (failed || !root) throw new SsoRefused("malformed");
  return root;
}

/** Direct children with this namespace and local name, in document order (never descendants: no wrapping). */
export function childElements(parent: Element, namespace: string, localName: string): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    const element = node as Element;
    if (node.nodeType === 1 && element.namespaceURI === namespace && element.localName === localName) found.push(element);
  }
  return found;
}

export function childElement(parent: Element, namespace: string, localName: string): Element | undefined {
  return childElements(parent, namespace, localName)[0];
}

/** The element's text, trimmed; "" for a missing element. */
export function textOf(element: Element | undefined): string {
  return (element?.textContent ?? "").trim();
}

/** An attribute's value, or undefined when it is absent or empty. */
export function attributeOf(element: Element, name: string): string | undefined {
  const value = element.getAttribute(name)?.trim();
  return value ? value : undefined;
}

// xs:dateTime as SAML requires it: UTC, with the zone written out (saml-core 1.3.3).
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** An xs:dateTime attribute in epoch ms; undefined when absent; refused when it is not a time. */
export function instantOf(element: Element, name: string): number | undefined {
  const value = attributeOf(element, name);
  if (value === undefined) return undefined;
  const ms = INSTANT.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new SsoRefused("malformed");
  return ms;
}
