//! TLS for IHE ATNA ITI-19 (Authenticate Node): mutual TLS with client certificates verified
//! against a configured CA bundle, and the development CA that `hiehub certs dev` and dev mode make.
//!
//! Invariant: on the HTTPS listener no request reaches a handler without a client certificate that
//! chains to the configured CA; the certificate's subject is the node identity audit events record.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslAcceptor, SslAcceptorBuilder, SslFiletype, SslMethod, SslVerifyMode};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Name, X509NameBuilder, X509Ref};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS: {context}: {source}")]
    Ssl {
        context: String,
        source: openssl::error::ErrorStack,
    },
    #[error("TLS: {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn ssl(context: &str) -> impl FnOnce(openssl::error::ErrorStack) -> TlsError + '_ {
    move |source| TlsError::Ssl {
        context: context.to_owned(),
        source,
    }
}

/// The authenticated identity of the node at the other end of a TLS connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    /// The certificate subject, RFC 2253-like (`CN=...,O=...`).
    pub subject: String,
    /// SHA-256 of the DER certificate, hex.
    pub fingerprint: String,
}

impl NodeIdentity {
    pub fn from_cert(cert: &X509Ref) -> NodeIdentity {
        let fingerprint = cert
            .digest(MessageDigest::sha256())
            .map(|d| hex::encode(&*d))
            .unwrap_or_default();
        NodeIdentity {
            subject: name_to_string(cert.subject_name()),
            fingerprint,
        }
    }
}

impl NodeIdentity {
    /// The fingerprint as 32 bytes.
    pub fn fingerprint_bytes(&self) -> Option<[u8; 32]> {
        hex::decode(&self.fingerprint)
            .ok()
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
    }
}

pub fn name_to_string(name: &openssl::x509::X509NameRef) -> String {
    let mut parts: Vec<String> = name
        .entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?").to_owned();
            let value = e.data().to_string().unwrap_or_default();
            format!("{key}={value}")
        })
        .collect();
    parts.reverse();
    parts.join(",")
}

/// Called for each certificate the client presents that does not verify: (subject, reason).
pub type RejectHook = Arc<dyn Fn(String, String) + Send + Sync>;

/// An acceptor that requires a client certificate chaining to `client_ca`.
pub fn acceptor(
    cert_chain: &Path,
    key: &Path,
    client_ca: &Path,
    on_reject: RejectHook,
) -> Result<SslAcceptorBuilder, TlsError> {
    for p in [cert_chain, key, client_ca] {
        if !p.exists() {
            return Err(TlsError::Io {
                path: p.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
            });
        }
    }
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())
        .map_err(ssl("creating the TLS acceptor"))?;
    b.set_certificate_chain_file(cert_chain)
        .map_err(ssl("loading the server certificate chain"))?;
    b.set_private_key_file(key, SslFiletype::PEM)
        .map_err(ssl("loading the server private key"))?;
    b.check_private_key()
        .map_err(ssl("server key does not match certificate"))?;
    b.set_ca_file(client_ca)
        .map_err(ssl("loading the client CA bundle"))?;
    // Tell clients which CAs we accept (CertificateRequest certificate_authorities).
    let pem = std::fs::read(client_ca).map_err(|source| TlsError::Io {
        path: client_ca.to_owned(),
        source,
    })?;
    let mut names = openssl::stack::Stack::<X509Name>::new().map_err(ssl("CA name list"))?;
    for ca in X509::stack_from_pem(&pem).map_err(ssl("parsing the client CA bundle"))? {
        names
            .push(ca.subject_name().to_owned().map_err(ssl("CA name"))?)
            .map_err(ssl("CA name list"))?;
    }
    b.set_client_ca_list(names);
    b.set_verify_callback(
        SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
        move |ok, ctx| {
            if !ok {
                let subject = ctx
                    .current_cert()
                    .map(|c| name_to_string(c.subject_name()))
                    .unwrap_or_else(|| "(no certificate)".into());
                let reason = ctx.error().error_string().to_owned();
                on_reject(subject, reason);
            }
            ok
        },
    );
    Ok(b)
}

/// Files of the development PKI under `<data_dir>/certs`.
pub struct DevPki {
    pub dir: PathBuf,
}

