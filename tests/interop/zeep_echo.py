#!/usr/bin/env python3
"""Call the Echo operation of a live hiehub endpoint with zeep, built from the served WSDL.

Usage: zeep_echo.py WSDL_URL TEXT [--cafile CA --cert CERT --key KEY]

zeep fetches WSDL_URL (e.g. http://127.0.0.1:8080/xds/registry?wsdl), follows the
schemaLocations to /schemas/..., builds the client, and sends Echo(Text=TEXT) to the
address the WSDL names (the server rewrites it to itself), with WS-Addressing headers.
For endpoints whose binding asks for MTOM, zeep sends plain SOAP (it does not emit MTOM);
the server accepts both.

Prints one JSON line: {"text": <echoed text>}. Exit 1 on any failure (with the reason).
"""

import json
import sys


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    url, text = argv[1], argv[2]
    opts = dict(zip(argv[3::2], argv[4::2]))
    try:
        import requests
        from zeep import Client, Settings
        from zeep.transports import Transport
        from zeep.wsa import WsAddressingPlugin
    except ImportError as e:
        print(f"zeep is not installed (python3 -m pip install zeep): {e}", file=sys.stderr)
        return 3
    session = requests.Session()
    if "--cafile" in opts:
        session.verify = opts["--cafile"]
    if "--cert" in opts:
        session.cert = (opts["--cert"], opts["--key"])
    client = Client(
        url,
        transport=Transport(session=session),
        settings=Settings(strict=True),
        plugins=[WsAddressingPlugin()],
    )
    result = client.service.Echo(Text=text)
    echoed = result if isinstance(result, str) or result is None else getattr(result, "Text", result)
    print(json.dumps({"text": echoed}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception as e:  # report, do not hide: the Rust test shows this
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
