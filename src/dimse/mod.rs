//! DICOM upper layer (PS3.8) listener: Storage SCP (C-STORE, PS3.4 Annex B) and Verification
//! SCP (C-ECHO) on `dicom_addr`, AE title `dicom_ae_title` — the "DICOM send" path of PACS and
//! modalities. Each received instance goes through `imaging::ingest` like a STOW-RS part, and
//! its C-STORE-RSP is sent only after the audit event (DICOM Instances Transferred) is durable.
//!
//! Associations run on their own OS threads (dicom-ul's blocking API); database and audit work
//! is handed to the server's tokio runtime.
//!
//! Invariant: a C-STORE-RSP with status Success means the instance is indexed and on disk and
//! its audit event committed; any failure gets a DICOM failure status, never a silent drop.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_ul::association::server::ServerAssociationOptions;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};

use crate::audit::{AuditEvent, AuditSink, Code, Outcome, Transport};
use crate::imaging::ingest;
use crate::store::Db;
use crate::xds::repository::BlobStore;

/// The storage SOP classes accepted (PS3.4 B.5), besides Verification.
pub const STORAGE_SOP_CLASSES: &[&str] = &[
    "1.2.840.10008.5.1.4.1.1.1",      // CR
    "1.2.840.10008.5.1.4.1.1.1.1",    // Digital X-Ray for presentation
    "1.2.840.10008.5.1.4.1.1.1.1.1",  // Digital X-Ray for processing
    "1.2.840.10008.5.1.4.1.1.1.2",    // Digital Mammography for presentation
    "1.2.840.10008.5.1.4.1.1.1.2.1",  // Digital Mammography for processing
    "1.2.840.10008.5.1.4.1.1.2",      // CT
    "1.2.840.10008.5.1.4.1.1.2.1",    // Enhanced CT
    "1.2.840.10008.5.1.4.1.1.3.1",    // US Multi-frame
    "1.2.840.10008.5.1.4.1.1.4",      // MR
    "1.2.840.10008.5.1.4.1.1.4.1",    // Enhanced MR
    "1.2.840.10008.5.1.4.1.1.6.1",    // US
    "1.2.840.10008.5.1.4.1.1.7",      // Secondary Capture
    "1.2.840.10008.5.1.4.1.1.7.1",    // Multi-frame Single Bit SC
    "1.2.840.10008.5.1.4.1.1.7.2",    // Multi-frame Grayscale Byte SC
    "1.2.840.10008.5.1.4.1.1.7.3",    // Multi-frame Grayscale Word SC
    "1.2.840.10008.5.1.4.1.1.7.4",    // Multi-frame True Color SC
    "1.2.840.10008.5.1.4.1.1.12.1",   // X-Ray Angiographic
    "1.2.840.10008.5.1.4.1.1.12.2",   // X-Ray Radiofluoroscopic
    "1.2.840.10008.5.1.4.1.1.20",     // Nuclear Medicine
    "1.2.840.10008.5.1.4.1.1.128",    // PET
    "1.2.840.10008.5.1.4.1.1.481.1",  // RT Image
    "1.2.840.10008.5.1.4.1.1.481.2",  // RT Dose
    "1.2.840.10008.5.1.4.1.1.481.3",  // RT Structure Set
    "1.2.840.10008.5.1.4.1.1.481.5",  // RT Plan
    "1.2.840.10008.5.1.4.1.1.77.1.4", // VL Photographic
    "1.2.840.10008.5.1.4.1.1.66.4",   // Segmentation
    "1.2.840.10008.5.1.4.1.1.11.1",   // Grayscale Softcopy Presentation State
    "1.2.840.10008.5.1.4.1.1.88.11",  // Basic Text SR
    "1.2.840.10008.5.1.4.1.1.88.22",  // Enhanced SR
    "1.2.840.10008.5.1.4.1.1.88.33",  // Comprehensive SR
    "1.2.840.10008.5.1.4.1.1.88.59",  // Key Object Selection
    "1.2.840.10008.5.1.4.1.1.104.1",  // Encapsulated PDF
];

const VERIFICATION: &str = "1.2.840.10008.1.1";
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";

/// What the listener needs.
#[derive(Clone)]
pub struct Context {
    pub ae_title: String,
    pub db: Db,
    pub blobs: BlobStore,
    pub sink: AuditSink,
    pub runtime: tokio::runtime::Handle,
}

/// Binds `addr` and serves associations on background threads until the process ends.
/// Returns the bound address.
pub fn serve(addr: SocketAddr, ctx: Context) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let ctx = Arc::new(ctx);
    std::thread::Builder::new()
        .name("dicom-listener".into())
        .spawn(move || {
            for stream in listener.incoming() {
                match stream {
                    Ok(s) => {
                        let ctx = ctx.clone();
                        let _ = std::thread::Builder::new()
                            .name("dicom-association".into())
                            .spawn(move || association(s, &ctx));
                    }
                    Err(e) => tracing::warn!(error = %e, "DICOM accept failed"),
                }
            }
        })?;
    Ok(local)
}

