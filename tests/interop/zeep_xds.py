#!/usr/bin/env python3
"""ITI-41 then ITI-43 against a live hiehub repository with zeep, built from the served WSDL.

Usage: zeep_xds.py WSDL_URL METADATA_XML DOCUMENT_ID DOCUMENT_TEXT REPOSITORY_UID DOCUMENT_UID

zeep fetches WSDL_URL (e.g. http://127.0.0.1:8080/xds/repository?wsdl) and its schemas, builds
the client, and:

1. ITI-41: calls DocumentRepository_ProvideAndRegisterDocumentSet-b with one Document (id
   DOCUMENT_ID, content DOCUMENT_TEXT, inline base64: zeep does not send MTOM). zeep 4 cannot
   build ebRIM objects itself (it does not handle the rim:Identifiable substitution group), so
   the call is made with an empty RegistryObjectList and an egress plugin puts the metadata of
   METADATA_XML (an lcm:SubmitObjectsRequest) in its place; the envelope, WS-Addressing headers,
   Document element and the parsing of the response are zeep's.
2. ITI-43: calls DocumentRepository_RetrieveDocumentSet for (REPOSITORY_UID, DOCUMENT_UID). The
   answer is MTOM; zeep reads multipart/related responses and resolves xop:Include.

Prints one JSON line:
  {"provide_status": ..., "retrieve_status": ..., "document": <text>, "mime_type": ...}
Exit 1 on any failure (with the reason), 3 if zeep is not installed.
"""

import json
import sys


def main(argv):
    if len(argv) != 7:
        print(__doc__, file=sys.stderr)
        return 2
    url, metadata_path, doc_id, doc_text, repo_uid, doc_uid = argv[1:]
    try:
        from lxml import etree
        from zeep import Client, Settings
        from zeep.wsa import WsAddressingPlugin
    except ImportError as e:
        print(f"zeep is not installed (python3 -m pip install zeep): {e}", file=sys.stderr)
        return 3
    from zeep import Plugin

    lcm = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
    with open(metadata_path, "rb") as f:
        metadata = etree.fromstring(f.read())

    class PutMetadata(Plugin):
        def egress(self, envelope, http_headers, operation, binding_options):
            for old in envelope.iter(f"{{{lcm}}}SubmitObjectsRequest"):
                old.getparent().replace(old, metadata)
                break
            return envelope, http_headers

    client = Client(
        url, settings=Settings(strict=True), plugins=[WsAddressingPlugin(), PutMetadata()]
    )
    provide = getattr(client.service, "DocumentRepository_ProvideAndRegisterDocumentSet-b")
    response = provide(
        SubmitObjectsRequest={"RegistryObjectList": {}},
        Document=[{"id": doc_id, "_value_1": doc_text.encode("utf-8")}],
    )
    provide_status = response.status

    retrieve = client.service.DocumentRepository_RetrieveDocumentSet
    result = retrieve(
        DocumentRequest=[{"RepositoryUniqueId": repo_uid, "DocumentUniqueId": doc_uid}]
    )
    retrieve_status = result.RegistryResponse.status
    documents = result.DocumentResponse or []
    if not documents:
        raise RuntimeError(f"no document returned: {result}")
    content = documents[0].Document
    if isinstance(content, (bytes, bytearray)):
        text = bytes(content).decode("utf-8")
    else:
        text = getattr(content, "_value_1", content)
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8")
    print(
        json.dumps(
            {
                "provide_status": provide_status,
                "retrieve_status": retrieve_status,
                "document": text,
                "mime_type": documents[0].mimeType,
            },
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception as e:  # report, do not hide: the Rust test shows this
        import traceback

        traceback.print_exc()
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
