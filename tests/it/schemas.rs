//! hiehub's own WSDLs and XML Schemas (`schemas/`), checked from four sides:
//!
//! - each file is well-formed, each XSD compiles, the directory is flat and every
//!   `schemaLocation` is a bare file name inside it (the server serves `/schemas/<file>`);
//! - the ebRS 3.0 and IHE XDS.b / XDS-I.b schemas declare, component by component, what the
//!   official schemas in `../shared/schemas-official/` declare (names, types, content models,
//!   attributes), and every WSDL message part names an element declared both in ours and in the
//!   official schemas;
//! - third-party messages from `../shared/fixtures/` (and HL7v3 samples of the kinds hiehub
//!   sends), plus over a thousand structural variants of them made by
//!   `tests/interop/xml_fixture.py`, get the same verdict and the same first error from our
//!   schemas and from the official ones;
//! - zeep, a SOAP client we did not write, loads every WSDL (resolving the schemas relative to
//!   the WSDL file), sees the operations and WS-Addressing actions listed below, and builds an
//!   Echo request that is valid SOAP 1.2 with WS-Addressing headers.
//!
//! Tools: `xmllint` (Debian package libxml2-utils) and `python3` with `zeep` (`pip install zeep`).
//! A missing tool fails the test with the name of the package to install.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use self::xml::Element;

// ------------------------------------------------------------------------------------------------
// Namespaces

const XSD: &str = "http://www.w3.org/2001/XMLSchema";
const WSDL: &str = "http://schemas.xmlsoap.org/wsdl/";
const SOAP12_WSDL: &str = "http://schemas.xmlsoap.org/wsdl/soap12/";
const WSAW: &str = "http://www.w3.org/2006/05/addressing/wsdl";
const WSAM: &str = "http://www.w3.org/2007/05/addressing/metadata";
const WSP: &str = "http://schemas.xmlsoap.org/ws/2004/09/policy";
const WSU: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const WSOMA: &str = "http://schemas.xmlsoap.org/ws/2004/09/policy/optimizedmimeserialization";
const WSA: &str = "http://www.w3.org/2005/08/addressing";
const SOAP12_ENV: &str = "http://www.w3.org/2003/05/soap-envelope";

const RIM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0";
const RS: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0";
const LCM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0";
const QUERY: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0";
const XDSB: &str = "urn:ihe:iti:xds-b:2007";
const XDSI: &str = "urn:ihe:rad:xdsi-b:2009";
const HL7: &str = "urn:hl7-org:v3";
const DIAG: &str = "urn:hiehub:diagnostics:2026";

// ------------------------------------------------------------------------------------------------
// What the WSDLs must say (the endpoint table of the design)

struct Operation {
    name: &'static str,
    input_action: &'static str,
    output_action: &'static str,
    input: (&'static str, &'static str),
    output: (&'static str, &'static str),
}

struct Endpoint {
    wsdl: &'static str,
    path: &'static str,
    target_namespace: &'static str,
    service: &'static str,
    port: &'static str,
    mtom: bool,
    operations: &'static [Operation],
}

const ECHO: Operation = Operation {
    name: "Echo",
    input_action: "urn:hiehub:2026:Echo",
    output_action: "urn:hiehub:2026:EchoResponse",
    input: (DIAG, "EchoRequest"),
    output: (DIAG, "EchoResponse"),
};

const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        wsdl: "XDS.b_DocumentRepository.wsdl",
        path: "/xds/repository",
        target_namespace: XDSB,
        service: "DocumentRepository_Service",
        port: "DocumentRepository_Port_Soap12",
        mtom: true,
        operations: &[
            // ITI-41, and RAD-68 (same action, documented on this operation)
            Operation {
                name: "DocumentRepository_ProvideAndRegisterDocumentSet-b",
                input_action: "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b",
                output_action: "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse",
                input: (XDSB, "ProvideAndRegisterDocumentSetRequest"),
                output: (RS, "RegistryResponse"),
            },
            // ITI-43
            Operation {
                name: "DocumentRepository_RetrieveDocumentSet",
                input_action: "urn:ihe:iti:2007:RetrieveDocumentSet",
                output_action: "urn:ihe:iti:2007:RetrieveDocumentSetResponse",
                input: (XDSB, "RetrieveDocumentSetRequest"),
                output: (XDSB, "RetrieveDocumentSetResponse"),
            },
            ECHO,
        ],
    },
    Endpoint {
        wsdl: "XDS.b_DocumentRegistry.wsdl",
        path: "/xds/registry",
        target_namespace: XDSB,
        service: "DocumentRegistry_Service",
        port: "DocumentRegistry_Port_Soap12",
        mtom: false,
        operations: &[
            // ITI-42
            Operation {
                name: "DocumentRegistry_RegisterDocumentSet-b",
                input_action: "urn:ihe:iti:2007:RegisterDocumentSet-b",
                output_action: "urn:ihe:iti:2007:RegisterDocumentSet-bResponse",
                input: (LCM, "SubmitObjectsRequest"),
                output: (RS, "RegistryResponse"),
            },
            // ITI-18
            Operation {
                name: "DocumentRegistry_RegistryStoredQuery",
                input_action: "urn:ihe:iti:2007:RegistryStoredQuery",
                output_action: "urn:ihe:iti:2007:RegistryStoredQueryResponse",
                input: (QUERY, "AdhocQueryRequest"),
                output: (QUERY, "AdhocQueryResponse"),
            },
            // ITI-57
            Operation {
                name: "DocumentRegistry_UpdateDocumentSet",
                input_action: "urn:ihe:iti:2010:UpdateDocumentSet",
                output_action: "urn:ihe:iti:2010:UpdateDocumentSetResponse",
                input: (LCM, "SubmitObjectsRequest"),
                output: (RS, "RegistryResponse"),
            },
            // ITI-62
            Operation {
                name: "DocumentRegistry_DeleteDocumentSet",
                input_action: "urn:ihe:iti:2010:DeleteDocumentSet",
                output_action: "urn:ihe:iti:2010:DeleteDocumentSetResponse",
                input: (LCM, "RemoveObjectsRequest"),
                output: (RS, "RegistryResponse"),
            },
            ECHO,
        ],
    },
    Endpoint {
        wsdl: "XDS-I.b_ImagingDocumentSource.wsdl",
        path: "/xds/imaging",
        target_namespace: XDSI,
        service: "ImagingDocumentSource_Service",
        port: "ImagingDocumentSource_Port_Soap12",
        mtom: true,
        operations: &[
            // RAD-69
            Operation {
                name: "ImagingDocumentSource_RetrieveImagingDocumentSet",
                input_action: "urn:ihe:rad:2009:RetrieveImagingDocumentSet",
                output_action: "urn:ihe:iti:2007:RetrieveDocumentSetResponse",
                input: (XDSI, "RetrieveImagingDocumentSetRequest"),
                output: (XDSB, "RetrieveDocumentSetResponse"),
            },
            ECHO,
        ],
    },
    Endpoint {
        wsdl: "PIXManager.wsdl",
        path: "/pix",
        target_namespace: "urn:ihe:iti:pixv3:2007",
        service: "PIXManager_Service",
        port: "PIXManager_Port_Soap12",
        mtom: false,
        operations: &[
            // ITI-44
            Operation {
                name: "PIXManager_PRPA_IN201301UV02",
                input_action: "urn:hl7-org:v3:PRPA_IN201301UV02",
                output_action: "urn:hl7-org:v3:MCCI_IN000002UV01",
                input: (HL7, "PRPA_IN201301UV02"),
                output: (HL7, "MCCI_IN000002UV01"),
            },
            Operation {
                name: "PIXManager_PRPA_IN201302UV02",
                input_action: "urn:hl7-org:v3:PRPA_IN201302UV02",
                output_action: "urn:hl7-org:v3:MCCI_IN000002UV01",
                input: (HL7, "PRPA_IN201302UV02"),
                output: (HL7, "MCCI_IN000002UV01"),
            },
            Operation {
                name: "PIXManager_PRPA_IN201304UV02",
                input_action: "urn:hl7-org:v3:PRPA_IN201304UV02",
                output_action: "urn:hl7-org:v3:MCCI_IN000002UV01",
                input: (HL7, "PRPA_IN201304UV02"),
                output: (HL7, "MCCI_IN000002UV01"),
            },
            // ITI-45
            Operation {
                name: "PIXManager_PRPA_IN201309UV02",
                input_action: "urn:hl7-org:v3:PRPA_IN201309UV02",
                output_action: "urn:hl7-org:v3:PRPA_IN201310UV02",
                input: (HL7, "PRPA_IN201309UV02"),
                output: (HL7, "PRPA_IN201310UV02"),
            },
            ECHO,
        ],
    },
    Endpoint {
        wsdl: "PDQSupplier.wsdl",
        path: "/pdq",
        target_namespace: "urn:ihe:iti:pdqv3:2007",
        service: "PDQSupplier_Service",
        port: "PDQSupplier_Port_Soap12",
        mtom: false,
        operations: &[
            // ITI-47
            Operation {
                name: "PDQSupplier_PRPA_IN201305UV02",
                input_action: "urn:hl7-org:v3:PRPA_IN201305UV02",
                output_action: "urn:hl7-org:v3:PRPA_IN201306UV02",
                input: (HL7, "PRPA_IN201305UV02"),
                output: (HL7, "PRPA_IN201306UV02"),
            },
            Operation {
                name: "PDQSupplier_QUQI_IN000003UV01_Continue",
                input_action: "urn:hl7-org:v3:QUQI_IN000003UV01_Continue",
                output_action: "urn:hl7-org:v3:PRPA_IN201306UV02",
                input: (HL7, "QUQI_IN000003UV01"),
                output: (HL7, "PRPA_IN201306UV02"),
            },
            Operation {
                name: "PDQSupplier_QUQI_IN000003UV01_Cancel",
                input_action: "urn:hl7-org:v3:QUQI_IN000003UV01_Cancel",
                output_action: "urn:hl7-org:v3:MCCI_IN000002UV01",
                input: (HL7, "QUQI_IN000003UV01_Cancel"),
                output: (HL7, "MCCI_IN000002UV01"),
            },
            ECHO,
        ],
    },
];

/// Every file `schemas/` holds. A new file must be added here and to `schemas/README.md`.
const SCHEMA_FILES: &[&str] = &[
    "README.md",
    "xml.xsd",
    "rim.xsd",
    "rs.xsd",
    "lcm.xsd",
    "query.xsd",
    "XDS.b_DocumentRepository.xsd",
    "XDSI.b_ImagingDocumentSource.xsd",
    "hl7v3-iti-interactions.xsd",
    "hiehub-diagnostics.xsd",
    "XDS.b_DocumentRepository.wsdl",
    "XDS.b_DocumentRegistry.wsdl",
    "XDS-I.b_ImagingDocumentSource.wsdl",
    "PIXManager.wsdl",
    "PDQSupplier.wsdl",
];

/// Our ebRS / IHE schema files and the official files they are written to match.
const MATCHING_OFFICIAL: &[(&str, &str)] = &[
    ("xml.xsd", "xds/xml.xsd"),
    ("rim.xsd", "xds/ebRS/rim.xsd"),
    ("rs.xsd", "xds/ebRS/rs.xsd"),
    ("lcm.xsd", "xds/ebRS/lcm.xsd"),
    ("query.xsd", "xds/ebRS/query.xsd"),
    (
        "XDS.b_DocumentRepository.xsd",
        "xds/IHE/XDS.b_DocumentRepository.xsd",
    ),
    (
        "XDSI.b_ImagingDocumentSource.xsd",
        "xds/IHE/XDSI.b_ImagingDocumentSource.xsd",
    ),
];

