//! Tests of `ledger::checkpoint`: known answers from other implementations, round trips, tampering.

use super::*;

const ORIGIN: &str = "hub-a.example.org/atna-ledger/sha3-256/v1";

fn log_key() -> SigningKey {
    SigningKey::generate(ORIGIN).unwrap()
}

fn checkpoint() -> Checkpoint {
    Checkpoint::new(ORIGIN, 1234, [7; 32]).unwrap()
}

// --- Known answers ------------------------------------------------------------------------------

// golang.org/x/mod/sumdb/note package documentation (Ed25519, type 0x01).
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SEED_B64: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
     then you don't know what your problem is.\n\
     \n\
     \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

#[test]
fn go_sumdb_note_known_answer() {
    let vkey = VerifierKey::parse(PETER_VKEY).unwrap();
    assert_eq!(vkey.key_id(), 0xc74f20a3);
    assert_eq!(vkey.to_string(), PETER_VKEY);
    let verified = verify_note(PETER_NOTE, std::slice::from_ref(&vkey)).unwrap();
    assert_eq!(
        verified.body,
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    );
    assert!(verified.signed_by(&vkey));

    // Ed25519 is deterministic: our signer reproduces the note byte for byte.
    let seed_bytes = BASE64.decode(PETER_SEED_B64).unwrap();
    assert_eq!(seed_bytes[0], 0x01);
    let key = SigningKey::from_seed("PeterNeumann", seed_bytes[1..].try_into().unwrap()).unwrap();
    assert_eq!(key.vkey().unwrap(), PETER_VKEY);
    assert_eq!(key.sign_note(&verified.body).unwrap(), PETER_NOTE);
}

#[test]
fn c2sp_signed_note_spec_example() {
    let vkey =
        VerifierKey::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
            .unwrap();
    let note = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    let verified = verify_note(note, &[vkey]).unwrap();
    assert_eq!(verified.body, "This is an example message.\n");
}

// A checkpoint of the Certificate Transparency staging log arche2025h1, as published with its
// log signature (type 0x01), an RFC 6962 tree head signature (type 0x05, unknown to us) and
// witness cosignatures (type 0x04), among them remora.n621.de's.
const ARCHE_CHECKPOINT: &str = "arche2025h1.staging.ct.transparency.dev
1432088532
U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=

\u{2014} arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=
\u{2014} arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=
\u{2014} transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==
\u{2014} witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==
\u{2014} remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==
\u{2014} witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==
";
const ARCHE_VKEY: &str =
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f";
const REMORA_VKEY: &str = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";

#[test]
fn real_cosigned_checkpoint_known_answer() {
    let log = VerifierKey::parse(ARCHE_VKEY).unwrap();
    let witness = VerifierKey::parse(REMORA_VKEY).unwrap();
    assert_eq!(witness.signature_type(), SignatureType::Cosignature);
    let (cp, verified) =
        Checkpoint::open(ARCHE_CHECKPOINT, &[log.clone(), witness.clone()]).unwrap();
    assert_eq!(cp.origin(), "arche2025h1.staging.ct.transparency.dev");
    assert_eq!(cp.size(), 1_432_088_532);
    assert_eq!(cp.to_body(), verified.body);
    assert!(verified.signed_by(&log) && verified.signed_by(&witness));
    let cosig = verified
        .signatures
        .iter()
        .find(|s| s.name == "remora.n621.de")
        .unwrap();
    assert_eq!(cosig.timestamp, Some(0x6a12_2120));

    // The witness alone is enough to open it; a changed size breaks both signatures.
    assert!(verify_note(ARCHE_CHECKPOINT, std::slice::from_ref(&witness)).is_ok());
    let forged = ARCHE_CHECKPOINT.replacen("1432088532", "1432088533", 1);
    for key in [log, witness] {
        assert!(matches!(
            verify_note(&forged, &[key]),
            Err(NoteError::BadSignature { .. })
        ));
    }
}