fn association(stream: TcpStream, ctx: &Context) {
    let peer = stream.peer_addr().ok();
    let mut options = ServerAssociationOptions::new()
        .accept_called_ae_title()
        .ae_title(ctx.ae_title.clone())
        .with_abstract_syntax(VERIFICATION)
        .read_timeout(Duration::from_secs(120))
        .write_timeout(Duration::from_secs(120));
    for uid in STORAGE_SOP_CLASSES {
        options = options.with_abstract_syntax(*uid);
    }
    let mut assoc = match options.establish(stream) {
        Ok(a) => a,
        Err(e) => {
            tracing::info!(error = %e, ?peer, "DICOM association refused");
            return;
        }
    };
    let calling = dicom_ul::association::Association::peer_ae_title(&assoc)
        .trim()
        .to_owned();
    tracing::info!(%calling, ?peer, "DICOM association established");
    let mut command: Vec<u8> = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    let mut pending: Option<(u8, InMemDicomObject)> = None;
    loop {
        let pdu = match assoc.receive() {
            Ok(p) => p,
            Err(e) => {
                tracing::info!(error = %e, %calling, "DICOM association ended");
                return;
            }
        };
        match pdu {
            Pdu::PData { data: values } => {
                for v in values {
                    match v.value_type {
                        PDataValueType::Command => {
                            command.extend_from_slice(&v.data);
                            if !v.is_last {
                                continue;
                            }
                            let cmd = match read_command(&command) {
                                Ok(c) => c,
                                Err(e) => {
                                    tracing::warn!(error = %e, %calling, "undecodable DIMSE command; aborting");
                                    let _ = assoc.abort();
                                    return;
                                }
                            };
                            command.clear();
                            let field = ushort(&cmd, tags::COMMAND_FIELD);
                            match field {
                                Some(0x0030) => {
                                    let rsp = response(&cmd, 0x8030, 0x0000, false);
                                    if send(&mut assoc, v.presentation_context_id, rsp).is_err() {
                                        return;
                                    }
                                }
                                Some(0x0001) => {
                                    pending = Some((v.presentation_context_id, cmd));
                                    data.clear();
                                }
                                other => {
                                    tracing::info!(?other, %calling, "unsupported DIMSE command");
                                    // 0x0211 unrecognized operation
                                    let rsp_field = other.map_or(0x8000, |f| f | 0x8000);
                                    let rsp = response(&cmd, rsp_field, 0x0211, false);
                                    if send(&mut assoc, v.presentation_context_id, rsp).is_err() {
                                        return;
                                    }
                                }
                            }
                        }
                        PDataValueType::Data => {
                            data.extend_from_slice(&v.data);
                            if !v.is_last {
                                continue;
                            }
                            let Some((pc_id, cmd)) = pending.take() else {
                                tracing::warn!(%calling, "data set without a C-STORE command; aborting");
                                let _ = assoc.abort();
                                return;
                            };
                            let ts = assoc
                                .presentation_contexts()
                                .iter()
                                .find(|pc| pc.id == pc_id)
                                .map(|pc| pc.transfer_syntax.trim_end_matches('\0').to_owned())
                                .unwrap_or_else(|| IMPLICIT_LE.to_owned());
                            let status =
                                store(ctx, &calling, peer, &cmd, &ts, std::mem::take(&mut data));
                            let rsp = response(&cmd, 0x8001, status, true);
                            if send(&mut assoc, pc_id, rsp).is_err() {
                                return;
                            }
                        }
                    }
                }
            }
            Pdu::ReleaseRQ => {
                let _ = assoc.send(&Pdu::ReleaseRP);
                tracing::info!(%calling, "DICOM association released");
                return;
            }
            Pdu::AbortRQ { .. } => {
                tracing::info!(%calling, "DICOM association aborted by the peer");
                return;
            }
            other => {
                tracing::warn!(pdu = %other.short_description(), %calling, "unexpected PDU; aborting");
                let _ = assoc.abort();
                return;
            }
        }
    }
}

fn read_command(bytes: &[u8]) -> Result<InMemDicomObject, String> {
    use dicom_encoding::TransferSyntaxIndex;
    let ts = dicom_transfer_syntax_registry::TransferSyntaxRegistry
        .get(IMPLICIT_LE)
        .ok_or("implicit VR little endian missing from the registry")?;
    InMemDicomObject::read_dataset_with_ts(bytes, ts).map_err(|e| e.to_string())
}

fn ushort(obj: &InMemDicomObject, tag: Tag) -> Option<u16> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_int::<u16>().ok())
}

fn uid_of(obj: &InMemDicomObject, tag: Tag) -> String {
    crate::imaging::parse::text(obj, tag)
}

/// A response command to `rq` (Implicit VR Little Endian, with its group length).
fn response(rq: &InMemDicomObject, field: u16, status: u16, with_instance: bool) -> Vec<u8> {
    let mut obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(uid_of(rq, tags::AFFECTED_SOP_CLASS_UID)),
        ),
        DataElement::new(tags::COMMAND_FIELD, VR::US, PrimitiveValue::from(field)),
        DataElement::new(
            tags::MESSAGE_ID_BEING_RESPONDED_TO,
            VR::US,
            PrimitiveValue::from(ushort(rq, tags::MESSAGE_ID).unwrap_or(0)),
        ),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            PrimitiveValue::from(0x0101_u16),
        ),
        DataElement::new(tags::STATUS, VR::US, PrimitiveValue::from(status)),
    ]);
    if with_instance {
        obj.put(DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(uid_of(rq, tags::AFFECTED_SOP_INSTANCE_UID)),
        ));
    }
    encode_command(obj)
}