impl DevPki {
    pub fn new(dir: &Path) -> DevPki {
        DevPki {
            dir: dir.to_owned(),
        }
    }
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.pem")
    }
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server.key")
    }
    pub fn client_cert(&self) -> PathBuf {
        self.dir.join("client.pem")
    }
    pub fn client_key(&self) -> PathBuf {
        self.dir.join("client.key")
    }

    pub fn exists(&self) -> bool {
        [
            self.ca_cert(),
            self.server_cert(),
            self.server_key(),
            self.client_cert(),
            self.client_key(),
        ]
        .iter()
        .all(|p| p.exists())
    }

    /// Makes a CA, a server certificate for `hosts` (DNS names or IPs) and one client certificate.
    pub fn generate(&self, hosts: &[String]) -> Result<(), TlsError> {
        std::fs::create_dir_all(&self.dir).map_err(|source| TlsError::Io {
            path: self.dir.clone(),
            source,
        })?;
        let (ca, ca_key) = make_ca("hiehub development CA")?;
        let (server, server_key) = make_leaf(&ca, &ca_key, "hiehub dev server", hosts, true)?;
        let (client, client_key) = make_leaf(&ca, &ca_key, "hiehub dev client", &[], false)?;
        write_cert(&self.ca_cert(), &ca)?;
        write_key(&self.ca_key(), &ca_key)?;
        write_cert(&self.server_cert(), &server)?;
        write_key(&self.server_key(), &server_key)?;
        write_cert(&self.client_cert(), &client)?;
        write_key(&self.client_key(), &client_key)?;
        Ok(())
    }

    /// Issues another client certificate from this PKI's CA (`CN=<cn>,O=<organisation>`), e.g.
    /// one per requesting organisation in consent tests. Returns (certificate PEM, PKCS#8 key PEM).
    pub fn issue_client(
        &self,
        cn: &str,
        organisation: &str,
    ) -> Result<(Vec<u8>, Vec<u8>), TlsError> {
        let read =
            |path: PathBuf| std::fs::read(&path).map_err(|source| TlsError::Io { path, source });
        let ca = X509::from_pem(&read(self.ca_cert())?).map_err(ssl("reading the CA"))?;
        let ca_key =
            PKey::private_key_from_pem(&read(self.ca_key())?).map_err(ssl("reading the CA key"))?;
        let (cert, key) = make_leaf_for(&ca, &ca_key, cn, organisation, &[], false)?;
        Ok((
            cert.to_pem().map_err(ssl("encoding a certificate"))?,
            key.private_key_to_pem_pkcs8()
                .map_err(ssl("encoding a key"))?,
        ))
    }
}

fn write_cert(path: &Path, cert: &X509) -> Result<(), TlsError> {
    let pem = cert.to_pem().map_err(ssl("encoding a certificate"))?;
    std::fs::write(path, pem).map_err(|source| TlsError::Io {
        path: path.to_owned(),
        source,
    })
}

fn write_key(path: &Path, key: &PKey<Private>) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let pem = key
        .private_key_to_pem_pkcs8()
        .map_err(ssl("encoding a key"))?;
    let io = |source| TlsError::Io {
        path: path.to_owned(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    f.write_all(&pem).map_err(io)
}

fn new_key() -> Result<PKey<Private>, TlsError> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(ssl("EC group"))?;
    let ec = EcKey::generate(&group).map_err(ssl("generating a key"))?;
    PKey::from_ec_key(ec).map_err(ssl("generating a key"))
}

fn name(cn: &str) -> Result<X509Name, TlsError> {
    name_in(cn, "hiehub development")
}

fn name_in(cn: &str, organisation: &str) -> Result<X509Name, TlsError> {
    let mut n = X509NameBuilder::new().map_err(ssl("name"))?;
    n.append_entry_by_nid(Nid::ORGANIZATIONNAME, organisation)
        .map_err(ssl("name"))?;
    n.append_entry_by_nid(Nid::COMMONNAME, cn)
        .map_err(ssl("name"))?;
    Ok(n.build())
}

fn serial() -> Result<openssl::asn1::Asn1Integer, TlsError> {
    let mut bn = BigNum::new().map_err(ssl("serial"))?;
    bn.rand(127, MsbOption::MAYBE_ZERO, false)
        .map_err(ssl("serial"))?;
    bn.to_asn1_integer().map_err(ssl("serial"))
}

