#!/usr/bin/env python3
"""Load hiehub WSDLs with zeep (a SOAP client we did not write) and list them.

Usage: zeep_wsdl.py WSDL [WSDL ...]
       zeep_wsdl.py --echo-envelope WSDL [WSDL ...]

Each WSDL is a file path or an http(s) URL (for example the live server's
https://host:8443/xds/registry?wsdl). zeep resolves every schemaLocation
relative to the WSDL's own location, fetches and compiles the schemas, and
builds the services, ports, bindings and operations.

Output: one JSON object per line, one line per operation:

  {"wsdl": ..., "service": ..., "port": ..., "binding": ..., "address": ...,
   "operation": ..., "input_action": ..., "soap_action": ...,
   "input_element": "{ns}name", "output_element": "{ns}name"}

input_action is the WS-Addressing action zeep sends (wsam:Action or
wsaw:Action on the portType input). Values zeep does not know are null.

With --echo-envelope, the WSDLs are loaded the same way and, for each port
that has an Echo operation, one line is printed instead:

  {"wsdl": ..., "service": ..., "port": ..., "envelope": "<soap:Envelope ...>"}

where envelope is the SOAP message zeep would send for Echo(Text="ping"),
WS-Addressing headers included (zeep adds them because the WSDL gives the
operation an action). Nothing is sent over the network.

Exit status: 0 on success, 1 if a WSDL fails to load, 2 on bad usage,
3 if zeep is not installed.
"""

import json
import sys


def element_qname(message):
    """The {namespace}name of the single body element of a SOAP message."""
    if message is None:
        return None
    body = getattr(message, "body", None)
    if body is None:
        return None
    qname = getattr(body, "qname", None)
    return None if qname is None else str(qname)


def describe(location, client):
    rows = []
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            binding = port.binding
            for name, operation in binding._operations.items():
                abstract = getattr(operation, "abstract", None)
                rows.append(
                    {
                        "wsdl": location,
                        "service": service.name,
                        "port": port.name,
                        "binding": str(binding.name),
                        "address": port.binding_options.get("address"),
                        "operation": name,
                        "input_action": getattr(abstract, "wsa_action", None),
                        "soap_action": getattr(operation, "soapaction", None),
                        "input_element": element_qname(operation.input),
                        "output_element": element_qname(operation.output),
                    }
                )
    return rows


def echo_envelopes(location, client):
    from lxml import etree

    rows = []
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            if "Echo" not in port.binding._operations:
                continue
            proxy = client.bind(service.name, port.name)
            envelope = client.create_message(proxy, "Echo", Text="ping")
            rows.append(
                {
                    "wsdl": location,
                    "service": service.name,
                    "port": port.name,
                    "envelope": etree.tostring(envelope, encoding="unicode"),
                }
            )
    return rows


def main(argv):
    args = argv[1:]
    mode = describe
    if args and args[0] == "--echo-envelope":
        mode = echo_envelopes
        args = args[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        import zeep
        from zeep.transports import Transport
    except ImportError as err:
        print(
            "zeep is not installed (%s): install it with `pip install zeep`" % err,
            file=sys.stderr,
        )
        return 3

    status = 0
    for location in args:
        try:
            # verify=False: the live server may use a test certificate.
            transport = Transport(timeout=30)
            if location.startswith("https://"):
                transport.session.verify = False
            client = zeep.Client(location, transport=transport)
            for row in mode(location, client):
                print(json.dumps(row, sort_keys=True))
        except Exception as err:  # report every WSDL, then fail
            print("zeep could not load %s: %s: %s" % (location, type(err).__name__, err), file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