/// HL7v3 interactions that are not in the official NE2008 subset of `schemas-official/`
/// (IHE distributes them separately); their official schema is therefore not checked.
const HL7_NOT_IN_OFFICIAL_SET: &[&str] = &["QUQI_IN000003UV01", "QUQI_IN000003UV01_Cancel"];

// ------------------------------------------------------------------------------------------------
// Fixtures and the verdict a conformant validator gives (see ../shared/fixtures/README.md)

struct Fixture {
    path: &'static str,
    valid: bool,
    /// For an invalid message: the element the first schema error must name, `{ns}local`.
    error_element: Option<&'static str>,
}

const fn valid(path: &'static str) -> Fixture {
    Fixture {
        path,
        valid: true,
        error_element: None,
    }
}

const fn invalid(path: &'static str, element: &'static str) -> Fixture {
    Fixture {
        path,
        valid: false,
        error_element: Some(element),
    }
}

const FIXTURES: &[Fixture] = &[
    valid("dcm4chee/xds/valid-iti42-register-one-document.xml"),
    valid("dcm4chee/xds/valid-iti42-create-folder.xml"),
    valid("nist/xds/valid-iti18-finddocuments.xml"),
    // Wrong stored-query parameter syntax: a registry error, not a schema error.
    valid("nist/xds/invalid-iti18-status-not-in-parentheses.xml"),
    invalid(
        "nist/xds/invalid-iti41-element-order.xml",
        "{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}Slot",
    ),
    // A whole SOAP envelope: validated after unwrapping the Body.
    invalid(
        "nist/xds/invalid-iti43-element-order.xml",
        "{urn:ihe:iti:xds-b:2007}DocumentUniqueId",
    ),
    valid("nist/xds/template-iti43-retrieve-two-documents/query.xml"),
    valid("nist/xds/template-iti62-remove-folder/remove.xml"),
    valid("nist/xds/template-iti62-remove-folder/remove_fd.xml"),
    valid("nist/xds/template-iti62-remove-folder/remove_all.xml"),
    // MIME multipart with the document inline (base64), and an HTTP capture with MTOM/XOP:
    // validated after unpacking the root part and resolving xop:Include.
    valid("nist/xds/valid-iti41-multipart-inline-base64/body.txt"),
    valid("nist/xds/valid-iti41-http-capture-mtom.txt"),
    valid("nist/xds-i/rad68-kos-single-image/metadata.xml"),
    valid("nist/xds-i/rad69-request-single-study.xml"),
    valid("openxds/xds/template-iti41-transformation-XFRM.xml"),
    valid("ipf/hl7v3/valid-iti44-add-PRPA_IN201301UV02.xml"),
    valid("ipf/hl7v3/valid-iti47-query-by-ids.xml"),
    invalid(
        "ipf/hl7v3/invalid-PRPA_IN201301UV02-schema.xml",
        "{urn:hl7-org:v3}idA",
    ),
];

/// Valid fixtures whose structural variants are validated by both schema sets.
const MUTATED_FIXTURES: &[&str] = &[
    "dcm4chee/xds/valid-iti42-register-one-document.xml",
    "dcm4chee/xds/valid-iti42-create-folder.xml",
    "nist/xds/valid-iti18-finddocuments.xml",
    "nist/xds/template-iti43-retrieve-two-documents/query.xml",
    "nist/xds/template-iti62-remove-folder/remove_all.xml",
    "nist/xds/valid-iti41-multipart-inline-base64/body.txt",
    "nist/xds-i/rad68-kos-single-image/metadata.xml",
    "nist/xds-i/rad69-request-single-study.xml",
    "openxds/xds/template-iti41-transformation-XFRM.xml",
    "ipf/hl7v3/valid-iti44-add-PRPA_IN201301UV02.xml",
    "ipf/hl7v3/valid-iti47-query-by-ids.xml",
];

/// HL7v3 messages of the kinds hiehub sends, written for these tests: they are valid against the
/// official NE2008 schemas and their variants are validated like the fixtures'. (The fixtures
/// hold no acknowledgement and no query response.)
const HL7_SAMPLES: &[(&str, &str)] = &[
    (
        "sample MCCI_IN000002UV01 (ITI-44 AE acknowledgement)",
        SAMPLE_ACK,
    ),
    (
        "sample PRPA_IN201310UV02 (ITI-45 NF response)",
        SAMPLE_PIX_RESPONSE,
    ),
    (
        "sample PRPA_IN201306UV02 (ITI-47 NF response)",
        SAMPLE_PDQ_RESPONSE,
    ),
    (
        "sample PRPA_IN201305UV02 (ITI-47 query, xsi:type)",
        SAMPLE_PDQ_QUERY,
    ),
];

/// Header parts that hl7v3-iti-interactions.xsd leaves open (xs:anyType): their content and
/// attributes are not varied, since only the official schema checks them.
const HL7_OPEN_HEADER_PARTS: &[&str] = &[
    "name",
    "existenceTime",
    "useablePeriod",
    "translation",
    "asLocatedEntity",
    "notificationParty",
    "entityRsp",
    "value",
];

const SAMPLE_ACK: &str = r#"<MCCI_IN000002UV01 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0">
  <id root="2.25.4711" extension="1"/>
  <creationTime value="20260101120000+0900"/>
  <interactionId root="2.16.840.1.113883.1.6" extension="MCCI_IN000002UV01"/>
  <processingCode code="P"/>
  <processingModeCode code="T"/>
  <acceptAckCode code="NE"/>
  <receiver typeCode="RCV">
    <device classCode="DEV" determinerCode="INSTANCE">
      <id root="1.2.840.114350.1.13.99998.8734"/>
    </device>
  </receiver>
  <sender typeCode="SND">
    <device classCode="DEV" determinerCode="INSTANCE">
      <id root="1.2.840.114350.1.13.99999.4567"/>
      <asAgent classCode="AGNT">
        <representedOrganization classCode="ORG" determinerCode="INSTANCE">
          <id root="1.2.840.114350.1.13.99999.1234"/>
        </representedOrganization>
      </asAgent>
    </device>
  </sender>
  <acknowledgement>
    <typeCode code="AE"/>
    <targetMessage>
      <id root="c47bb4cd-649d-433d-a18b-3dac3ae6dcec"/>
    </targetMessage>
    <acknowledgementDetail typeCode="E">
      <code code="204" codeSystem="2.16.840.1.113883.5.1100" displayName="Unknown key identifier"/>
      <text>Unknown patient identifier domain</text>
      <location>/PRPA_IN201301UV02/controlActProcess/subject/registrationEvent/subject1/patient/id</location>
    </acknowledgementDetail>
  </acknowledgement>
</MCCI_IN000002UV01>
"#;

const SAMPLE_PIX_RESPONSE: &str = r#"<PRPA_IN201310UV02 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0">
  <id root="2.25.4712"/>
  <creationTime value="20260101120001"/>
  <interactionId root="2.16.840.1.113883.1.6" extension="PRPA_IN201310UV02"/>
  <processingCode code="P"/>
  <processingModeCode code="T"/>
  <acceptAckCode code="NE"/>
  <receiver typeCode="RCV">
    <device classCode="DEV" determinerCode="INSTANCE">
      <id root="1.2.840.114350.1.13.99998.8734"/>
    </device>
  </receiver>
  <sender typeCode="SND">
    <device classCode="DEV" determinerCode="INSTANCE">
      <id root="1.2.840.114350.1.13.99999.4567"/>
    </device>
  </sender>
  <acknowledgement>
    <typeCode code="AA"/>
    <targetMessage>
      <id root="1.2.840.114350.1.13.0.1.7.1.1" extension="35423"/>
    </targetMessage>
  </acknowledgement>
  <controlActProcess classCode="CACT" moodCode="EVN">
    <code code="PRPA_TE201310UV02" codeSystem="2.16.840.1.113883.1.6"/>
    <queryAck>
      <queryId root="1.2.840.114350.1.13.28.1.18.5.999" extension="18204"/>
      <queryResponseCode code="NF"/>
    </queryAck>
  </controlActProcess>
</PRPA_IN201310UV02>
"#;

/// xsi:type in the header and in the payload (the payload is validated laxly, and an xsi:type
/// that names no type would be an error even there).
const SAMPLE_PDQ_QUERY: &str = r#"<PRPA_IN201305UV02 xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ITSVersion="XML_1.0">
  <id root="2.25.4712"/>
  <creationTime value="20260101120001"/>
  <interactionId root="2.16.840.1.113883.1.6" extension="PRPA_IN201305UV02"/>
  <processingCode code="P"/>
  <processingModeCode code="T"/>
  <acceptAckCode code="AL"/>
  <receiver typeCode="RCV">
    <telecom value="https://pdq.example.org/pdq" use="WP">
      <useablePeriod xsi:type="IVL_TS"><low value="2026"/></useablePeriod>
    </telecom>
    <device classCode="DEV" determinerCode="INSTANCE">
      <id root="1.2"/>
      <name use="L">PDQ supplier</name>
      <softwareName>hiehub</softwareName>
    </device>
  </receiver>
  <sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.3"/></device></sender>
  <attentionLine>
    <keyWordText code="ward">Ward</keyWordText>
    <value xsi:type="ST">Radiology</value>
  </attentionLine>
  <controlActProcess classCode="CACT" moodCode="EVN">
    <code code="PRPA_TE201305UV02" codeSystem="2.16.840.1.113883.1.6"/>
    <queryByParameter>
      <queryId root="1.2.840.114350.1.13.28.1.18.5.999" extension="18204"/>
      <statusCode code="new"/>
      <responseModalityCode code="R"/>
      <responsePriorityCode code="I"/>
      <parameterList>
        <livingSubjectBirthTime>
          <value xsi:type="IVL_TS"><low value="1960"/></value>
          <semanticsText>LivingSubject.birthTime</semanticsText>
        </livingSubjectBirthTime>
      </parameterList>
    </queryByParameter>
  </controlActProcess>
</PRPA_IN201305UV02>
"#;

const SAMPLE_PDQ_RESPONSE: &str = r#"<PRPA_IN201306UV02 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0">
  <id root="2.25.4712"/>
  <creationTime value="20260101120001"/>
  <interactionId root="2.16.840.1.113883.1.6" extension="PRPA_IN201306UV02"/>
  <processingCode code="P"/>
  <processingModeCode code="T"/>
  <acceptAckCode code="NE"/>
  <receiver typeCode="RCV">
    <device classCode="DEV" determinerCode="INSTANCE">
      <id root="1.2.840.114350.1.13.99998.8734"/>
    </device>
  </receiver>
  <sender typeCode="SND">
    <device classCode="DEV" determinerCode="INSTANCE">
      <id root="1.2.840.114350.1.13.99999.4567"/>
    </device>
  </sender>
  <acknowledgement>
    <typeCode code="AA"/>
    <targetMessage>
      <id root="1.2.840.114350.1.13.0.1.7.1.1" extension="35423"/>
    </targetMessage>
  </acknowledgement>
  <controlActProcess classCode="CACT" moodCode="EVN">
    <code code="PRPA_TE201306UV02" codeSystem="2.16.840.1.113883.1.6"/>
    <queryAck>
      <queryId root="1.2.840.114350.1.13.28.1.18.5.999" extension="18204"/>
      <queryResponseCode code="NF"/>
    </queryAck>
  </controlActProcess>