fn encode_command(obj: InMemDicomObject) -> Vec<u8> {
    use dicom_encoding::TransferSyntaxIndex;
    let Some(ts) = dicom_transfer_syntax_registry::TransferSyntaxRegistry.get(IMPLICIT_LE) else {
        return Vec::new();
    };
    let mut body = Vec::new();
    if let Err(e) = obj.write_dataset_with_ts(&mut body, ts) {
        tracing::error!(error = %e, "DIMSE response not encoded");
        return Vec::new();
    }
    // (0000,0000) UL group length, implicit VR: tag, length 4, value
    let mut out = Vec::with_capacity(body.len() + 12);
    out.extend_from_slice(&[0, 0, 0, 0, 4, 0, 0, 0]);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

fn send(
    assoc: &mut dicom_ul::association::server::ServerAssociation<TcpStream>,
    pc_id: u8,
    command: Vec<u8>,
) -> Result<(), ()> {
    assoc
        .send(&Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: pc_id,
                value_type: PDataValueType::Command,
                is_last: true,
                data: command,
            }],
        })
        .map_err(|e| tracing::info!(error = %e, "DIMSE response not sent"))
}

/// A Part-10 file: preamble, file meta (from the command and the negotiated transfer syntax),
/// then the data set bytes exactly as received.
pub fn part10(
    sop_class: &str,
    sop_instance: &str,
    ts: &str,
    dataset: &[u8],
) -> Result<Vec<u8>, String> {
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(ts)
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid(sop_instance)
        .build()
        .map_err(|e| e.to_string())?;
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    meta.write(&mut out).map_err(|e| e.to_string())?;
    out.extend_from_slice(dataset);
    Ok(out)
}

/// Stores one received instance; returns the C-STORE status (PS3.4 Table B.2-1).
fn store(
    ctx: &Context,
    calling: &str,
    peer: Option<SocketAddr>,
    cmd: &InMemDicomObject,
    ts: &str,
    dataset: Vec<u8>,
) -> u16 {
    let sop_class = uid_of(cmd, tags::AFFECTED_SOP_CLASS_UID);
    let sop_instance = uid_of(cmd, tags::AFFECTED_SOP_INSTANCE_UID);
    let file = match part10(&sop_class, &sop_instance, ts, &dataset) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "C-STORE: no file meta could be made");
            return 0xC000;
        }
    };
    let expected = sop_instance.clone();
    let check: ingest::Check = Box::new(move |i| {
        if i.sop_instance_uid.as_str() == expected {
            Ok(())
        } else {
            Err((
                0xA900,
                format!(
                    "the data set's SOPInstanceUID {} is not the command's {expected}",
                    i.sop_instance_uid
                ),
            ))
        }
    });
    let outcome = ctx.runtime.block_on(ingest::store_batch(
        &ctx.db,
        &ctx.blobs,
        vec![Bytes::from(file)],
        "C-STORE",
        Some(check),
    ));
    let (status, audit_outcome, description, touched) = match outcome {
        Ok(o) => match (o.accepted.first(), o.refused.first()) {
            (Some(a), _) => (0x0000, Outcome::Success, None, Some(a.instance.clone())),
            (None, Some(r)) => {
                tracing::info!(reason = r.reason, message = %r.message, %calling, "C-STORE refused");
                (
                    r.reason,
                    Outcome::SeriousFailure,
                    Some(r.message.clone()),
                    None,
                )
            }
            (None, None) => (
                0xC000,
                Outcome::SeriousFailure,
                Some("nothing received".into()),
                None,
            ),
        },
        Err(e) => {
            tracing::error!(error = %e, "C-STORE: database error");
            (
                0xA700,
                Outcome::MajorFailure,
                Some("out of resources".into()),
                None,
            )
        }
    };
    let mut event = AuditEvent::new(
        Code::dcm("110104", "DICOM Instances Transferred"),
        crate::audit::Action::Create,
        audit_outcome,
        Transport::Internal,
    );
    event.event_type = Some(Code::ihe_transaction("RAD-8", "Modality Images Stored"));
    event.outcome_description = description;
    event.requestor = Some(format!("AE:{calling}"));
    event.remote_addr = peer.map(|p| p.to_string());
    event.destination = Some(format!("AE:{}", ctx.ae_title));
    if let Some(i) = &touched {
        event.participant_objects = crate::dicomweb::common::participants_of(std::iter::once(
            crate::dicomweb::common::Touched::of(i),
        ));
    }
    match ctx.runtime.block_on(ctx.sink.record(event)) {
        Ok(_) => status,
        Err(e) => {
            tracing::error!(error = %e, "C-STORE audit not committed; answering with a failure");
            0xA700
        }
    }
}
