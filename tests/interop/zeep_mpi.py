#!/usr/bin/env python3
"""ITI-44 and ITI-47 against a live hiehub with zeep, built from the served WSDLs.

Usage: zeep_mpi.py PIX_WSDL_URL PDQ_WSDL_URL

zeep fetches the PIX Manager WSDL (e.g. http://127.0.0.1:8080/pix?wsdl) and its schemas and
builds the PRPA_IN201301UV02 transmission wrapper (id, creationTime, interactionId, processing
codes, receiver and sender devices) from the schema types; the payload inside controlActProcess
(the registration event with the patient), which hiehub's schema leaves open (xs:any), is given
as lxml elements. zeep sends the SOAP 1.2 envelope with WS-Addressing and parses the
MCCI_IN000002UV01 answer. Then the same with the PDQ Supplier WSDL: PRPA_IN201305UV02 by family
name and birth date, answered with PRPA_IN201306UV02.

Prints one JSON line:
  {"feed_ack": "AA", "query_ack": "AA", "query_response": "OK", "found": ["ZEEP-1"]}
Exit 1 on any failure (with the reason), 3 if zeep is not installed.
"""

import json
import sys
import uuid

HL7 = "urn:hl7-org:v3"
AUTHORITY = "1.2.410.200.77.1"


def E(tag, attrs=None, *children, text=None):
    from lxml import etree

    e = etree.Element(f"{{{HL7}}}{tag}", nsmap={None: HL7})
    for k, v in (attrs or {}).items():
        e.set(k, v)
    for c in children:
        e.append(c)
    if text is not None:
        e.text = text
    return e


def wrapper(interaction):
    device = lambda type_code, root: {
        "typeCode": type_code,
        "device": {"classCode": "DEV", "determinerCode": "INSTANCE", "id": [{"root": root}]},
    }
    return {
        "ITSVersion": "XML_1.0",
        "id": {"root": str(uuid.uuid4())},
        "creationTime": {"value": "20261123020000"},
        "interactionId": {"root": "2.16.840.1.113883.1.6", "extension": interaction},
        "processingCode": {"code": "P"},
        "processingModeCode": {"code": "T"},
        "acceptAckCode": {"code": "AL"},
        "receiver": [device("RCV", "1.2.410.200.77.9")],
        "sender": device("SND", "1.2.410.200.77.2"),
    }


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    pix_url, pdq_url = argv[1:3]
    try:
        from lxml import etree  # noqa: F401
        from zeep import Client, Settings
        from zeep.wsa import WsAddressingPlugin
    except ImportError as e:
        print(f"zeep is not installed (python3 -m pip install zeep): {e}", file=sys.stderr)
        return 3

    pix = Client(pix_url, settings=Settings(strict=True), plugins=[WsAddressingPlugin()])
    patient = E(
        "patient",
        {"classCode": "PAT"},
        E("id", {"root": AUTHORITY, "extension": "ZEEP-1"}),
        E("statusCode", {"code": "active"}),
        E(
            "patientPerson",
            {"classCode": "PSN", "determinerCode": "INSTANCE"},
            E("name", {"use": "SYL"}, E("given", text="지호"), E("family", text="최")),
            E("administrativeGenderCode", {"code": "F"}),
            E("birthTime", {"value": "19991231"}),
        ),
    )
    event = E(
        "subject",
        {"typeCode": "SUBJ"},
        E(
            "registrationEvent",
            {"classCode": "REG", "moodCode": "EVN"},
            E("id", {"nullFlavor": "NA"}),
            E("statusCode", {"code": "active"}),
            E("subject1", {"typeCode": "SBJ"}, patient),
        ),
    )
    code = E("code", {"code": "PRPA_TE201301UV02", "codeSystem": "2.16.840.1.113883.1.6"})
    ack = pix.service.PIXManager_PRPA_IN201301UV02(
        **wrapper("PRPA_IN201301UV02"),
        controlActProcess={"classCode": "CACT", "moodCode": "EVN", "_value_1": [code, event]},
    )
    feed_ack = ack.acknowledgement[0].typeCode.code

    from zeep.plugins import HistoryPlugin

    history = HistoryPlugin()
    pdq = Client(pdq_url, settings=Settings(strict=True), plugins=[WsAddressingPlugin(), history])
    query = E(
        "queryByParameter",
        None,
        E("queryId", {"root": "1.2.410.200.77.3", "extension": str(uuid.uuid4())}),
        E("statusCode", {"code": "new"}),
        E("responseModalityCode", {"code": "R"}),
        E("responsePriorityCode", {"code": "I"}),
        E(
            "parameterList",
            None,
            E("livingSubjectBirthTime", None, E("value", {"value": "19991231"}), E("semanticsText", text="LivingSubject.birthTime")),
            E("livingSubjectName", None, E("value", None, E("family", text="Choe")), E("semanticsText", text="LivingSubject.name")),
        ),
    )
    code = E("code", {"code": "PRPA_TE201305UV02", "codeSystem": "2.16.840.1.113883.1.6"})
    result = pdq.service.PDQSupplier_PRPA_IN201305UV02(
        **wrapper("PRPA_IN201305UV02"),
        controlActProcess={"classCode": "CACT", "moodCode": "EVN", "_value_1": [code, query]},
    )
    # zeep parsed the answer with the served schema; the payload (xs:any) is read from the
    # envelope zeep received.
    query_ack = result.acknowledgement[0].typeCode.code
    root = history.last_received["envelope"]
    ns = {"h": HL7}
    response = root.xpath("//h:queryAck/h:queryResponseCode/@code", namespaces=ns)
    found = root.xpath(
        f"//h:subject/h:registrationEvent/h:subject1/h:patient/h:id[@root='{AUTHORITY}']/@extension",
        namespaces=ns,
    )
    print(
        json.dumps(
            {
                "feed_ack": feed_ack,
                "query_ack": query_ack,
                "query_response": response[0] if response else None,
                "found": list(found),
            }
        )
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception as e:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        print(f"zeep_mpi failed: {e}", file=sys.stderr)
        sys.exit(1)