// --- Round trips and tampering ------------------------------------------------------------------

#[test]
fn checkpoint_sign_open_round_trip() {
    let key = log_key();
    let cp = checkpoint();
    let note = cp.sign(&key).unwrap();
    assert!(note.starts_with(&format!(
        "{ORIGIN}\n1234\n{}\n\n\u{2014} {ORIGIN} ",
        BASE64.encode([7; 32])
    )));
    let (opened, verified) = Checkpoint::open(&note, &[key.verifier().unwrap()]).unwrap();
    assert_eq!(opened, cp);
    assert_eq!(verified.signatures.len(), 1);
    assert_eq!(verified.signatures[0].timestamp, None);
}

#[test]
fn flipped_byte_in_body_or_signature_is_refused() {
    let key = log_key();
    let vkey = key.verifier().unwrap();
    let note = checkpoint().sign(&key).unwrap();
    // The size line 1234 -> 1235.
    let body_flip = note.replacen("1234", "1235", 1);
    assert!(matches!(
        verify_note(&body_flip, std::slice::from_ref(&vkey)),
        Err(NoteError::BadSignature { line: 5, .. })
    ));
    // One bit of the signature bytes, past the key id.
    let parsed = parse_note(&note).unwrap();
    let mut raw = parsed.signatures[0].key_id.to_be_bytes().to_vec();
    raw.extend_from_slice(&parsed.signatures[0].signature);
    raw[20] ^= 0x01;
    let sig_flip = format!(
        "{}\n\u{2014} {ORIGIN} {}\n",
        parsed.text,
        BASE64.encode(&raw)
    );
    assert!(matches!(
        verify_note(&sig_flip, std::slice::from_ref(&vkey)),
        Err(NoteError::BadSignature { .. })
    ));
    // The key id bytes: now an unknown key, which is ignored, leaving none.
    raw[20] ^= 0x01;
    raw[0] ^= 0x01;
    let id_flip = format!(
        "{}\n\u{2014} {ORIGIN} {}\n",
        parsed.text,
        BASE64.encode(&raw)
    );
    assert!(matches!(
        verify_note(&id_flip, &[vkey]),
        Err(NoteError::NoKnownSignature { signatures: 1 })
    ));
}

#[test]
fn another_key_is_refused_and_unknown_signatures_are_ignored() {
    let key = log_key();
    let other = log_key();
    let note = checkpoint().sign(&key).unwrap();
    assert!(matches!(
        verify_note(&note, &[other.verifier().unwrap()]),
        Err(NoteError::NoKnownSignature { .. })
    ));
    // Re-signing the same body with another key under the same name is refused too.
    let resigned = checkpoint().sign(&other).unwrap();
    assert!(matches!(
        verify_note(&resigned, &[key.verifier().unwrap()]),
        Err(NoteError::NoKnownSignature { .. })
    ));
    // A note signed by both verifies with either key alone.
    let both = format!(
        "{note}{}",
        other.signature_line(&checkpoint().to_body()).unwrap()
    );
    for k in [&key, &other] {
        let v = verify_note(&both, &[k.verifier().unwrap()]).unwrap();
        assert_eq!(v.signatures.len(), 1);
    }
}