</PRPA_IN201306UV02>
"#;

// ------------------------------------------------------------------------------------------------
// Paths and tools

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schemas_dir() -> PathBuf {
    repo().join("schemas")
}

fn schema(file: &str) -> PathBuf {
    schemas_dir().join(file)
}

fn shared() -> PathBuf {
    let dir = repo().join("../shared");
    assert!(
        dir.join("schemas-official").is_dir() && dir.join("fixtures").is_dir(),
        "{} must hold schemas-official/ and fixtures/ (the shared test material beside the repository)",
        dir.display()
    );
    dir
}

fn official(rel: &str) -> PathBuf {
    shared().join("schemas-official").join(rel)
}

fn official_hl7(interaction: &str) -> PathBuf {
    official(&format!(
        "hl7v3/HL7V3/NE2008/multicacheschemas/{interaction}.xsd"
    ))
}

fn fixture(rel: &str) -> PathBuf {
    shared().join("fixtures").join(rel)
}

fn interop(script: &str) -> PathBuf {
    repo().join("tests/interop").join(script)
}

const XMLLINT_HINT: &str =
    "install the Debian package libxml2-utils (apt-get install -y libxml2-utils)";
const PYTHON_HINT: &str = "install the Debian package python3";

fn run<I, S>(program: &str, args: I, hint: &str) -> Output
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    match Command::new(program).args(&args).output() {
        Ok(out) => out,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            panic!("`{program}` is not installed: {hint}")
        }
        Err(err) => panic!("cannot run `{program}`: {err}"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn parse_file(path: &Path) -> Element {
    xml::parse(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("hiehub-schemas-")
        .tempdir()
        .expect("temp dir")
}

// ------------------------------------------------------------------------------------------------
// xmllint

#[derive(Debug, Clone, PartialEq)]
struct SchemaError {
    line: usize,
    /// What xmllint says after "Schemas validity error : ".
    message: String,
}

impl SchemaError {
    /// The message without the list of expected elements: libxml2 cuts that list at ten
    /// entries, taken in declaration order, so it depends on the layout of the schema files.
    fn head(&self) -> &str {
        match self.message.find(" Expected is") {
            Some(i) => &self.message[..i],
            None => &self.message,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Verdict {
    valid: bool,
    first_error: Option<SchemaError>,
}

/// Validate each file against one schema; one verdict per file, in order.
fn validate(schema: &Path, files: &[PathBuf]) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for chunk in files.chunks(400) {
        let mut args: Vec<OsString> = vec!["--noout".into(), "--schema".into(), schema.into()];
        args.extend(chunk.iter().map(|f| f.as_os_str().to_owned()));
        let out = run("xmllint", args, XMLLINT_HINT);
        let stderr = text(&out.stderr);
        match out.status.code() {
            Some(0) | Some(3) => {}
            _ => panic!(
                "xmllint could not validate against {} (exit {:?}):\n{stderr}",
                schema.display(),
                out.status.code()
            ),
        }
        // name -> (verdict, first error)
        let mut seen: BTreeMap<String, (Option<bool>, Option<SchemaError>)> = chunk
            .iter()
            .map(|f| (f.to_string_lossy().into_owned(), (None, None)))
            .collect();
        for line in stderr.lines() {
            if let Some(name) = line.strip_suffix(" validates")
                && let Some(entry) = seen.get_mut(name)
            {
                entry.0 = Some(true);
                continue;
            }
            if let Some(name) = line.strip_suffix(" fails to validate")
                && let Some(entry) = seen.get_mut(name)
            {
                entry.0 = Some(false);
                continue;
            }
            // "<file>:<line>: element <name>: Schemas validity error : <message>"
            let Some((name, lineno, rest)) = split_location(line) else {
                continue;
            };
            let Some(entry) = seen.get_mut(name) else {
                continue;
            };
            if rest.contains("parser error") {
                panic!("{name} is not well-formed XML:\n{stderr}");
            }
            if entry.1.is_none()
                && let Some((_, msg)) = rest.split_once("Schemas validity error : ")
            {
                entry.1 = Some(SchemaError {
                    line: lineno,
                    message: msg.to_string(),
                });
            }
        }
        for file in chunk {
            let name = file.to_string_lossy().into_owned();
            let (valid, first_error) = seen.remove(&name).expect("entry per file");
            let valid =
                valid.unwrap_or_else(|| panic!("no verdict from xmllint for {name}:\n{stderr}"));
            assert!(
                valid || first_error.is_some(),
                "xmllint rejected {name} without a schema error:\n{stderr}"
            );
            verdicts.push(Verdict { valid, first_error });
        }
    }
    verdicts
}

/// Split "<file>:<line>:<rest>" at the first ":<digits>:".
fn split_location(line: &str) -> Option<(&str, usize, &str)> {
    for (i, _) in line.match_indices(':') {
        let after = &line[i + 1..];
        if let Some(end) = after.find(':') {
            let digits = &after[..end];
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                return Some((&line[..i], digits.parse().ok()?, &after[end + 1..]));
            }
        }
    }
    None
}

fn validate_one(schema: &Path, file: &Path) -> Verdict {
    validate(schema, &[file.to_path_buf()]).remove(0)
}

// ------------------------------------------------------------------------------------------------
// python helpers (tests/interop/)

fn python(args: Vec<OsString>) -> Output {
    run("python3", args, PYTHON_HINT)
}

/// The message body of a fixture, ready for validation (see xml_fixture.py).
fn prepare_body(src: &Path, dst: &Path) {
    let out = python(vec![
        interop("xml_fixture.py").into(),
        "body".into(),
        src.into(),
        dst.into(),
    ]);
    assert!(
        out.status.success(),
        "xml_fixture.py body {} failed:\n{}",
        src.display(),
        text(&out.stderr)
    );
}

/// Structural variants of an XML file: (file, description). The content of `keep_inside`
/// elements is not varied; neither are the attributes and content of `opaque` elements.
fn mutants(
    src: &Path,
    dir: &Path,
    keep_inside: &[&str],
    opaque: &[&str],
) -> Vec<(PathBuf, String)> {
    let mut args: Vec<OsString> = vec![
        interop("xml_fixture.py").into(),
        "mutants".into(),
        src.into(),
        dir.into(),
    ];
    for name in keep_inside {
        args.push("--keep-inside".into());
        args.push(name.into());
    }
    for name in opaque {
        args.push("--opaque".into());
        args.push(name.into());
    }
    let out = python(args);
    assert!(
        out.status.success(),
        "xml_fixture.py mutants {} failed:\n{}",
        src.display(),
        text(&out.stderr)
    );
    text(&out.stdout)
        .lines()
        .map(|line| {
            let (file, what) = line.split_once('\t').expect("file<TAB>description");
            (PathBuf::from(file), what.to_string())
        })
        .collect()
}

/// zeep_wsdl.py: one JSON object per output line.
fn zeep(args: &[OsString]) -> Vec<json::Value> {
    let mut all: Vec<OsString> = vec![interop("zeep_wsdl.py").into()];
    all.extend(args.iter().cloned());
    let out = python(all);
    let stderr = text(&out.stderr);
    match out.status.code() {
        Some(0) => {}
        Some(3) => panic!("zeep is missing: install it with `pip install zeep`\n{stderr}"),
        code => panic!("zeep_wsdl.py failed (exit {code:?}):\n{stderr}"),
    }
    text(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            json::parse(l).unwrap_or_else(|e| panic!("zeep_wsdl.py printed bad JSON ({e}): {l}"))
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Reading schemas

/// The schema a message body is validated with: ours, and the official one.
fn schemas_for(root: &Element) -> (PathBuf, PathBuf) {
    match root.ns.as_str() {
        RIM | RS | LCM | QUERY | XDSB | XDSI => (
            schema("XDSI.b_ImagingDocumentSource.xsd"),
            official("xds/IHE/XDSI.b_ImagingDocumentSource.xsd"),
        ),
        HL7 => (
            schema("hl7v3-iti-interactions.xsd"),
            official_hl7(&root.local),
        ),
        other => panic!(
            "no schema for a body in namespace {other:?} ({})",
            root.local
        ),
    }
}

/// Global element declarations: `{ns}local` -> file, for a set of schema files.
fn global_elements(files: &[PathBuf]) -> BTreeMap<String, PathBuf> {
    let mut map = BTreeMap::new();
    for file in files {
        let root = parse_file(file);
        let tns = root.attr("targetNamespace").unwrap_or("").to_string();
        for el in root.children_named(XSD, "element") {
            if let Some(name) = el.attr("name") {
                map.insert(format!("{{{tns}}}{name}"), file.clone());
            }
        }
    }
    map
}

fn our_xsds() -> Vec<PathBuf> {
    SCHEMA_FILES
        .iter()
        .filter(|f| f.ends_with(".xsd"))
        .map(|f| schema(f))
        .collect()
}

/// The files reachable from `start` through schemaLocation references inside `schemas/`.
fn import_closure(start: &[String]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = start.to_vec();
    while let Some(file) = todo.pop() {
        if !seen.insert(file.clone()) {
            continue;
        }
        for loc in schema_locations(&parse_file(&schema(&file))) {
            todo.push(loc);
        }
    }
    seen
}

fn schema_locations(root: &Element) -> Vec<String> {
    let mut out = Vec::new();
    root.walk(&mut |el| {
        if el.ns == XSD
            && matches!(el.local.as_str(), "import" | "include" | "redefine")
            && let Some(loc) = el.attr("schemaLocation")
        {
            out.push(loc.to_string());
        }
    });
    out
}

// ------------------------------------------------------------------------------------------------
// The tests

#[test]
fn schemas_directory_is_flat_complete_and_documented() {
    let mut present = BTreeSet::new();
    for entry in fs::read_dir(schemas_dir()).expect("schemas/ exists") {
        let entry = entry.expect("dir entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            entry.file_type().expect("file type").is_file(),
            "schemas/{name} is not a plain file: schemas/ must stay one flat directory \
             (the server serves it as /schemas/<file>)"
        );
        present.insert(name);
    }
    let expected: BTreeSet<String> = SCHEMA_FILES.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        present, expected,
        "schemas/ must hold exactly the files listed in SCHEMA_FILES"
    );

    let readme = read(&schema("README.md"));
    for file in SCHEMA_FILES.iter().filter(|f| **f != "README.md") {
        assert!(
            readme.contains(file),
            "schemas/README.md does not describe {file}"
        );
    }
    assert!(
        readme.contains("urn:hiehub:2026:Echo"),
        "schemas/README.md must document the Echo operation"
    );

    for file in SCHEMA_FILES.iter().filter(|f| **f != "README.md") {
        let src = read(&schema(file));
        let header = if *file == "hiehub-diagnostics.xsd" {
            "hiehub diagnostics"
        } else {
            "Written for hiehub from the structure of"
        };
        assert!(
            src.contains(header),
            "{file} lacks its header comment ({header:?})"
        );

        let root = parse_file(&schema(file));
        let mut imports = Vec::new();
        root.walk(&mut |el| {
            if el.ns == XSD && matches!(el.local.as_str(), "import" | "include" | "redefine") {
                imports.push((
                    el.attr("namespace").map(str::to_string),
                    el.attr("schemaLocation").map(str::to_string),
                ));
            }
        });
        for (namespace, location) in imports {
            let location =
                location.unwrap_or_else(|| panic!("{file}: an import without schemaLocation"));
            assert!(
                !location.contains('/') && !location.contains('\\') && !location.contains(':'),
                "{file}: schemaLocation {location:?} must be a bare file name in schemas/"
            );
            let target = schema(&location);
            assert!(
                target.is_file(),
                "{file}: schemaLocation {location:?} names no file in schemas/"
            );
            if let Some(ns) = namespace {
                let tns = parse_file(&target)
                    .attr("targetNamespace")
                    .unwrap_or("")
                    .to_string();
                assert_eq!(
                    tns, ns,
                    "{file}: {location} is imported for namespace {ns} but declares {tns}"
                );
            }
        }
    }
}

#[test]
fn every_file_is_well_formed_xml() {
    for file in SCHEMA_FILES.iter().filter(|f| !f.ends_with(".md")) {
        let path = schema(file);
        let out = run(
            "xmllint",
            [OsString::from("--noout"), path.clone().into()],
            XMLLINT_HINT,
        );
        assert!(
            out.status.success(),
            "{file} is not well-formed:\n{}",
            text(&out.stderr)
        );
        parse_file(&path);
    }
}

#[test]
fn every_xsd_compiles() {
    let dir = tempdir();
    let trivial = dir.path().join("trivial.xml");
    fs::write(&trivial, "<hiehub-trivial/>\n").expect("write");
    for file in our_xsds() {
        let out = run(
            "xmllint",
            [
                OsString::from("--noout"),
                "--schema".into(),
                file.clone().into(),
                trivial.clone().into(),
            ],
            XMLLINT_HINT,
        );
        let stderr = text(&out.stderr);
        // 3 = the instance is invalid, i.e. the schema compiled; 5 = the schema did not compile.
        assert_eq!(
            out.status.code(),
            Some(3),
            "{} does not compile:\n{stderr}",
            file.display()
        );
        assert!(
            stderr.contains("No matching global declaration available for the validation root"),
            "{}: unexpected xmllint output:\n{stderr}",
            file.display()
        );
        assert!(
            !stderr.contains("Schemas parser"),
            "{}: schema warnings or errors:\n{stderr}",
            file.display()
        );
    }
}

#[test]
fn ebrs_and_xds_schemas_declare_what_the_official_schemas_declare() {
    let mut problems = Vec::new();
    let mut compared = 0;
    for (ours, theirs) in MATCHING_OFFICIAL {
        let ours_root = parse_file(&schema(ours));
        let theirs_root = parse_file(&official(theirs));
        assert_eq!(
            ours_root.attr("targetNamespace"),
            theirs_root.attr("targetNamespace"),
            "{ours}: target namespace differs from {theirs}"
        );
        let a = sig::components(&ours_root);
        let b = sig::components(&theirs_root);
        assert!(!b.is_empty(), "no components read from {theirs}");
        for (key, theirs_sig) in &b {
            compared += 1;
            match a.get(key) {
                None => problems.push(format!("{ours}: missing {key} (declared in {theirs})")),
                Some(ours_sig) if ours_sig != theirs_sig => problems.push(format!(
                    "{ours}: {key} differs from {theirs}\n    ours:     {ours_sig}\n    official: {theirs_sig}"
                )),
                Some(_) => {}
            }
        }
        for key in a.keys().filter(|k| !b.contains_key(*k)) {
            problems.push(format!("{ours}: declares {key}, which {theirs} does not"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // ebRIM alone has some 70 components: make sure the reader saw them all.
    assert!(
        compared >= 180,
        "only {compared} official components compared"
    );
}

#[test]
fn hl7v3_interactions_are_official_interactions() {
    let root = parse_file(&schema("hl7v3-iti-interactions.xsd"));
    assert_eq!(root.attr("targetNamespace"), Some(HL7));
    let ours: BTreeSet<String> = root
        .children_named(XSD, "element")
        .filter_map(|e| e.attr("name").map(str::to_string))
        .collect();
    let expected: BTreeSet<String> = [
        "PRPA_IN201301UV02",
        "PRPA_IN201302UV02",
        "PRPA_IN201304UV02",
        "PRPA_IN201305UV02",
        "PRPA_IN201306UV02",
        "PRPA_IN201309UV02",
        "PRPA_IN201310UV02",
        "MCCI_IN000002UV01",
        "QUQI_IN000003UV01",
        "QUQI_IN000003UV01_Cancel",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(
        ours, expected,
        "global elements of hl7v3-iti-interactions.xsd"
    );
    for name in &ours {
        if HL7_NOT_IN_OFFICIAL_SET.contains(&name.as_str()) {
            assert!(
                !official_hl7(name).exists(),
                "{name}.xsd is now in schemas-official: remove it from HL7_NOT_IN_OFFICIAL_SET"
            );
            continue;
        }
        let file = official_hl7(name);
        assert!(file.is_file(), "no official schema {}", file.display());
        let declared = global_elements(std::slice::from_ref(&file));
        assert!(
            declared.contains_key(&format!("{{{HL7}}}{name}")),
            "{} does not declare {name}",
            file.display()
        );
    }
}

/// A message part: its name and the element it names, `(namespace, local name)`.
type Part = (String, Option<(String, String)>);

/// The parts of a WSDL that the tests look at.
struct WsdlModel {
    target_namespace: String,
    messages: BTreeMap<String, Vec<Part>>,
    root: Element,
}

fn wsdl_model(file: &str) -> WsdlModel {
    let root = parse_file(&schema(file));
    assert!(
        root.is(WSDL, "definitions"),
        "{file}: root is not wsdl:definitions"
    );
    let target_namespace = root.attr("targetNamespace").unwrap_or("").to_string();
    let mut messages = BTreeMap::new();
    for msg in root.children_named(WSDL, "message") {
        let parts = msg
            .children_named(WSDL, "part")
            .map(|p| {
                let element = p
                    .attr("element")
                    .map(|q| p.qname(q).expect("part element QName"));
                (p.attr("name").unwrap_or("").to_string(), element)
            })
            .collect();
        messages.insert(msg.attr("name").unwrap_or("").to_string(), parts);
    }
    WsdlModel {
        target_namespace,
        messages,
        root,
    }
}

impl WsdlModel {
    /// The single body element of a message referenced by QName.
    fn body_element(&self, file: &str, message: &(String, String)) -> (String, String) {
        assert_eq!(
            message.0, self.target_namespace,
            "{file}: message {message:?} is not in the WSDL"
        );
        let parts = self
            .messages
            .get(&message.1)
            .unwrap_or_else(|| panic!("{file}: no message {}", message.1));
        assert_eq!(
            parts.len(),
            1,
            "{file}: message {} must have one part",
            message.1
        );
        assert_eq!(
            parts[0].0, "body",
            "{file}: message {} part must be named body",
            message.1
        );
        parts[0]
            .1
            .clone()
            .unwrap_or_else(|| panic!("{file}: message {} part must name an element", message.1))
    }
}

#[test]
fn every_wsdl_has_the_listed_operations_actions_and_bindings() {
    let mut wsdl_files: Vec<&str> = SCHEMA_FILES
        .iter()
        .copied()
        .filter(|f| f.ends_with(".wsdl"))
        .collect();
    wsdl_files.sort();
    let mut listed: Vec<&str> = ENDPOINTS.iter().map(|e| e.wsdl).collect();
    listed.sort();
    assert_eq!(wsdl_files, listed, "one WSDL per endpoint");

    for ep in ENDPOINTS {
        let file = ep.wsdl;
        let m = wsdl_model(file);
        let root = &m.root;
        assert_eq!(
            m.target_namespace, ep.target_namespace,
            "{file}: targetNamespace"
        );

        // service -> port -> binding -> portType
        let services: Vec<&Element> = root.children_named(WSDL, "service").collect();
        assert_eq!(services.len(), 1, "{file}: one service");
        assert_eq!(
            services[0].attr("name"),
            Some(ep.service),
            "{file}: service name"
        );
        let ports: Vec<&Element> = services[0].children_named(WSDL, "port").collect();
        assert_eq!(ports.len(), 1, "{file}: one port");
        assert_eq!(ports[0].attr("name"), Some(ep.port), "{file}: port name");
        let address = ports[0]
            .children_named(SOAP12_WSDL, "address")
            .next()
            .and_then(|a| a.attr("location"))
            .unwrap_or_else(|| panic!("{file}: port without soap12:address"));
        assert_eq!(
            address,
            format!("http://localhost:8080{}", ep.path),
            "{file}: placeholder address (the server rewrites it)"
        );
        let binding_ref = ports[0]
            .qname(ports[0].attr("binding").expect("port binding"))
            .expect("QName");
        assert_eq!(
            binding_ref.0, m.target_namespace,
            "{file}: binding in this WSDL"
        );
        let bindings: Vec<&Element> = root.children_named(WSDL, "binding").collect();
        assert_eq!(bindings.len(), 1, "{file}: one binding");
        let binding = bindings[0];
        assert_eq!(
            binding.attr("name"),
            Some(binding_ref.1.as_str()),
            "{file}: port refers to the binding"
        );
        let port_type_ref = binding
            .qname(binding.attr("type").expect("binding type"))
            .expect("QName");
        let port_types: Vec<&Element> = root.children_named(WSDL, "portType").collect();
        assert_eq!(port_types.len(), 1, "{file}: one portType");
        let port_type = port_types[0];
        assert_eq!(
            port_type_ref.0, m.target_namespace,
            "{file}: portType in this WSDL"
        );
        assert_eq!(
            port_type.attr("name"),
            Some(port_type_ref.1.as_str()),
            "{file}: binding refers to the portType"
        );

        // SOAP 1.2, document/literal, WS-Addressing
        let soap_binding = binding
            .children_named(SOAP12_WSDL, "binding")
            .next()
            .unwrap_or_else(|| panic!("{file}: binding is not SOAP 1.2"));
        assert_eq!(
            soap_binding.attr("style"),
            Some("document"),
            "{file}: document style"
        );
        assert_eq!(
            soap_binding.attr("transport"),
            Some("http://schemas.xmlsoap.org/soap/http"),
            "{file}: HTTP transport"
        );
        assert!(
            binding
                .children_named(WSAW, "UsingAddressing")
                .next()
                .is_some(),
            "{file}: binding must declare wsaw:UsingAddressing"
        );

        // MTOM policy
        let policy_refs: Vec<&str> = binding
            .children_named(WSP, "PolicyReference")
            .map(|p| p.attr("URI").expect("PolicyReference/@URI"))
            .collect();
        let mut mtom_assertions = 0;
        root.walk(&mut |el| {
            if el.is(WSOMA, "OptimizedMimeSerialization") {
                mtom_assertions += 1;
            }
        });
        if ep.mtom {
            assert_eq!(
                policy_refs.len(),
                1,
                "{file}: the binding must reference the MTOM policy"
            );
            let id = policy_refs[0]
                .strip_prefix('#')
                .expect("local policy reference");
            let policy = root
                .children_named(WSP, "Policy")
                .find(|p| p.attr_in(WSU, "Id") == Some(id))
                .unwrap_or_else(|| panic!("{file}: no wsp:Policy with wsu:Id {id}"));
            assert!(
                policy
                    .children_named(WSOMA, "OptimizedMimeSerialization")
                    .next()
                    .is_some(),
                "{file}: policy {id} must assert wsoma:OptimizedMimeSerialization"
            );
        } else {
            assert!(
                policy_refs.is_empty() && mtom_assertions == 0,
                "{file}: this endpoint is not MTOM"
            );
        }

        // portType operations
        let names: BTreeSet<&str> = port_type
            .children_named(WSDL, "operation")
            .map(|o| o.attr("name").unwrap_or(""))
            .collect();
        let expected_names: BTreeSet<&str> = ep.operations.iter().map(|o| o.name).collect();
        assert_eq!(names, expected_names, "{file}: portType operations");
        for op in ep.operations {
            let el = port_type
                .children_named(WSDL, "operation")
                .find(|o| o.attr("name") == Some(op.name))
                .expect("operation present");
            for (dir, action, element) in [
                ("input", op.input_action, op.input),
                ("output", op.output_action, op.output),
            ] {
                let msg = el
                    .children_named(WSDL, dir)
                    .next()
                    .unwrap_or_else(|| panic!("{file}: {} has no {dir}", op.name));
                assert_eq!(
                    msg.attr_in(WSAW, "Action"),
                    Some(action),
                    "{file}: {} {dir} wsaw:Action",
                    op.name
                );
                assert_eq!(
                    msg.attr_in(WSAM, "Action"),
                    Some(action),
                    "{file}: {} {dir} wsam:Action",
                    op.name
                );
                let message = msg
                    .qname(msg.attr("message").expect("message"))
                    .expect("QName");
                let body = m.body_element(file, &message);
                assert_eq!(
                    (body.0.as_str(), body.1.as_str()),
                    element,
                    "{file}: {} {dir} body element",
                    op.name
                );
            }
            assert!(
                el.children_named(WSDL, "fault").next().is_none(),
                "{file}: {}: errors are SOAP faults or RegistryResponse, no WSDL faults",
                op.name
            );
        }

        // binding operations
        let bound: BTreeSet<&str> = binding
            .children_named(WSDL, "operation")
            .map(|o| o.attr("name").unwrap_or(""))
            .collect();
        assert_eq!(bound, expected_names, "{file}: binding operations");
        for op in ep.operations {
            let el = binding
                .children_named(WSDL, "operation")
                .find(|o| o.attr("name") == Some(op.name))
                .expect("bound operation");
            let soap_op = el
                .children_named(SOAP12_WSDL, "operation")
                .next()
                .unwrap_or_else(|| panic!("{file}: {} has no soap12:operation", op.name));
            assert_eq!(
                soap_op.attr("soapAction"),
                Some(op.input_action),
                "{file}: {} soapAction",
                op.name
            );
            for dir in ["input", "output"] {
                let use_ = el
                    .children_named(WSDL, dir)
                    .next()
                    .and_then(|d| d.children_named(SOAP12_WSDL, "body").next())
                    .and_then(|b| b.attr("use"));
                assert_eq!(
                    use_,
                    Some("literal"),
                    "{file}: {} {dir} soap12:body use",
                    op.name
                );
            }
        }
    }

    // RAD-68 has no operation of its own: the ITI-41 operation documents it.
    let repo_wsdl = read(&schema("XDS.b_DocumentRepository.wsdl"));
    assert!(
        repo_wsdl.contains("RAD-68"),
        "the repository WSDL must document RAD-68"
    );
}

#[test]
fn every_wsdl_message_part_is_declared_in_ours_and_in_the_official_schemas() {
    let ours = global_elements(&our_xsds());
    let official_xds: Vec<PathBuf> = [
        "xds/ebRS/rim.xsd",
        "xds/ebRS/rs.xsd",
        "xds/ebRS/lcm.xsd",
        "xds/ebRS/query.xsd",
        "xds/ebRS/cms.xsd",
        "xds/IHE/XDS.b_DocumentRepository.xsd",
        "xds/IHE/XDSI.b_ImagingDocumentSource.xsd",
    ]
    .iter()
    .map(|f| official(f))
    .collect();
    let theirs = global_elements(&official_xds);
    assert!(
        !theirs.keys().any(|k| k.starts_with(&format!("{{{DIAG}}}"))),
        "the diagnostics namespace must be ours alone"
    );

    let mut checked = 0;
    for ep in ENDPOINTS {
        let m = wsdl_model(ep.wsdl);
        // what the WSDL's types section makes reachable
        let mut starts = Vec::new();
        for types in m.root.children_named(WSDL, "types") {
            for s in types.children_named(XSD, "schema") {
                starts.extend(schema_locations(s));
            }
        }
        let reachable = import_closure(&starts);

        for (name, parts) in &m.messages {
            for (_, element) in parts {
                let (ns, local) = element
                    .clone()
                    .unwrap_or_else(|| panic!("{}: message {name} has no element", ep.wsdl));
                let key = format!("{{{ns}}}{local}");
                let file = ours.get(&key).unwrap_or_else(|| {
                    panic!(
                        "{}: message {name}: {key} is declared in none of our schemas",
                        ep.wsdl
                    )
                });
                let file_name = file
                    .file_name()
                    .expect("file name")
                    .to_string_lossy()
                    .into_owned();
                assert!(
                    reachable.contains(&file_name),
                    "{}: message {name}: {key} is declared in {file_name}, which the WSDL does not import",
                    ep.wsdl
                );
                match ns.as_str() {
                    DIAG => {} // hiehub's own Echo; no official counterpart
                    HL7 if HL7_NOT_IN_OFFICIAL_SET.contains(&local.as_str()) => {
                        assert!(
                            !official_hl7(&local).exists(),
                            "{local} is now in schemas-official"
                        );
                    }
                    HL7 => {
                        let file = official_hl7(&local);
                        assert!(
                            file.is_file(),
                            "{}: no official schema for {local}",
                            ep.wsdl
                        );
                        assert!(
                            global_elements(&[file]).contains_key(&key),
                            "{}: {key} is not declared by its official schema",
                            ep.wsdl
                        );
                    }
                    _ => assert!(
                        theirs.contains_key(&key),
                        "{}: message {name}: {key} is declared in none of the official XDS schemas",
                        ep.wsdl
                    ),
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "only {checked} message parts checked");
}

#[test]
fn fixtures_get_the_expected_verdict_from_ours_and_from_the_official_schemas() {
    let dir = tempdir();
    let mut problems = Vec::new();
    for (i, f) in FIXTURES.iter().enumerate() {
        let body = dir.path().join(format!("fixture{i:02}.xml"));
        prepare_body(&fixture(f.path), &body);
        let root = parse_file(&body);
        let (ours, theirs) = schemas_for(&root);
        let a = validate_one(&ours, &body);
        let b = validate_one(&theirs, &body);
        let expected = if f.valid { "valid" } else { "invalid" };
        if a.valid != f.valid {
            problems.push(format!(
                "{}: ours says {}, expected {expected}: {:?}",
                f.path,
                verdict_word(&a),
                a.first_error
            ));
        }
        if b.valid != f.valid {
            problems.push(format!(
                "{}: official says {}, expected {expected}: {:?}",
                f.path,
                verdict_word(&b),
                b.first_error
            ));
        }
        if let Some(element) = f.error_element {
            let needle = format!("Element '{element}'");
            for (who, v) in [("ours", &a), ("official", &b)] {
                match &v.first_error {
                    Some(e) if e.message.contains(&needle) && e.message.contains("This element is not expected") => {}
                    other => problems.push(format!("{}: {who}: first error should name {element} as out of place, got {other:?}", f.path)),
                }
            }
            if let (Some(x), Some(y)) = (&a.first_error, &b.first_error)
                && (x.line, x.head()) != (y.line, y.head())
            {
                problems.push(format!(
                    "{}: first errors differ\n    ours:     {x:?}\n    official: {y:?}",
                    f.path
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn verdict_word(v: &Verdict) -> &'static str {
    if v.valid { "valid" } else { "invalid" }
}

#[test]
fn structural_variants_of_fixtures_get_the_same_verdict_from_ours_and_from_the_official_schemas() {
    let dir = tempdir();
    let mut problems = Vec::new();
    let (mut total, mut invalid) = (0usize, 0usize);
    let mut sources: Vec<(String, PathBuf)> = Vec::new();
    for (i, rel) in MUTATED_FIXTURES.iter().enumerate() {
        let body = dir.path().join(format!("body{i:02}.xml"));
        prepare_body(&fixture(rel), &body);
        sources.push((rel.to_string(), body));
    }
    for (i, (label, xml)) in HL7_SAMPLES.iter().enumerate() {
        let body = dir.path().join(format!("sample{i:02}.xml"));
        fs::write(&body, xml).expect("write sample");
        sources.push((label.to_string(), body));
    }
    for (i, (rel, body)) in sources.iter().enumerate() {
        let root = parse_file(body);
        let (ours, theirs) = schemas_for(&root);
        for (who, schema) in [("official", &theirs), ("ours", &ours)] {
            let v = validate_one(schema, body);
            assert!(
                v.valid,
                "{rel} is not valid to start with ({who}): {:?}",
                v.first_error
            );
        }
        // hiehub's HL7v3 schema leaves the payload to the codec: vary the wrapper only.
        let (keep_inside, opaque): (&[&str], &[&str]) = if root.ns == HL7 {
            (&["controlActProcess"], HL7_OPEN_HEADER_PARTS)
        } else {
            (&[], &[])
        };
        let variants = mutants(
            body,
            &dir.path().join(format!("variants{i:02}")),
            keep_inside,
            opaque,
        );
        assert!(
            variants.len() >= 10,
            "{rel}: only {} variants",
            variants.len()
        );
        let files: Vec<PathBuf> = variants.iter().map(|v| v.0.clone()).collect();
        let a = validate(&ours, &files);
        let b = validate(&theirs, &files);
        for ((variant, what), (x, y)) in variants.iter().zip(a.iter().zip(b.iter())) {
            total += 1;
            if !y.valid {
                invalid += 1;
            }
            let same = x.valid == y.valid
                && match (&x.first_error, &y.first_error) {
                    (Some(e1), Some(e2)) => e1.line == e2.line && e1.head() == e2.head(),
                    (None, None) => true,
                    _ => false,
                };
            if !same {
                problems.push(format!(
                    "{rel}: {what} ({})\n    ours:     {} {:?}\n    official: {} {:?}",
                    variant.display(),
                    verdict_word(x),
                    x.first_error,
                    verdict_word(y),
                    y.first_error
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {total} variants get different verdicts:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The comparison has teeth only if the variants include both outcomes in numbers.
    assert!(
        invalid * 4 >= total,
        "only {invalid} of {total} variants are invalid"
    );
    assert!(
        (total - invalid) * 10 >= total,
        "only {} of {total} variants are valid",
        total - invalid
    );
}

#[test]
fn echo_messages_validate() {
    let dir = tempdir();
    let xsd = schema("hiehub-diagnostics.xsd");
    let cases: &[(&str, bool)] = &[
        (
            r#"<EchoRequest xmlns="urn:hiehub:diagnostics:2026"><Text>ping</Text></EchoRequest>"#,
            true,
        ),
        (
            r#"<d:EchoRequest xmlns:d="urn:hiehub:diagnostics:2026"/>"#,
            true,
        ),
        (
            r#"<EchoResponse xmlns="urn:hiehub:diagnostics:2026"><Text>ping</Text></EchoResponse>"#,
            true,
        ),
        (
            r#"<EchoResponse xmlns="urn:hiehub:diagnostics:2026"></EchoResponse>"#,
            true,
        ),
        (
            r#"<EchoRequest xmlns="urn:hiehub:diagnostics:2026"><Text>a</Text><Text>b</Text></EchoRequest>"#,
            false,
        ),
        (
            r#"<EchoRequest xmlns="urn:hiehub:diagnostics:2026"><Other/></EchoRequest>"#,
            false,
        ),
        (
            r#"<EchoRequest xmlns="urn:hiehub:diagnostics:2026"><Text><b>x</b></Text></EchoRequest>"#,
            false,
        ),
        (r#"<EchoRequest><Text>ping</Text></EchoRequest>"#, false),
        (r#"<Echo xmlns="urn:hiehub:diagnostics:2026"/>"#, false),
    ];
    let files: Vec<PathBuf> = cases
        .iter()
        .enumerate()
        .map(|(i, (doc, _))| {
            let f = dir.path().join(format!("echo{i}.xml"));
            fs::write(&f, doc).expect("write");
            f
        })
        .collect();
    for ((doc, valid), v) in cases.iter().zip(validate(&xsd, &files)) {
        assert_eq!(v.valid, *valid, "{doc}: {:?}", v.first_error);
    }
}

#[test]
fn zeep_loads_every_wsdl_and_sees_the_listed_operations() {
    let args: Vec<OsString> = ENDPOINTS
        .iter()
        .map(|e| schema(e.wsdl).into_os_string())
        .collect();
    let rows = zeep(&args);
    for ep in ENDPOINTS {
        let wsdl = schema(ep.wsdl).to_string_lossy().into_owned();
        let mine: Vec<&json::Value> = rows
            .iter()
            .filter(|r| r.str("wsdl") == Some(wsdl.as_str()))
            .collect();
        assert_eq!(
            mine.len(),
            ep.operations.len(),
            "{}: zeep sees {} operations",
            ep.wsdl,
            mine.len()
        );
        for op in ep.operations {
            let row = mine
                .iter()
                .find(|r| r.str("operation") == Some(op.name))
                .unwrap_or_else(|| panic!("{}: zeep does not see operation {}", ep.wsdl, op.name));
            assert_eq!(
                row.str("service"),
                Some(ep.service),
                "{}: {}",
                ep.wsdl,
                op.name
            );
            assert_eq!(row.str("port"), Some(ep.port), "{}: {}", ep.wsdl, op.name);
            assert_eq!(
                row.str("input_action"),
                Some(op.input_action),
                "{}: {} input action",
                ep.wsdl,
                op.name
            );
            assert_eq!(
                row.str("soap_action"),
                Some(op.input_action),
                "{}: {} soapAction",
                ep.wsdl,
                op.name
            );
            let input = format!("{{{}}}{}", op.input.0, op.input.1);
            let output = format!("{{{}}}{}", op.output.0, op.output.1);
            assert_eq!(
                row.str("input_element"),
                Some(input.as_str()),
                "{}: {} input",
                ep.wsdl,
                op.name
            );
            assert_eq!(
                row.str("output_element"),
                Some(output.as_str()),
                "{}: {} output",
                ep.wsdl,
                op.name
            );
            let address = format!("http://localhost:8080{}", ep.path);
            assert_eq!(
                row.str("address"),
                Some(address.as_str()),
                "{}: address",
                ep.wsdl
            );
        }
    }
}

#[test]
fn zeep_echo_request_is_valid_soap12_with_ws_addressing() {
    let mut args: Vec<OsString> = vec!["--echo-envelope".into()];
    args.extend(ENDPOINTS.iter().map(|e| schema(e.wsdl).into_os_string()));
    let rows = zeep(&args);
    assert_eq!(rows.len(), ENDPOINTS.len(), "one Echo envelope per WSDL");
    let dir = tempdir();
    // The official SOAP 1.2 envelope schema imports "xml.xsd" from its own folder, which
    // schemas-official/soap/ lacks: validate with a copy beside the official xml.xsd.
    let soap_envelope_schema = dir.path().join("soap-1.2-envelope.xsd");
    fs::copy(
        official("soap/soap-1.2-envelope.xsd"),
        &soap_envelope_schema,
    )
    .expect("copy");
    fs::copy(official("xds/xml.xsd"), dir.path().join("xml.xsd")).expect("copy");
    for (i, ep) in ENDPOINTS.iter().enumerate() {
        let wsdl = schema(ep.wsdl).to_string_lossy().into_owned();
        let row = rows
            .iter()
            .find(|r| r.str("wsdl") == Some(wsdl.as_str()))
            .unwrap_or_else(|| panic!("no Echo envelope for {}", ep.wsdl));
        let envelope_xml = row.str("envelope").expect("envelope");
        let envelope = dir.path().join(format!("echo-envelope{i}.xml"));
        fs::write(&envelope, envelope_xml).expect("write");

        let soap = validate_one(&soap_envelope_schema, &envelope);
        assert!(
            soap.valid,
            "{}: zeep's Echo envelope is not SOAP 1.2: {:?}",
            ep.wsdl, soap.first_error
        );
        let body = dir.path().join(format!("echo-body{i}.xml"));
        prepare_body(&envelope, &body);
        let v = validate_one(&schema("hiehub-diagnostics.xsd"), &body);
        assert!(
            v.valid,
            "{}: zeep's EchoRequest does not validate: {:?}",
            ep.wsdl, v.first_error
        );

        let root = xml::parse(envelope_xml).expect("envelope XML");
        assert!(
            root.is(SOAP12_ENV, "Envelope"),
            "{}: not a SOAP 1.2 envelope",
            ep.wsdl
        );
        let header = root
            .children_named(SOAP12_ENV, "Header")
            .next()
            .expect("SOAP Header");
        let header_text = |local: &str| -> Vec<String> {
            header
                .children_named(WSA, local)
                .map(|e| e.text.trim().to_string())
                .collect()
        };
        assert_eq!(
            header_text("Action"),
            vec!["urn:hiehub:2026:Echo".to_string()],
            "{}: wsa:Action",
            ep.wsdl
        );
        assert_eq!(
            header_text("To"),
            vec![format!("http://localhost:8080{}", ep.path)],
            "{}: wsa:To",
            ep.wsdl
        );
        let ids = header_text("MessageID");
        assert!(
            ids.len() == 1 && ids[0].starts_with("urn:uuid:"),
            "{}: wsa:MessageID {ids:?}",
            ep.wsdl
        );
    }
}

// ------------------------------------------------------------------------------------------------
// A small namespace-aware XML reader, enough for schema files, WSDLs and fixture roots
// (no DTDs; the five predefined entities and character references).

mod xml {
    use std::collections::BTreeMap;

    const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

    #[derive(Debug, Clone)]
    pub struct Attr {
        pub ns: String,
        pub local: String,
        pub value: String,
    }

    #[derive(Debug, Clone)]
    pub struct Element {
        pub ns: String,
        pub local: String,
        pub attrs: Vec<Attr>,
        /// In-scope namespace bindings, "" for the default namespace.
        pub scope: BTreeMap<String, String>,
        pub children: Vec<Element>,
        /// The element's own character data (not its descendants').
        pub text: String,
        pub line: usize,
    }

    impl Element {
        pub fn is(&self, ns: &str, local: &str) -> bool {
            self.ns == ns && self.local == local
        }

        /// An attribute without namespace.
        pub fn attr(&self, local: &str) -> Option<&str> {
            self.attr_in("", local)
        }

        pub fn attr_in(&self, ns: &str, local: &str) -> Option<&str> {
            self.attrs
                .iter()
                .find(|a| a.ns == ns && a.local == local)
                .map(|a| a.value.as_str())
        }

        /// Resolve a QName-valued attribute (an unprefixed name takes the default namespace).
        pub fn qname(&self, value: &str) -> Result<(String, String), String> {
            let value = value.trim();
            let (prefix, local) = match value.split_once(':') {
                Some((p, l)) => (p, l),
                None => ("", value),
            };
            match self.scope.get(prefix) {
                Some(ns) => Ok((ns.clone(), local.to_string())),
                None if prefix.is_empty() => Ok((String::new(), local.to_string())),
                None => Err(format!(
                    "line {}: undeclared prefix in {value:?}",
                    self.line
                )),
            }
        }

        pub fn children_named<'a>(
            &'a self,
            ns: &'a str,
            local: &'a str,
        ) -> impl Iterator<Item = &'a Element> + 'a {
            self.children.iter().filter(move |c| c.is(ns, local))
        }

        /// This element and its descendants, in document order.
        pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Element)) {
            f(self);
            for c in &self.children {
                c.walk(f);
            }
        }
    }

    struct Open {
        raw: String,
        el: Element,
    }

    pub fn parse(src: &str) -> Result<Element, String> {
        let b = src.as_bytes();
        let mut i = 0;
        let mut line = 1;
        let mut stack: Vec<Open> = Vec::new();
        let mut root: Option<Element> = None;
        let find = |from: usize, pat: &str| -> Result<usize, String> {
            src[from..]
                .find(pat)
                .map(|p| from + p)
                .ok_or_else(|| format!("unterminated markup, missing {pat:?}"))
        };
        while i < b.len() {
            if b[i] == b'<' {
                let start_line = line;
                let end;
                if src[i..].starts_with("<?") {
                    end = find(i, "?>")? + 2;
                } else if src[i..].starts_with("<!--") {
                    end = find(i + 4, "-->")? + 3;
                } else if src[i..].starts_with("<![CDATA[") {
                    let close = find(i + 9, "]]>")?;
                    if let Some(top) = stack.last_mut() {
                        top.el.text.push_str(&src[i + 9..close]);
                    }
                    end = close + 3;
                } else if src[i..].starts_with("<!") {
                    return Err(format!("line {line}: DTDs are not supported"));
                } else if src[i..].starts_with("</") {
                    end = find(i, ">")? + 1;
                    let name = src[i + 2..end - 1].trim();
                    let open = stack
                        .pop()
                        .ok_or_else(|| format!("line {line}: stray </{name}>"))?;
                    if open.raw != name {
                        return Err(format!("line {line}: </{name}> closes <{}>", open.raw));
                    }
                    close(open.el, &mut stack, &mut root)?;
                } else {
                    end = tag_end(src, i)?;
                    let self_closing = b[end - 2] == b'/';
                    let inner = &src[i + 1..end - if self_closing { 2 } else { 1 }];
                    let parent_scope =
                        stack.last().map(|o| o.el.scope.clone()).unwrap_or_else(|| {
                            let mut s = BTreeMap::new();
                            s.insert("xml".to_string(), XML_NS.to_string());
                            s
                        });
                    let open = start_tag(inner, parent_scope, start_line)?;
                    if self_closing {
                        close(open.el, &mut stack, &mut root)?;
                    } else {
                        stack.push(open);
                    }
                }
                line += src[i..end].matches('\n').count();
                i = end;
            } else {
                let end = src[i..].find('<').map(|p| i + p).unwrap_or(b.len());
                let chunk = &src[i..end];
                match stack.last_mut() {
                    Some(top) => top.el.text.push_str(&unescape(chunk)?),
                    None if chunk.trim().is_empty() => {}
                    None => return Err(format!("line {line}: text outside the root element")),
                }
                line += chunk.matches('\n').count();
                i = end;
            }
        }
        if let Some(open) = stack.last() {
            return Err(format!("<{}> is not closed", open.raw));
        }
        root.ok_or_else(|| "no root element".to_string())
    }

    fn close(el: Element, stack: &mut [Open], root: &mut Option<Element>) -> Result<(), String> {
        match stack.last_mut() {
            Some(parent) => parent.el.children.push(el),
            None if root.is_none() => *root = Some(el),
            None => return Err("more than one root element".to_string()),
        }
        Ok(())
    }

    /// Index just past the '>' that ends the tag starting at `i` (quotes respected).
    fn tag_end(src: &str, i: usize) -> Result<usize, String> {
        let mut quote = None;
        for (off, c) in src[i..].char_indices() {
            match (quote, c) {
                (None, '"') | (None, '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '>') => return Ok(i + off + 1),
                _ => {}
            }
        }
        Err("unterminated tag".to_string())
    }

    fn start_tag(
        inner: &str,
        mut scope: BTreeMap<String, String>,
        line: usize,
    ) -> Result<Open, String> {
        let inner = inner.trim();
        let name_end = inner
            .find(|c: char| c.is_whitespace())
            .unwrap_or(inner.len());
        let raw = inner[..name_end].to_string();
        let mut rest = &inner[name_end..];
        let mut raw_attrs = Vec::new();
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            let eq = rest
                .find('=')
                .ok_or_else(|| format!("line {line}: attribute without value in <{raw}>"))?;
            let name = rest[..eq].trim().to_string();
            let after = rest[eq + 1..].trim_start();
            let q = after
                .chars()
                .next()
                .ok_or_else(|| format!("line {line}: bad attribute {name}"))?;
            if q != '"' && q != '\'' {
                return Err(format!("line {line}: unquoted attribute {name}"));
            }
            let close = after[1..]
                .find(q)
                .ok_or_else(|| format!("line {line}: unterminated attribute {name}"))?;
            let value = unescape(&after[1..1 + close])?.replace(['\t', '\n', '\r'], " ");
            raw_attrs.push((name, value));
            rest = &after[close + 2..];
        }
        for (name, value) in &raw_attrs {
            if name == "xmlns" {
                scope.insert(String::new(), value.clone());
            } else if let Some(prefix) = name.strip_prefix("xmlns:") {
                scope.insert(prefix.to_string(), value.clone());
            }
        }
        let resolve = |qname: &str, is_attr: bool| -> Result<(String, String), String> {
            match qname.split_once(':') {
                Some((p, l)) => scope
                    .get(p)
                    .map(|ns| (ns.clone(), l.to_string()))
                    .ok_or_else(|| format!("line {line}: undeclared prefix {p:?}")),
                None if is_attr => Ok((String::new(), qname.to_string())),
                None => Ok((
                    scope.get("").cloned().unwrap_or_default(),
                    qname.to_string(),
                )),
            }
        };
        let (ns, local) = resolve(&raw, false)?;
        let mut attrs = Vec::new();
        for (name, value) in raw_attrs {
            if name == "xmlns" || name.starts_with("xmlns:") {
                continue;
            }
            let (ans, alocal) = resolve(&name, true)?;
            attrs.push(Attr {
                ns: ans,
                local: alocal,
                value,
            });
        }
        Ok(Open {
            raw,
            el: Element {
                ns,
                local,
                attrs,
                scope,
                children: Vec::new(),
                text: String::new(),
                line,
            },
        })
    }

    fn unescape(s: &str) -> Result<String, String> {
        if !s.contains('&') {
            return Ok(s.to_string());
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let semi = rest[amp..].find(';').ok_or("bare '&'")? + amp;
            let entity = &rest[amp + 1..semi];
            let c = match entity {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                _ if entity.starts_with("#x") => u32::from_str_radix(&entity[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or(format!("bad character reference &{entity};"))?,
                _ if entity.starts_with('#') => entity[1..]
                    .parse::<u32>()
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or(format!("bad character reference &{entity};"))?,
                _ => return Err(format!("unknown entity &{entity};")),
            };
            out.push(c);
            rest = &rest[semi + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

// ------------------------------------------------------------------------------------------------
// Canonical descriptions of XML Schema components, to compare two schema files that are
// written differently but must declare the same things. Annotations and the order of
// attributes are ignored; content models are normalised (a sequence holding one particle takes
// its occurrence bounds; an optional sequence whose content is optional anyway is the same as a
// required one; nested plain sequences are flattened).

mod sig {
    use super::XSD;
    use super::xml::Element;
    use std::collections::BTreeMap;

    struct Ctx {
        tns: String,
        qualified: bool,
    }

    /// `"<kind> {ns}name"` -> canonical description, for every top-level component.
    pub fn components(schema: &Element) -> BTreeMap<String, String> {
        let ctx = Ctx {
            tns: schema.attr("targetNamespace").unwrap_or("").to_string(),
            qualified: schema.attr("elementFormDefault") == Some("qualified"),
        };
        let mut out = BTreeMap::new();
        for c in &schema.children {
            if c.ns != XSD {
                continue;
            }
            let Some(name) = c.attr("name") else { continue };
            let key = format!("{} {{{}}}{}", c.local, ctx.tns, name);
            let value = match c.local.as_str() {
                "element" => element(&ctx, c, true),
                "complexType" => complex_type(&ctx, c),
                "simpleType" => simple_type(c),
                "attribute" => attribute(c),
                "group" => particle(&ctx, c).map(|p| render(&p)).unwrap_or_default(),
                "attributeGroup" => attributes(c),
                _ => continue,
            };
            out.insert(key, value);
        }
        out
    }

    fn q(el: &Element, value: &str) -> String {
        match el.qname(value) {
            Ok((ns, local)) => format!("{{{ns}}}{local}"),
            Err(e) => panic!("{e}"),
        }
    }

    /// Namespaced (non-schema) attributes such as xmime:expectedContentTypes.
    fn foreign(el: &Element) -> String {
        let mut v: Vec<String> = el
            .attrs
            .iter()
            .filter(|a| !a.ns.is_empty() && a.ns != XSD)
            .map(|a| format!("{{{}}}{}={}", a.ns, a.local, a.value))
            .collect();
        v.sort();
        v.join(" ")
    }

    fn element(ctx: &Ctx, el: &Element, top: bool) -> String {
        let mut s = String::new();
        if let Some(r) = el.attr("ref") {
            s.push_str(&format!("ref={}", q(el, r)));
        } else {
            let name = el.attr("name").unwrap_or("");
            let qualified = top
                || el
                    .attr("form")
                    .map(|f| f == "qualified")
                    .unwrap_or(ctx.qualified);
            let ns = if qualified { ctx.tns.as_str() } else { "" };
            s.push_str(&format!("name={{{ns}}}{name}"));
            let ty = if let Some(t) = el.attr("type") {
                q(el, t)
            } else if let Some(ct) = el.children_named(XSD, "complexType").next() {
                format!("[{}]", complex_type(ctx, ct))
            } else if let Some(st) = el.children_named(XSD, "simpleType").next() {
                format!("[{}]", simple_type(st))
            } else {
                "anyType".to_string()
            };
            s.push_str(&format!(" type={ty}"));
        }
        for (a, default) in [("nillable", "false"), ("abstract", "false")] {
            let v = el.attr(a).unwrap_or(default);
            if v != default {
                s.push_str(&format!(" {a}={v}"));
            }
        }
        if let Some(g) = el.attr("substitutionGroup") {
            s.push_str(&format!(" substitutionGroup={}", q(el, g)));
        }
        for a in ["default", "fixed", "block", "final"] {
            if let Some(v) = el.attr(a) {
                s.push_str(&format!(" {a}={v}"));
            }
        }
        let f = foreign(el);
        if !f.is_empty() {
            s.push_str(&format!(" {f}"));
        }
        s
    }

    fn complex_type(ctx: &Ctx, ct: &Element) -> String {
        let mut s = String::new();
        let mut mixed = ct.attr("mixed") == Some("true");
        if ct.attr("abstract") == Some("true") {
            s.push_str("abstract ");
        }
        let mut body = ct;
        let mut derivation = String::new();
        if let Some(cc) = ct.children_named(XSD, "complexContent").next() {
            mixed |= cc.attr("mixed") == Some("true");
            let d = cc
                .children
                .iter()
                .find(|c| c.ns == XSD && (c.local == "extension" || c.local == "restriction"))
                .expect("complexContent derivation");
            derivation = format!(
                "complex-{} of {} ",
                d.local,
                q(d, d.attr("base").expect("base"))
            );
            body = d;
        } else if let Some(sc) = ct.children_named(XSD, "simpleContent").next() {
            let d = sc
                .children
                .iter()
                .find(|c| c.ns == XSD && (c.local == "extension" || c.local == "restriction"))
                .expect("simpleContent derivation");
            derivation = format!(
                "simple-{} of {} {}",
                d.local,
                q(d, d.attr("base").expect("base")),
                facets(d)
            );
            body = d;
        }
        if mixed {
            s.push_str("mixed ");
        }
        s.push_str(&derivation);
        let content = particle(ctx, body)
            .map(|p| render(&p))
            .unwrap_or_else(|| "empty".to_string());
        s.push_str(&format!(
            "content={content} attributes={}",
            attributes(body)
        ));
        s
    }

    #[derive(Clone, Debug, PartialEq)]
    enum P {
        Element(String, u64, Option<u64>),
        Any(String, u64, Option<u64>),
        Group(String, u64, Option<u64>),
        Sequence(Vec<P>, u64, Option<u64>),
        Choice(Vec<P>, u64, Option<u64>),
        All(Vec<P>, u64, Option<u64>),
    }

    impl P {
        fn bounds(&self) -> (u64, Option<u64>) {
            match self {
                P::Element(_, a, b) | P::Any(_, a, b) | P::Group(_, a, b) => (*a, *b),
                P::Sequence(_, a, b) | P::Choice(_, a, b) | P::All(_, a, b) => (*a, *b),
            }
        }
        fn with_bounds(self, min: u64, max: Option<u64>) -> P {
            match self {
                P::Element(x, ..) => P::Element(x, min, max),
                P::Any(x, ..) => P::Any(x, min, max),
                P::Group(x, ..) => P::Group(x, min, max),
                P::Sequence(x, ..) => P::Sequence(x, min, max),
                P::Choice(x, ..) => P::Choice(x, min, max),
                P::All(x, ..) => P::All(x, min, max),
            }
        }
        fn emptiable(&self) -> bool {
            match self {
                P::Sequence(v, min, _) | P::All(v, min, _) => {
                    *min == 0 || v.iter().all(P::emptiable)
                }
                P::Choice(v, min, _) => *min == 0 || v.iter().any(P::emptiable),
                other => other.bounds().0 == 0,
            }
        }
    }

    fn bounds(el: &Element) -> (u64, Option<u64>) {
        let min = el
            .attr("minOccurs")
            .map(|v| v.parse().expect("minOccurs"))
            .unwrap_or(1);
        let max = match el.attr("maxOccurs") {
            Some("unbounded") => None,
            Some(v) => Some(v.parse().expect("maxOccurs")),
            None => Some(1),
        };
        (min, max)
    }

    fn mul(a: Option<u64>, b: Option<u64>) -> Option<u64> {
        Some(a? * b?)
    }

    /// The content model of a complex type (or group), normalised.
    fn particle(ctx: &Ctx, owner: &Element) -> Option<P> {
        owner
            .children
            .iter()
            .find(|c| {
                c.ns == XSD && matches!(c.local.as_str(), "sequence" | "choice" | "all" | "group")
            })
            .and_then(|c| one(ctx, c))
    }

    fn one(ctx: &Ctx, el: &Element) -> Option<P> {
        let (min, max) = bounds(el);
        let kids = |ctx: &Ctx| -> Vec<P> {
            el.children
                .iter()
                .filter(|c| c.ns == XSD)
                .filter_map(|c| one(ctx, c))
                .collect()
        };
        let p = match el.local.as_str() {
            "element" => P::Element(element(ctx, el, false), min, max),
            "any" => P::Any(
                format!(
                    "any ns={} process={}",
                    el.attr("namespace").unwrap_or("##any"),
                    el.attr("processContents").unwrap_or("strict")
                ),
                min,
                max,
            ),
            "group" => match el.attr("ref") {
                Some(r) => P::Group(q(el, r), min, max),
                None => return particle(ctx, el),
            },
            "sequence" => {
                let mut flat = Vec::new();
                for k in kids(ctx) {
                    match k {
                        P::Sequence(inner, 1, Some(1)) => flat.extend(inner),
                        other => flat.push(other),
                    }
                }
                P::Sequence(flat, min, max)
            }
            "choice" => P::Choice(kids(ctx), min, max),
            "all" => P::All(kids(ctx), min, max),
            _ => return None,
        };
        Some(normalise(p))
    }

    fn normalise(p: P) -> P {
        let (min, max) = p.bounds();
        match p {
            P::Sequence(v, ..) | P::Choice(v, ..) if v.len() == 1 => {
                let child = v.into_iter().next().expect("one child");
                let (cmin, cmax) = child.bounds();
                child.with_bounds(min * cmin, mul(max, cmax))
            }
            P::Sequence(v, 0, Some(1)) if v.iter().all(P::emptiable) => P::Sequence(v, 1, Some(1)),
            other => other,
        }
    }

    fn render(p: &P) -> String {
        let occ = |min: u64, max: Option<u64>| match (min, max) {
            (1, Some(1)) => String::new(),
            (a, Some(b)) => format!("{{{a},{b}}}"),
            (a, None) => format!("{{{a},*}}"),
        };
        let list = |v: &Vec<P>| v.iter().map(render).collect::<Vec<_>>().join(", ");
        match p {
            P::Element(s, a, b) => format!("<{s}>{}", occ(*a, *b)),
            P::Any(s, a, b) => format!("<{s}>{}", occ(*a, *b)),
            P::Group(s, a, b) => format!("group({s}){}", occ(*a, *b)),
            P::Sequence(v, a, b) => format!("seq({}){}", list(v), occ(*a, *b)),
            P::Choice(v, a, b) => format!("choice({}){}", list(v), occ(*a, *b)),
            P::All(v, a, b) => format!("all({}){}", list(v), occ(*a, *b)),
        }
    }

    fn attribute(a: &Element) -> String {
        let mut s = match (a.attr("ref"), a.attr("name")) {
            (Some(r), _) => format!("ref={}", q(a, r)),
            (None, Some(n)) => format!("name={n}"),
            _ => panic!("line {}: attribute without name or ref", a.line),
        };
        if let Some(t) = a.attr("type") {
            s.push_str(&format!(" type={}", q(a, t)));
        } else if let Some(st) = a.children_named(XSD, "simpleType").next() {
            s.push_str(&format!(" type=[{}]", simple_type(st)));
        }
        s.push_str(&format!(" use={}", a.attr("use").unwrap_or("optional")));
        for k in ["default", "fixed", "form"] {
            if let Some(v) = a.attr(k) {
                s.push_str(&format!(" {k}={v}"));
            }
        }
        s
    }

    /// Attribute uses of a type, derivation or attribute group, order-independent.
    fn attributes(owner: &Element) -> String {
        let mut v: Vec<String> = Vec::new();
        for c in owner.children.iter().filter(|c| c.ns == XSD) {
            match c.local.as_str() {
                "attribute" => v.push(attribute(c)),
                "attributeGroup" => v.push(format!("group={}", q(c, c.attr("ref").unwrap_or("")))),
                "anyAttribute" => v.push(format!(
                    "anyAttribute ns={} process={}",
                    c.attr("namespace").unwrap_or("##any"),
                    c.attr("processContents").unwrap_or("strict")
                )),
                _ => {}
            }
        }
        v.sort();
        format!("[{}]", v.join("; "))
    }

    fn facets(d: &Element) -> String {
        let mut v: Vec<String> = d
            .children
            .iter()
            .filter(|c| {
                c.ns == XSD
                    && c.local != "annotation"
                    && c.local != "attribute"
                    && c.local != "attributeGroup"
                    && c.local != "anyAttribute"
                    && c.local != "simpleType"
            })
            .map(|c| format!("{}={}", c.local, c.attr("value").unwrap_or("")))
            .collect();
        v.sort();
        v.join(" ")
    }

    fn simple_type(st: &Element) -> String {
        for c in st.children.iter().filter(|c| c.ns == XSD) {
            match c.local.as_str() {
                "restriction" => {
                    let base = match c.attr("base") {
                        Some(b) => q(c, b),
                        None => c
                            .children_named(XSD, "simpleType")
                            .next()
                            .map(|s| format!("[{}]", simple_type(s)))
                            .unwrap_or_default(),
                    };
                    return format!("restriction of {base} {}", facets(c));
                }
                "list" => {
                    let item = match c.attr("itemType") {
                        Some(t) => q(c, t),
                        None => c
                            .children_named(XSD, "simpleType")
                            .next()
                            .map(simple_type)
                            .unwrap_or_default(),
                    };
                    return format!("list of {item}");
                }
                "union" => {
                    let mut members: Vec<String> = c
                        .attr("memberTypes")
                        .unwrap_or("")
                        .split_whitespace()
                        .map(|m| q(c, m))
                        .collect();
                    members.extend(
                        c.children_named(XSD, "simpleType")
                            .map(|s| format!("[{}]", simple_type(s))),
                    );
                    return format!("union of {}", members.join(" "));
                }
                _ => {}
            }
        }
        panic!(
            "line {}: simpleType without restriction, list or union",
            st.line
        )
    }
}

// ------------------------------------------------------------------------------------------------
// A small JSON reader for zeep_wsdl.py's output.

mod json {
    #[derive(Debug, Clone, PartialEq)]
    pub enum Value {
        Null,
        Bool(bool),
        Number(f64),
        String(String),
        Array(Vec<Value>),
        Object(Vec<(String, Value)>),
    }

    impl Value {
        pub fn get(&self, key: &str) -> Option<&Value> {
            match self {
                Value::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            }
        }

        /// The string value of an object field (None if absent, null or not a string).
        pub fn str(&self, key: &str) -> Option<&str> {
            match self.get(key) {
                Some(Value::String(s)) => Some(s),
                _ => None,
            }
        }
    }

    pub fn parse(src: &str) -> Result<Value, String> {
        let chars: Vec<char> = src.chars().collect();
        let mut pos = 0;
        let v = value(&chars, &mut pos)?;
        skip_ws(&chars, &mut pos);
        if pos != chars.len() {
            return Err(format!("trailing characters at {pos}"));
        }
        Ok(v)
    }

    fn skip_ws(c: &[char], pos: &mut usize) {
        while *pos < c.len() && c[*pos].is_whitespace() {
            *pos += 1;
        }
    }

    fn expect(c: &[char], pos: &mut usize, word: &str) -> Result<(), String> {
        for w in word.chars() {
            if c.get(*pos) != Some(&w) {
                return Err(format!("expected {word:?} at {pos}"));
            }
            *pos += 1;
        }
        Ok(())
    }

    fn value(c: &[char], pos: &mut usize) -> Result<Value, String> {
        skip_ws(c, pos);
        match c.get(*pos) {
            Some('n') => expect(c, pos, "null").map(|_| Value::Null),
            Some('t') => expect(c, pos, "true").map(|_| Value::Bool(true)),
            Some('f') => expect(c, pos, "false").map(|_| Value::Bool(false)),
            Some('"') => string(c, pos).map(Value::String),
            Some('[') => {
                *pos += 1;
                let mut items = Vec::new();
                skip_ws(c, pos);
                if c.get(*pos) == Some(&']') {
                    *pos += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(value(c, pos)?);
                    skip_ws(c, pos);
                    match c.get(*pos) {
                        Some(',') => *pos += 1,
                        Some(']') => {
                            *pos += 1;
                            return Ok(Value::Array(items));
                        }
                        _ => return Err(format!("expected , or ] at {pos}")),
                    }
                }
            }
            Some('{') => {
                *pos += 1;
                let mut fields = Vec::new();
                skip_ws(c, pos);
                if c.get(*pos) == Some(&'}') {
                    *pos += 1;
                    return Ok(Value::Object(fields));
                }
                loop {
                    skip_ws(c, pos);
                    let key = string(c, pos)?;
                    skip_ws(c, pos);
                    expect(c, pos, ":")?;
                    fields.push((key, value(c, pos)?));
                    skip_ws(c, pos);
                    match c.get(*pos) {
                        Some(',') => *pos += 1,
                        Some('}') => {
                            *pos += 1;
                            return Ok(Value::Object(fields));
                        }
                        _ => return Err(format!("expected , or }} at {pos}")),
                    }
                }
            }
            Some(_) => {
                let start = *pos;
                while *pos < c.len() && matches!(c[*pos], '-' | '+' | '.' | 'e' | 'E' | '0'..='9') {
                    *pos += 1;
                }
                let s: String = c[start..*pos].iter().collect();
                s.parse()
                    .map(Value::Number)
                    .map_err(|_| format!("bad value at {start}"))
            }
            None => Err("unexpected end".to_string()),
        }
    }

    fn string(c: &[char], pos: &mut usize) -> Result<String, String> {
        expect(c, pos, "\"")?;
        let mut out = String::new();
        loop {
            let ch = *c.get(*pos).ok_or("unterminated string")?;
            *pos += 1;
            match ch {
                '"' => return Ok(out),
                '\\' => {
                    let e = *c.get(*pos).ok_or("bad escape")?;
                    *pos += 1;
                    match e {
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        '/' => out.push('/'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'u' => {
                            let mut code = hex4(c, pos)?;
                            if (0xD800..0xDC00).contains(&code) {
                                expect(c, pos, "\\u")?;
                                let low = hex4(c, pos)?;
                                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                            }
                            out.push(char::from_u32(code).ok_or("bad \\u escape")?);
                        }
                        _ => return Err(format!("bad escape \\{e}")),
                    }
                }
                other => out.push(other),
            }
        }
    }

    fn hex4(c: &[char], pos: &mut usize) -> Result<u32, String> {
        let s: String = c
            .get(*pos..*pos + 4)
            .ok_or("short \\u escape")?
            .iter()
            .collect();
        *pos += 4;
        u32::from_str_radix(&s, 16).map_err(|_| format!("bad \\u{s}"))
    }
}
