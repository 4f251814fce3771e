#!/usr/bin/env python3
"""XUA interop helper for tests/it/consent.rs: an identity provider nobody here wrote.

  sign_assertion.py keygen DIR
      writes DIR/idp.key and DIR/idp.pem (RSA 2048, self-signed "CN=Test IdP,O=Region IdP")
  sign_assertion.py sign DIR SUBJECT PURPOSE NOT_ON_OR_AFTER
      prints a SAML 2.0 assertion with XSPA attributes (subject-id SUBJECT, purposeofuse
      PURPOSE), enveloped-signed by signxml (exclusive C14N, RSA-SHA256, SHA-256 digest) with
      DIR/idp.key, its certificate in KeyInfo
"""
import datetime
import sys
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner, methods

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


def keygen(d):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "Test IdP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Region IdP"),
    ])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    with open(f"{d}/idp.key", "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(f"{d}/idp.pem", "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


def sign(d, subject, purpose, not_on_or_after):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    aid = "_" + uuid.uuid4().hex
    xml = f"""<saml2:Assertion xmlns:saml2="{SAML}" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{aid}" IssueInstant="{now}" Version="2.0">
  <saml2:Issuer>https://idp.region.example/</saml2:Issuer>
  <saml2:Subject><saml2:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">{subject}</saml2:NameID></saml2:Subject>
  <saml2:Conditions NotBefore="{now}" NotOnOrAfter="{not_on_or_after}"/>
  <saml2:AttributeStatement>
    <saml2:Attribute Name="urn:oasis:names:tc:xspa:1.0:subject:subject-id"><saml2:AttributeValue xsi:type="xs:string">{subject}</saml2:AttributeValue></saml2:Attribute>
    <saml2:Attribute Name="urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"><saml2:AttributeValue><PurposeOfUse xmlns="urn:hl7-org:v3" code="{purpose}" codeSystem="2.16.840.1.113883.3.18.7.1"/></saml2:AttributeValue></saml2:Attribute>
  </saml2:AttributeStatement>
</saml2:Assertion>"""
    root = etree.fromstring(xml.encode())
    key = open(f"{d}/idp.key", "rb").read()
    cert = open(f"{d}/idp.pem", "rb").read()
    signed = XMLSigner(
        method=methods.enveloped,
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    ).sign(root, key=key, cert=cert, reference_uri=aid, id_attribute="ID")
    sys.stdout.write(etree.tostring(signed).decode())


if __name__ == "__main__":
    if sys.argv[1] == "keygen":
        keygen(sys.argv[2])
    else:
        sign(*sys.argv[2:6])