#[test]
fn cosignature_sign_and_verify() {
    let log = log_key();
    let witness = SigningKey::generate("hub-b.example.org/witness").unwrap();
    let body = checkpoint().to_body();
    let line = witness.cosignature_line(&body, 1_767_225_600).unwrap();
    let note = format!("{}{line}", checkpoint().sign(&log).unwrap());
    let keys = [
        log.verifier().unwrap(),
        witness.cosigner_verifier().unwrap(),
    ];
    let verified = verify_note(&note, &keys).unwrap();
    assert_eq!(verified.signatures.len(), 2);
    assert_eq!(verified.signatures[1].timestamp, Some(1_767_225_600));
    assert_eq!(
        verified.signatures[1].signature_type,
        SignatureType::Cosignature
    );
    assert_ne!(keys[1].key_id(), witness.verifier().unwrap().key_id());

    // A cosignature is not a note signature: as type 0x01 its key id does not match.
    let as_note_key = witness.verifier().unwrap();
    assert!(matches!(
        verify_note(&format!("{body}\n{line}"), &[as_note_key]),
        Err(NoteError::NoKnownSignature { .. })
    ));
    // A changed timestamp breaks it.
    let parsed = parse_note(&format!("{body}\n{line}")).unwrap();
    let mut raw = parsed.signatures[0].key_id.to_be_bytes().to_vec();
    raw.extend_from_slice(&parsed.signatures[0].signature);
    raw[11] ^= 0x01;
    let moved = format!(
        "{body}\n\u{2014} hub-b.example.org/witness {}\n",
        BASE64.encode(&raw)
    );
    assert!(matches!(
        verify_note(&moved, &keys),
        Err(NoteError::BadSignature { .. })
    ));
    assert!(matches!(
        witness.cosignature_line(&body, 1 << 63),
        Err(NoteError::TimestampTooLarge { .. })
    ));
}

#[test]
fn verifier_key_round_trip_and_refusals() {
    let key = log_key();
    for vkey in [key.verifier().unwrap(), key.cosigner_verifier().unwrap()] {
        let text = vkey.to_string();
        assert_eq!(VerifierKey::parse(&text).unwrap(), vkey);
        assert_eq!(text.parse::<VerifierKey>().unwrap().to_string(), text);
    }
    let good = key.vkey().unwrap();
    let (name, rest) = good.split_once('+').unwrap();
    let (id, material) = rest.split_once('+').unwrap();
    let wrong_id = format!(
        "{name}+{:08x}+{material}",
        u32::from_str_radix(id, 16).unwrap() ^ 1
    );
    assert!(matches!(
        VerifierKey::parse(&wrong_id),
        Err(NoteError::KeyIdMismatch { .. })
    ));
    let upper = format!("{name}+{}+{material}", id.to_uppercase());
    if upper != good {
        assert!(matches!(
            VerifierKey::parse(&upper),
            Err(NoteError::MalformedVerifierKey { .. })
        ));
    }
    let mut bytes = BASE64.decode(material).unwrap();
    bytes[0] = 0x02;
    let ecdsa = format!("{name}+{id}+{}", BASE64.encode(&bytes));
    assert!(matches!(
        VerifierKey::parse(&ecdsa),
        Err(NoteError::UnsupportedSignatureType { code: 2, .. })
    ));
    for bad in [
        "",
        "name",
        "name+0000",
        "name+zzzzzzzz+AQ==",
        "a b+00000000+AQ==",
    ] {
        assert!(VerifierKey::parse(bad).is_err(), "{bad:?}");
    }
    assert!(matches!(
        SigningKey::generate("bad name"),
        Err(NoteError::InvalidKeyName { .. })
    ));
    assert!(matches!(
        SigningKey::generate("a+b"),
        Err(NoteError::InvalidKeyName { .. })
    ));
}

#[test]
fn malformed_notes_are_refused_with_the_line() {
    let key = log_key();
    let vkey = [key.verifier().unwrap()];
    let body = checkpoint().to_body();
    let note = key.sign_note(&body).unwrap();
    assert!(matches!(
        verify_note(&body, &vkey),
        Err(NoteError::NoSignatures)
    ));
    assert!(matches!(
        verify_note(&format!("{body}\n"), &vkey),
        Err(NoteError::NoSignatures)
    ));
    let hyphen = note.replace('\u{2014}', "-");
    assert!(matches!(
        verify_note(&hyphen, &vkey),
        Err(NoteError::MalformedSignatureLine { line: 5, .. })
    ));
    let no_newline = note.trim_end_matches('\n');
    assert!(matches!(
        verify_note(no_newline, &vkey),
        Err(NoteError::NoSignatures)
    ));
    let tab = note.replacen("1234", "12\t34", 1);
    assert!(matches!(
        verify_note(&tab, &vkey),
        Err(NoteError::ControlCharacter { byte: 0x09, .. })
    ));
    let line = key.signature_line(&body).unwrap();
    let many = format!("{note}{}", line.repeat(MAX_SIGNATURES));
    assert!(matches!(
        verify_note(&many, &vkey),
        Err(NoteError::TooManySignatures { .. })
    ));
    assert!(matches!(
        key.sign_note("no newline"),
        Err(NoteError::BadText)
    ));
}