fn make_ca(cn: &str) -> Result<(X509, PKey<Private>), TlsError> {
    let key = new_key()?;
    let mut b = X509::builder().map_err(ssl("CA"))?;
    b.set_version(2).map_err(ssl("CA"))?;
    let sn = serial()?;
    b.set_serial_number(&sn).map_err(ssl("CA"))?;
    let n = name(cn)?;
    b.set_subject_name(&n).map_err(ssl("CA"))?;
    b.set_issuer_name(&n).map_err(ssl("CA"))?;
    b.set_pubkey(&key).map_err(ssl("CA"))?;
    let not_before = Asn1Time::days_from_now(0).map_err(ssl("CA"))?;
    let not_after = Asn1Time::days_from_now(3650).map_err(ssl("CA"))?;
    b.set_not_before(&not_before).map_err(ssl("CA"))?;
    b.set_not_after(&not_after).map_err(ssl("CA"))?;
    b.append_extension(
        BasicConstraints::new()
            .critical()
            .ca()
            .build()
            .map_err(ssl("CA"))?,
    )
    .map_err(ssl("CA"))?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()
            .map_err(ssl("CA"))?,
    )
    .map_err(ssl("CA"))?;
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(None, None))
        .map_err(ssl("CA"))?;
    b.append_extension(ski).map_err(ssl("CA"))?;
    b.sign(&key, MessageDigest::sha256()).map_err(ssl("CA"))?;
    Ok((b.build(), key))
}

fn make_leaf(
    ca: &X509,
    ca_key: &PKey<Private>,
    cn: &str,
    hosts: &[String],
    server: bool,
) -> Result<(X509, PKey<Private>), TlsError> {
    make_leaf_for(ca, ca_key, cn, "hiehub development", hosts, server)
}

fn make_leaf_for(
    ca: &X509,
    ca_key: &PKey<Private>,
    cn: &str,
    organisation: &str,
    hosts: &[String],
    server: bool,
) -> Result<(X509, PKey<Private>), TlsError> {
    let key = new_key()?;
    let mut b = X509::builder().map_err(ssl("leaf"))?;
    b.set_version(2).map_err(ssl("leaf"))?;
    let sn = serial()?;
    b.set_serial_number(&sn).map_err(ssl("leaf"))?;
    let subject = name_in(cn, organisation)?;
    b.set_subject_name(&subject).map_err(ssl("leaf"))?;
    b.set_issuer_name(ca.subject_name()).map_err(ssl("leaf"))?;
    b.set_pubkey(&key).map_err(ssl("leaf"))?;
    let not_before = Asn1Time::days_from_now(0).map_err(ssl("leaf"))?;
    let not_after = Asn1Time::days_from_now(825).map_err(ssl("leaf"))?;
    b.set_not_before(&not_before).map_err(ssl("leaf"))?;
    b.set_not_after(&not_after).map_err(ssl("leaf"))?;
    b.append_extension(BasicConstraints::new().build().map_err(ssl("leaf"))?)
        .map_err(ssl("leaf"))?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .key_encipherment()
            .build()
            .map_err(ssl("leaf"))?,
    )
    .map_err(ssl("leaf"))?;
    let mut eku = ExtendedKeyUsage::new();
    if server {
        eku.server_auth();
    } else {
        eku.client_auth();
    }
    b.append_extension(eku.build().map_err(ssl("leaf"))?)
        .map_err(ssl("leaf"))?;
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(Some(ca), None))
        .map_err(ssl("leaf"))?;
    b.append_extension(ski).map_err(ssl("leaf"))?;
    let aki = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&b.x509v3_context(Some(ca), None))
        .map_err(ssl("leaf"))?;
    b.append_extension(aki).map_err(ssl("leaf"))?;
    if !hosts.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for h in hosts {
            if h.parse::<std::net::IpAddr>().is_ok() {
                san.ip(h);
            } else {
                san.dns(h);
            }
        }
        let ext = san
            .build(&b.x509v3_context(Some(ca), None))
            .map_err(ssl("leaf"))?;
        b.append_extension(ext).map_err(ssl("leaf"))?;
    }
    b.sign(ca_key, MessageDigest::sha256())
        .map_err(ssl("leaf"))?;
    Ok((b.build(), key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_pki_chains_and_names() {
        let dir = tempfile::tempdir().unwrap();
        let pki = DevPki::new(dir.path());
        pki.generate(&["localhost".into(), "127.0.0.1".into()])
            .unwrap();
        assert!(pki.exists());
        let ca = X509::from_pem(&std::fs::read(pki.ca_cert()).unwrap()).unwrap();
        let client = X509::from_pem(&std::fs::read(pki.client_cert()).unwrap()).unwrap();
        assert!(client.verify(&ca.public_key().unwrap()).unwrap());
        let id = NodeIdentity::from_cert(&client);
        assert_eq!(id.subject, "CN=hiehub dev client,O=hiehub development");
        assert_eq!(id.fingerprint.len(), 64);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(pki.client_key())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let hook: RejectHook = Arc::new(|_, _| {});
        acceptor(&pki.server_cert(), &pki.server_key(), &pki.ca_cert(), hook).unwrap();
    }
}