#[test]
fn checkpoint_body_parsing() {
    let cp = checkpoint();
    assert_eq!(Checkpoint::parse(&cp.to_body()).unwrap(), cp);
    let root = BASE64.encode([7; 32]);
    let empty = Checkpoint::new(ORIGIN, 0, crate::ledger::hash::empty_root()).unwrap();
    assert_eq!(Checkpoint::parse(&empty.to_body()).unwrap(), empty);
    let cases: [(String, &str); 9] = [
        (format!("{ORIGIN}\n1234\n{root}"), "MissingLine"),
        (format!("{ORIGIN}\n1234\n"), "MissingLine"),
        (format!("{ORIGIN}\n1234\n{root}\next\n"), "ExtensionLines"),
        (format!("\n1234\n{root}\n"), "InvalidOrigin"),
        (format!("{ORIGIN}\n01234\n{root}\n"), "InvalidSize"),
        (
            format!("{ORIGIN}\n18446744073709551616\n{root}\n"),
            "InvalidSize",
        ),
        (format!("{ORIGIN}\n+1\n{root}\n"), "InvalidSize"),
        (
            format!("{ORIGIN}\n1\n{}\n", BASE64.encode([7; 31])),
            "InvalidRoot",
        ),
        (
            format!("{ORIGIN}\n1\n{}\n", root.trim_end_matches('=')),
            "InvalidRoot",
        ),
    ];
    for (body, variant) in cases {
        let err = Checkpoint::parse(&body).unwrap_err();
        assert!(format!("{err:?}").starts_with(variant), "{body:?}: {err:?}");
    }
    assert_eq!(
        Checkpoint::parse(&format!("{ORIGIN}\n18446744073709551615\n{root}\n"))
            .unwrap()
            .size(),
        u64::MAX
    );
    assert!(Checkpoint::new("bad\norigin", 1, [0; 32]).is_err());
}

#[test]
fn key_file_is_created_0600_and_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys/sub/ledger.pem");
    let key = SigningKey::load_or_create(&path, ORIGIN).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    let again = SigningKey::load_or_create(&path, ORIGIN).unwrap();
    assert_eq!(again.vkey().unwrap(), key.vkey().unwrap());
    assert_eq!(
        fs::read_dir(path.parent().unwrap()).unwrap().count(),
        1,
        "no temporary file left"
    );

    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    assert!(matches!(
        SigningKey::load_or_create(&path, ORIGIN),
        Err(KeyFileError::InsecurePermissions { mode: 0o644, .. })
    ));

    let garbage = dir.path().join("garbage.pem");
    write_new_file(&garbage, b"not a key").unwrap();
    assert!(matches!(
        SigningKey::load_or_create(&garbage, ORIGIN),
        Err(KeyFileError::Crypto { .. })
    ));

    let ec = openssl::ec::EcKey::generate(
        &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
    )
    .unwrap();
    let ec_pem = PKey::from_ec_key(ec)
        .unwrap()
        .private_key_to_pem_pkcs8()
        .unwrap();
    let ec_path = dir.path().join("ec.pem");
    write_new_file(&ec_path, &ec_pem).unwrap();
    assert!(matches!(
        SigningKey::load_or_create(&ec_path, ORIGIN),
        Err(KeyFileError::NotEd25519 { .. })
    ));
    assert!(format!("{key:?}").contains(ORIGIN) && !format!("{key:?}").contains("PRIVATE"));
}
