//! ITI-18 Registry Stored Query (ITI TF-2a §3.18): a Document Consumer runs one of the stored
//! queries of §3.18.4.1.2.3.7 by its UUID, with parameters as slots. Request:
//! `query:AdhocQueryRequest`; response: `query:AdhocQueryResponse` with the objects as full
//! metadata (`returnType="LeafClass"`) or as references (`returnType="ObjectRef"`).
//!
//! - [`params`]: the ebRS value syntax and the single/multi-valued parameter rules;
//! - [`store`]: the SQL, on the indexed columns of the registry tables;
//! - this module: the stored queries ([`StoredQuery`]), their parameters, and the answer.
//!
//! Decisions:
//! - **Missing required parameter → `XDSStoredQueryMissingParam`** (ITI TF-3 Table 4.2.4.1-2).
//!   ITI TF-2a §3.18.4.1.3 names `XDSStoredQueryParamNumber` for "a required parameter is
//!   missing or a single-valued parameter has several values"; we keep `ParamNumber` for the
//!   second case only, so the client learns which of the two went wrong.
//! - **Result limit**: more than [`max_results`] objects (configuration key
//!   `max_query_results`, env `HIEHUB_MAX_QUERY_RESULTS`, default 1000) is `XDSTooManyResults`
//!   with no objects; ObjectRef and LeafClass alike.
//! - **`$XDSDocumentEntryType` absent**: Stable DocumentEntries only (ITI TF-2a
//!   §3.18.4.1.2.3.6.2, On-Demand Documents Option).
//! - **returnType** other than LeafClass and ObjectRef (including absent, whose schema default
//!   is RegistryObject) is refused with `XDSRegistryError` naming returnType.
//! - **`$homeCommunityId`** is accepted (single-valued) and otherwise ignored: this registry is
//!   one community; results carry the affinity domain's `home_community_id` when configured.
//! - **Status** comes from the `status` column (RPLC deprecates there), never from the XML.
//! - Answers never carry `XDSRegistryMetadataError`: a parameter problem is one of the stored
//!   query codes above or `XDSRegistryError`.

mod leaf;
pub mod params;
pub mod store;

use std::collections::{BTreeSet, HashSet};

use diesel::PgConnection;

use self::params::{Params, Scalar, missing, param_number};
use self::store::{
    AssociationRow, DocFilter, Ends, FolderFilter, FolderRow, ObjectRow, Range, SetFilter,
};
use super::error_code::ErrorCode;
use super::problem::{Problem, Severity};
use super::service::{Answer, AuditDetails, Context, audit_outcome, internal_error};
use super::to_ebxml;
use super::vocabulary as v;
use crate::audit::dicom::{CodedValue, ObjectDetail, ParticipantObject};
use crate::ebxml::{self, WireMessage};
use crate::xml::Element;

pub const ACTION: &str = "urn:ihe:iti:2007:RegistryStoredQuery";
pub const RESPONSE_ACTION: &str = "urn:ihe:iti:2007:RegistryStoredQueryResponse";

/// The default result limit (configuration key `max_query_results`).
pub const DEFAULT_MAX_RESULTS: u32 = 1000;

/// The most objects one answer carries: configuration key `max_query_results` (environment
/// `HIEHUB_MAX_QUERY_RESULTS`, file `hiehub.toml`; default [`DEFAULT_MAX_RESULTS`]; 0 reads as
/// 1). Above it the answer is `XDSTooManyResults`.
pub fn max_results(config: &crate::config::Config) -> usize {
    usize::try_from(config.max_query_results.max(1)).unwrap_or(usize::MAX)
}

macro_rules! stored_queries {
    ($($name:ident = $uuid:literal,)*) => {
        /// The stored queries of ITI TF-2a §3.18.4.1.2.3.7, by their query ids.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum StoredQuery { $($name,)* }

        impl StoredQuery {
            pub const ALL: &'static [StoredQuery] = &[$(StoredQuery::$name,)*];

            /// The query id (`rim:AdhocQuery/@id`).
            pub fn id(self) -> &'static str {
                match self { $(StoredQuery::$name => $uuid,)* }
            }

            pub fn name(self) -> &'static str {
                match self { $(StoredQuery::$name => stringify!($name),)* }
            }

            pub fn from_id(id: &str) -> Option<StoredQuery> {
                let id = id.trim();
                StoredQuery::ALL.iter().copied().find(|q| q.id().eq_ignore_ascii_case(id))
            }
        }
    };
}

stored_queries! {
    FindDocuments = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d",
    FindDocumentsByReferenceId = "urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492",
    FindSubmissionSets = "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9",
    FindFolders = "urn:uuid:958f3006-baad-4929-a4de-ff1114824431",
    GetAll = "urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3",
    GetDocuments = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4",
    GetFolders = "urn:uuid:5737b14c-8a1a-4539-b659-e03a34a5e1e4",
    GetAssociations = "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155",
    GetDocumentsAndAssociations = "urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a",
    GetSubmissionSets = "urn:uuid:51224314-5390-4169-9b91-b1980040715a",
    GetSubmissionSetAndContents = "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83",
    GetFolderAndContents = "urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7",
    GetFoldersForDocument = "urn:uuid:10cae35a-c7f9-4cf5-b61e-fc3278ffb578",
    GetRelatedDocuments = "urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6",
}

/// `query:ResponseOption/@returnType` as ITI-18 allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnType {
    ObjectRef,
    LeafClass,
}

/// What one stored query runs, with its parameters read.
#[derive(Debug, Clone)]
enum Plan {
    FindDocuments(DocFilter),
    FindSubmissionSets(SetFilter),
    FindFolders(FolderFilter),
    GetAll {
        documents: DocFilter,
        sets: SetFilter,
        folders: FolderFilter,
    },
    GetDocuments(DocFilter),
    GetFolders(FolderFilter),
    GetAssociations(Vec<String>),
    GetDocumentsAndAssociations(DocFilter),
    GetSubmissionSets(Vec<String>),
    GetSubmissionSetAndContents {
        set: SetFilter,
        documents: DocFilter,
    },
    GetFolderAndContents {
        folder: FolderFilter,
        documents: DocFilter,
    },
    GetFoldersForDocument(DocFilter),
    GetRelatedDocuments {
        document: DocFilter,
        types: Vec<String>,
        related: DocFilter,
    },
}

/// What a query found, in answer order.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub(crate) submission_sets: Vec<ObjectRow>,
    pub(crate) folders: Vec<FolderRow>,
    pub(crate) documents: Vec<ObjectRow>,
    pub(crate) associations: Vec<AssociationRow>,
}

impl Found {
    pub(crate) fn len(&self) -> usize {
        self.submission_sets.len()
            + self.folders.len()
            + self.documents.len()
            + self.associations.len()
    }

    fn patients(&self) -> BTreeSet<&str> {
        self.submission_sets
            .iter()
            .chain(&self.documents)
            .map(|r| r.patient_id.as_str())
            .chain(self.folders.iter().map(|f| f.patient_id.as_str()))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Parameters → plan
// ---------------------------------------------------------------------------------------------

const DE_PATIENT: &str = "$XDSDocumentEntryPatientId";
const DE_STATUS: &str = "$XDSDocumentEntryStatus";
const DE_ENTRY_UUID: &str = "$XDSDocumentEntryEntryUUID";
const DE_UNIQUE_ID: &str = "$XDSDocumentEntryUniqueId";
const DE_TYPE: &str = "$XDSDocumentEntryType";
const DE_FORMAT: &str = "$XDSDocumentEntryFormatCode";
const DE_CONFIDENTIALITY: &str = "$XDSDocumentEntryConfidentialityCode";
const SS_STATUS: &str = "$XDSSubmissionSetStatus";
const SS_ENTRY_UUID: &str = "$XDSSubmissionSetEntryUUID";
const SS_UNIQUE_ID: &str = "$XDSSubmissionSetUniqueId";
const FO_STATUS: &str = "$XDSFolderStatus";
const FO_ENTRY_UUID: &str = "$XDSFolderEntryUUID";
const FO_UNIQUE_ID: &str = "$XDSFolderUniqueId";
const HOME: &str = "$homeCommunityId";

fn range(p: &Params, from: &str, to: &str) -> Result<Range, Problem> {
    Ok(Range {
        from: p.time(from)?,
        to: p.time(to)?,
    })
}

/// `$XDSDocumentEntryType`: the objectTypes; Stable only when absent.
fn entry_types(p: &Params) -> Result<Option<Vec<String>>, Problem> {
    if p.has(DE_TYPE) {
        Ok(Some(p.multi_flat(DE_TYPE)?))
    } else {
        Ok(Some(vec![v::DOCUMENT_ENTRY_STABLE.to_owned()]))
    }
}

/// The DocumentEntry filters shared by FindDocuments and FindDocumentsByReferenceId.
fn find_documents_filter(p: &Params) -> Result<DocFilter, Problem> {
    Ok(DocFilter {
        patient: Some(p.patient(DE_PATIENT)?),
        statuses: Some(p.required_multi_flat(DE_STATUS)?),
        object_types: entry_types(p)?,
        class_codes: p.codes("$XDSDocumentEntryClassCode")?,
        type_codes: p.codes("$XDSDocumentEntryTypeCode")?,
        practice_setting_codes: p.codes("$XDSDocumentEntryPracticeSettingCode")?,
        healthcare_facility_type_codes: p.codes("$XDSDocumentEntryHealthcareFacilityTypeCode")?,
        format_codes: p.codes(DE_FORMAT)?,
        event_codes: p.codes("$XDSDocumentEntryEventCodeList")?,
        confidentiality_codes: p.codes(DE_CONFIDENTIALITY)?,
        author_persons: p.multi("$XDSDocumentEntryAuthorPerson")?,
        creation_time: range(
            p,
            "$XDSDocumentEntryCreationTimeFrom",
            "$XDSDocumentEntryCreationTimeTo",
        )?,
        service_start_time: range(
            p,
            "$XDSDocumentEntryServiceStartTimeFrom",
            "$XDSDocumentEntryServiceStartTimeTo",
        )?,
        service_stop_time: range(
            p,
            "$XDSDocumentEntryServiceStopTimeFrom",
            "$XDSDocumentEntryServiceStopTimeTo",
        )?,
        ..DocFilter::default()
    })
}

/// Exactly one of two id parameters (entryUUID or uniqueId), multi-valued or single-valued.
/// Returns (entry uuids, unique ids), one of them set.
type Ids = (Option<Vec<String>>, Option<Vec<String>>);

fn one_of(p: &Params, uuid: &str, unique: &str, multi: bool) -> Result<Ids, Problem> {
    let read = |name: &str| -> Result<Vec<String>, Problem> {
        if multi {
            p.multi_flat(name)
        } else {
            Ok(p.single(name)?
                .map(|s| vec![s.as_str().to_owned()])
                .unwrap_or_default())
        }
    };
    match (p.has(uuid), p.has(unique)) {
        (true, true) => Err(param_number(
            &format!("{uuid} / {unique}"),
            "give one of the two parameters, not both".into(),
        )),
        (false, false) => Err(missing(&format!("{uuid} or {unique}"))),
        (true, false) => Ok((Some(read(uuid)?), None)),
        (false, true) => Ok((None, Some(read(unique)?))),
    }
}

/// The DocumentEntry filters GetAll, GetSubmissionSetAndContents and GetFolderAndContents
/// apply to the DocumentEntries they return.
fn content_filter(p: &Params) -> Result<DocFilter, Problem> {
    Ok(DocFilter {
        object_types: entry_types(p)?,
        format_codes: p.codes(DE_FORMAT)?,
        confidentiality_codes: p.codes(DE_CONFIDENTIALITY)?,
        ..DocFilter::default()
    })
}

fn plan(q: StoredQuery, p: &Params) -> Result<Plan, Problem> {
    // Read for its cardinality only: one community.
    p.single(HOME)?;
    Ok(match q {
        StoredQuery::FindDocuments => Plan::FindDocuments(find_documents_filter(p)?),
        StoredQuery::FindDocumentsByReferenceId => {
            let mut f = find_documents_filter(p)?;
            let name = "$XDSDocumentEntryReferenceIdList";
            if !p.has(name) {
                return Err(missing(name));
            }
            f.reference_ids = p.multi(name)?;
            Plan::FindDocuments(f)
        }
        StoredQuery::FindSubmissionSets => Plan::FindSubmissionSets(SetFilter {
            patient: Some(p.patient("$XDSSubmissionSetPatientId")?),
            statuses: Some(p.required_multi_flat(SS_STATUS)?),
            source_ids: opt_multi(p, "$XDSSubmissionSetSourceId")?,
            content_type_codes: opt_multi(p, "$XDSSubmissionSetContentType")?
                .map(|c| c.iter().map(|c| params::code_key(c)).collect()),
            author_person: p
                .single("$XDSSubmissionSetAuthorPerson")?
                .map(|s| s.as_str().to_owned()),
            submission_time: range(
                p,
                "$XDSSubmissionSetSubmissionTimeFrom",
                "$XDSSubmissionSetSubmissionTimeTo",
            )?,
            ..SetFilter::default()
        }),
        StoredQuery::FindFolders => Plan::FindFolders(FolderFilter {
            patient: Some(p.patient("$XDSFolderPatientId")?),
            statuses: Some(p.required_multi_flat(FO_STATUS)?),
            codes: p.codes("$XDSFolderCodeList")?,
            last_update_time: range(
                p,
                "$XDSFolderLastUpdateTimeFrom",
                "$XDSFolderLastUpdateTimeTo",
            )?,
            ..FolderFilter::default()
        }),
        StoredQuery::GetAll => {
            let patient = p.patient("$patientId")?;
            let mut documents = content_filter(p)?;
            documents.patient = Some(patient.clone());
            documents.statuses = Some(p.required_multi_flat(DE_STATUS)?);
            Plan::GetAll {
                documents,
                sets: SetFilter {
                    patient: Some(patient.clone()),
                    statuses: Some(p.required_multi_flat(SS_STATUS)?),
                    ..SetFilter::default()
                },
                folders: FolderFilter {
                    patient: Some(patient),
                    statuses: Some(p.required_multi_flat(FO_STATUS)?),
                    ..FolderFilter::default()
                },
            }
        }
        StoredQuery::GetDocuments | StoredQuery::GetDocumentsAndAssociations => {
            let (entry_uuids, unique_ids) = one_of(p, DE_ENTRY_UUID, DE_UNIQUE_ID, true)?;
            let f = DocFilter {
                entry_uuids,
                unique_ids,
                ..DocFilter::default()
            };
            if q == StoredQuery::GetDocuments {
                Plan::GetDocuments(f)
            } else {
                Plan::GetDocumentsAndAssociations(f)
            }
        }
        StoredQuery::GetFolders => {
            let (entry_uuids, unique_ids) = one_of(p, FO_ENTRY_UUID, FO_UNIQUE_ID, true)?;
            Plan::GetFolders(FolderFilter {
                entry_uuids,
                unique_ids,
                ..FolderFilter::default()
            })
        }
        StoredQuery::GetAssociations => Plan::GetAssociations(p.required_multi_flat("$uuid")?),
        StoredQuery::GetSubmissionSets => Plan::GetSubmissionSets(p.required_multi_flat("$uuid")?),
        StoredQuery::GetSubmissionSetAndContents => {
            let (entry_uuids, unique_ids) = one_of(p, SS_ENTRY_UUID, SS_UNIQUE_ID, false)?;
            Plan::GetSubmissionSetAndContents {
                set: SetFilter {
                    entry_uuids,
                    unique_ids,
                    ..SetFilter::default()
                },
                documents: content_filter(p)?,
            }
        }
        StoredQuery::GetFolderAndContents => {
            let (entry_uuids, unique_ids) = one_of(p, FO_ENTRY_UUID, FO_UNIQUE_ID, false)?;
            Plan::GetFolderAndContents {
                folder: FolderFilter {
                    entry_uuids,
                    unique_ids,
                    ..FolderFilter::default()
                },
                documents: content_filter(p)?,
            }
        }
        StoredQuery::GetFoldersForDocument => {
            let (entry_uuids, unique_ids) = one_of(p, DE_ENTRY_UUID, DE_UNIQUE_ID, false)?;
            Plan::GetFoldersForDocument(DocFilter {
                entry_uuids,
                unique_ids,
                ..DocFilter::default()
            })
        }
        StoredQuery::GetRelatedDocuments => {
            let (entry_uuids, unique_ids) = one_of(p, DE_ENTRY_UUID, DE_UNIQUE_ID, false)?;
            Plan::GetRelatedDocuments {
                document: DocFilter {
                    entry_uuids,
                    unique_ids,
                    ..DocFilter::default()
                },
                types: p.required_multi_flat("$AssociationTypes")?,
                related: DocFilter {
                    object_types: entry_types(p)?,
                    ..DocFilter::default()
                },
            }
        }
    })
}

/// `$XDSAssociationStatus` (XDS Metadata Update, ITI TF-2a §3.18.4.1.2.3.5): the statuses of the
/// associations a query follows and returns; Approved when absent. `$MetadataLevel` (1 or 2) is
/// checked here too, but both levels get the same answer (a known gap, see ARCHITECTURE.md).
fn association_statuses(p: &Params) -> Result<Vec<String>, Problem> {
    if let Some(level) = p.single("$MetadataLevel")?
        && !matches!(level.as_str(), "1" | "2")
    {
        return Err(error(
            ErrorCode::XDSRegistryError,
            "StoredQuery.metadataLevel.value",
            "$MetadataLevel",
            format!("$MetadataLevel is {}; it must be 1 or 2", level.as_str()),
        ));
    }
    Ok(opt_multi(p, "$XDSAssociationStatus")?
        .unwrap_or_else(|| vec![v::STATUS_APPROVED.to_owned()]))
}

fn opt_multi(p: &Params, name: &str) -> Result<Option<Vec<String>>, Problem> {
    if p.has(name) {
        Ok(Some(p.multi_flat(name)?))
    } else {
        Ok(None)
    }
}

// ---------------------------------------------------------------------------------------------
// Plan → rows
// ---------------------------------------------------------------------------------------------

fn has_member() -> Vec<String> {
    vec![v::ASSOCIATION_HAS_MEMBER.to_owned()]
}

fn uuids<'a>(ids: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    ids.into_iter().cloned().collect()
}

/// Runs the plan; follows and returns only associations whose status is one of `statuses`;
/// reads at most `limit` rows per table query (the caller passes its result limit + 1).
fn execute(
    conn: &mut PgConnection,
    plan: Plan,
    statuses: &[String],
    limit: i64,
) -> diesel::QueryResult<Found> {
    let mut found = Found::default();
    match plan {
        Plan::FindDocuments(f) | Plan::GetDocuments(f) => {
            found.documents = store::documents(conn, &f, limit)?;
        }
        Plan::FindSubmissionSets(f) => {
            found.submission_sets = store::submission_sets(conn, &f, limit)?;
        }
        Plan::FindFolders(f) | Plan::GetFolders(f) => {
            found.folders = store::folders(conn, &f, limit)?;
        }
        Plan::GetAll {
            documents,
            sets,
            folders,
        } => {
            found.submission_sets = store::submission_sets(conn, &sets, limit)?;
            found.folders = store::folders(conn, &folders, limit)?;
            found.documents = store::documents(conn, &documents, limit)?;
            let mut ids: Vec<String> = uuids(
                found
                    .submission_sets
                    .iter()
                    .chain(&found.documents)
                    .map(|r| &r.entry_uuid),
            );
            ids.extend(found.folders.iter().map(|f| f.entry_uuid.clone()));
            let mut assocs = store::associations(conn, &ids, Ends::Both, None, statuses, limit)?;
            // SubmissionSet HasMember Association (a document filed into an existing Folder).
            let assoc_ids = uuids(assocs.iter().map(|a| &a.entry_uuid));
            let set_ids = uuids(found.submission_sets.iter().map(|r| &r.entry_uuid));
            let mut to_assocs = store::associations(
                conn,
                &assoc_ids,
                Ends::Target,
                Some(&has_member()),
                statuses,
                limit,
            )?;
            to_assocs.retain(|a| set_ids.contains(&a.source_uuid));
            assocs.extend(to_assocs);
            found.associations = assocs;
        }
        Plan::GetAssociations(ids) => {
            found.associations =
                store::associations(conn, &ids, Ends::Either, None, statuses, limit)?;
        }
        Plan::GetDocumentsAndAssociations(f) => {
            found.documents = store::documents(conn, &f, limit)?;
            let ids = uuids(found.documents.iter().map(|r| &r.entry_uuid));
            found.associations =
                store::associations(conn, &ids, Ends::Either, None, statuses, limit)?;
        }
        Plan::GetSubmissionSets(ids) => {
            let assocs = store::associations(
                conn,
                &ids,
                Ends::Target,
                Some(&has_member()),
                statuses,
                limit,
            )?;
            let sources: Vec<String> = uuids(assocs.iter().map(|a| &a.source_uuid));
            found.submission_sets = store::submission_sets(
                conn,
                &SetFilter {
                    entry_uuids: Some(sources),
                    ..SetFilter::default()
                },
                limit,
            )?;
            let set_ids: HashSet<&str> = found
                .submission_sets
                .iter()
                .map(|r| r.entry_uuid.as_str())
                .collect();
            found.associations = assocs
                .into_iter()
                .filter(|a| set_ids.contains(a.source_uuid.as_str()))
                .collect();
        }
        Plan::GetSubmissionSetAndContents { set, documents } => {
            found.submission_sets = store::submission_sets(conn, &set, limit)?;
            let set_ids = uuids(found.submission_sets.iter().map(|r| &r.entry_uuid));
            let members = store::associations(
                conn,
                &set_ids,
                Ends::Source,
                Some(&has_member()),
                statuses,
                limit,
            )?;
            let targets = uuids(members.iter().map(|a| &a.target_uuid));
            found.documents = store::documents(
                conn,
                &DocFilter {
                    entry_uuids: Some(targets.clone()),
                    ..documents
                },
                limit,
            )?;
            found.folders = store::folders(
                conn,
                &FolderFilter {
                    entry_uuids: Some(targets.clone()),
                    ..FolderFilter::default()
                },
                limit,
            )?;
            // Folder HasMember DocumentEntry associations submitted in this SubmissionSet.
            let inner = store::associations_by_id(conn, &targets, statuses)?;
            let docs: HashSet<&str> = found
                .documents
                .iter()
                .map(|r| r.entry_uuid.as_str())
                .collect();
            let folders: HashSet<&str> = found
                .folders
                .iter()
                .map(|r| r.entry_uuid.as_str())
                .collect();
            let inner: Vec<AssociationRow> = inner
                .into_iter()
                .filter(|a| docs.contains(a.target_uuid.as_str()))
                .collect();
            let inner_ids: HashSet<&str> = inner.iter().map(|a| a.entry_uuid.as_str()).collect();
            let kept: Vec<AssociationRow> = members
                .iter()
                .filter(|a| {
                    let t = a.target_uuid.as_str();
                    docs.contains(t) || folders.contains(t) || inner_ids.contains(t)
                })
                .cloned()
                .collect();
            found.associations = kept.into_iter().chain(inner).collect();
        }
        Plan::GetFolderAndContents { folder, documents } => {
            found.folders = store::folders(conn, &folder, limit)?;
            let folder_ids = uuids(found.folders.iter().map(|r| &r.entry_uuid));
            let members = store::associations(
                conn,
                &folder_ids,
                Ends::Source,
                Some(&has_member()),
                statuses,
                limit,
            )?;
            let targets = uuids(members.iter().map(|a| &a.target_uuid));
            found.documents = if targets.is_empty() {
                Vec::new()
            } else {
                store::documents(
                    conn,
                    &DocFilter {
                        entry_uuids: Some(targets),
                        ..documents
                    },
                    limit,
                )?
            };
            let docs: HashSet<&str> = found
                .documents
                .iter()
                .map(|r| r.entry_uuid.as_str())
                .collect();
            found.associations = members
                .into_iter()
                .filter(|a| docs.contains(a.target_uuid.as_str()))
                .collect();
        }
        Plan::GetFoldersForDocument(f) => {
            let docs = store::documents(conn, &f, limit)?;
            let ids = uuids(docs.iter().map(|r| &r.entry_uuid));
            let assocs = store::associations(
                conn,
                &ids,
                Ends::Target,
                Some(&has_member()),
                statuses,
                limit,
            )?;
            let sources = uuids(assocs.iter().map(|a| &a.source_uuid));
            if !sources.is_empty() {
                found.folders = store::folders(
                    conn,
                    &FolderFilter {
                        entry_uuids: Some(sources),
                        ..FolderFilter::default()
                    },
                    limit,
                )?;
            }
        }
        Plan::GetRelatedDocuments {
            document,
            types,
            related,
        } => {
            let docs = store::documents(conn, &document, limit)?;
            let ids = uuids(docs.iter().map(|r| &r.entry_uuid));
            let assocs =
                store::associations(conn, &ids, Ends::Either, Some(&types), statuses, limit)?;
            if assocs.is_empty() {
                return Ok(found);
            }
            let own: HashSet<&str> = ids.iter().map(String::as_str).collect();
            let others: Vec<String> = assocs
                .iter()
                .flat_map(|a| [&a.source_uuid, &a.target_uuid])
                .filter(|id| !own.contains(id.as_str()))
                .cloned()
                .collect();
            let related_docs = store::documents(
                conn,
                &DocFilter {
                    entry_uuids: Some(others),
                    ..related
                },
                limit,
            )?;
            let kept: HashSet<&str> = related_docs
                .iter()
                .map(|r| r.entry_uuid.as_str())
                .chain(own.iter().copied())
                .collect();
            found.associations = assocs
                .iter()
                .filter(|a| {
                    kept.contains(a.source_uuid.as_str()) && kept.contains(a.target_uuid.as_str())
                })
                .cloned()
                .collect();
            if !found.associations.is_empty() {
                found.documents = docs.into_iter().chain(related_docs).collect();
            }
        }
    }
    Ok(found)
}

// ---------------------------------------------------------------------------------------------
// Rows → answer
// ---------------------------------------------------------------------------------------------

fn error(code: ErrorCode, rule: &'static str, context: &str, message: String) -> Problem {
    Problem {
        code,
        severity: Severity::Error,
        rule,
        context: context.to_owned(),
        message,
    }
}

/// The registered object as stored, with what the registry keeps in columns applied: status,
/// Folder lastUpdateTime, homeCommunityId.
fn leaf(
    xml: &str,
    status: &str,
    last_update: Option<&str>,
    home: Option<&str>,
) -> Result<ebxml::Identifiable, String> {
    let root = crate::xml::parse(xml.as_bytes(), &crate::xml::Limits::default())
        .map_err(|e| e.to_string())?;
    let request = ebxml::SubmitObjectsRequest::decode(&root).map_err(|e| e.to_string())?;
    let mut object = request
        .objects
        .objects
        .into_iter()
        .next()
        .ok_or_else(|| "stored metadata holds no object".to_owned())?;
    let o = match &mut object {
        ebxml::Identifiable::ExtrinsicObject(e) => &mut e.object,
        ebxml::Identifiable::RegistryPackage(p) => &mut p.object,
        ebxml::Identifiable::Association(a) => &mut a.object,
        other => return Err(format!("unexpected stored object {}", other.id())),
    };
    o.status = Some(status.to_owned());
    if let Some(h) = home {
        o.home = Some(h.to_owned());
    }
    if let Some(t) = last_update {
        o.slots.retain(|s| s.name != v::SLOT_LAST_UPDATE_TIME);
        o.slots
            .insert(0, ebxml::Slot::new(v::SLOT_LAST_UPDATE_TIME, [t]));
    }
    Ok(object)
}

fn dtm_seconds(t: &chrono::NaiveDateTime) -> String {
    t.format("%Y%m%d%H%M%S").to_string()
}

/// The LeafClass objects of `found` as XML fragments, in answer order. Stored objects are cut
/// out and patched ([`leaf::fragment`]); folders (whose lastUpdateTime slot is the registry's)
/// and any row not in our writer's shape go through parse → patch → encode.
fn leaf_objects(found: &Found, home: Option<&str>) -> Result<Vec<String>, String> {
    fn fast_or_slow(
        xml: &str,
        status: &str,
        last_update: Option<&str>,
        home: Option<&str>,
    ) -> Result<String, String> {
        if last_update.is_none()
            && let Ok(f) = leaf::fragment(xml, status, home)
        {
            return Ok(f);
        }
        let object = leaf(xml, status, last_update, home)?;
        let encoded = ebxml::SubmitObjectsRequest {
            request: ebxml::RegistryRequest::default(),
            objects: ebxml::RegistryObjectList {
                objects: vec![object],
            },
        }
        .to_xml(ebxml::EncodeOptions::INLINE)
        .xml;
        let status = status.to_owned();
        leaf::fragment(&encoded, &status, home)
            .map_err(|_| "re-encoded object not in the writer's shape".to_owned())
    }
    let mut out = Vec::with_capacity(found.len());
    for r in &found.submission_sets {
        out.push(fast_or_slow(&r.metadata_xml, &r.status, None, home)?);
    }
    for f in &found.folders {
        let t = dtm_seconds(&f.last_update_time);
        out.push(fast_or_slow(&f.metadata_xml, &f.status, Some(&t), home)?);
    }
    for r in &found.documents {
        out.push(fast_or_slow(&r.metadata_xml, &r.status, None, home)?);
    }
    for a in &found.associations {
        out.push(fast_or_slow(&a.metadata_xml, &a.status, None, home)?);
    }
    Ok(out)
}

fn object_refs(found: &Found, home: Option<&str>) -> Vec<ebxml::Identifiable> {
    let ids = found
        .submission_sets
        .iter()
        .map(|r| &r.entry_uuid)
        .chain(found.folders.iter().map(|f| &f.entry_uuid))
        .chain(found.documents.iter().map(|r| &r.entry_uuid))
        .chain(found.associations.iter().map(|a| &a.entry_uuid));
    ids.map(|id| {
        ebxml::Identifiable::ObjectRef(ebxml::ObjectRef {
            home: home.map(str::to_owned),
            ..ebxml::ObjectRef::new(id.clone())
        })
    })
    .collect()
}

fn response_xml(problems: &[Problem], objects: Vec<ebxml::Identifiable>) -> String {
    let response = to_ebxml::registry_response(problems);
    ebxml::AdhocQueryResponse {
        response,
        start_index: None,
        total_result_count: None,
        objects: ebxml::RegistryObjectList { objects },
    }
    .to_xml(ebxml::EncodeOptions::INLINE)
    .xml
}

fn answer(
    problems: &[Problem],
    objects: Vec<ebxml::Identifiable>,
    participants: Vec<ParticipantObject>,
) -> Answer {
    let (outcome, description) = audit_outcome(problems);
    Answer {
        body_xml: response_xml(problems, objects),
        attachments: Vec::new(),
        audit: AuditDetails {
            outcome,
            description,
            participant_objects: participants,
        },
    }
}

/// The audit participant objects: the query (ParticipantObjectQuery = the AdhocQueryRequest,
/// base64 in the audit message) and the patient when one is known.
fn participants(
    request: &ebxml::AdhocQueryRequest,
    params: &Params,
    patient: Option<&str>,
) -> Vec<ParticipantObject> {
    let query_xml = request.to_xml(ebxml::EncodeOptions::INLINE).xml;
    let mut q = ParticipantObject::query(
        CodedValue::ihe_transaction("ITI-18", "Registry Stored Query"),
        request.adhoc_query.object.id.clone(),
        query_xml.into_bytes(),
    );
    if let Ok(Some(Scalar::Text(h))) = params.single(HOME) {
        q.details.push(ObjectDetail::new("ihe:homeCommunityID", h));
    }
    let mut out = Vec::new();
    if let Some(p) = patient {
        out.push(ParticipantObject::patient(p));
    }
    out.push(q);
    out
}

/// The patient a query names in its parameters, as stored.
fn patient_param(params: &Params) -> Option<String> {
    [
        DE_PATIENT,
        "$XDSSubmissionSetPatientId",
        "$XDSFolderPatientId",
        "$patientId",
    ]
    .iter()
    .find_map(|n| params.patient(n).ok())
}

/// Handles the SOAP body `body` of one ITI-18 request; `max` is [`max_results`].
pub async fn handle(ctx: &Context, body: &Element, max: usize) -> Answer {
    let request = match ebxml::AdhocQueryRequest::decode(body) {
        Ok(r) => r,
        Err(e) => {
            let p = error(
                ErrorCode::XDSRegistryError,
                "Message.schema.valid",
                e.path(),
                format!("the message does not follow the ebRS 3.0 AdhocQueryRequest schema: {e}"),
            );
            return answer(&[p], Vec::new(), Vec::new());
        }
    };
    let params = Params::from_slots(&request.adhoc_query.object.slots);
    let query_id = request.adhoc_query.object.id.clone();
    let named_patient = patient_param(&params);
    let fail = |p: Problem| {
        answer(
            &[p],
            Vec::new(),
            participants(&request, &params, named_patient.as_deref()),
        )
    };

    let Some(query) = StoredQuery::from_id(&query_id) else {
        return fail(error(
            ErrorCode::XDSUnknownStoredQuery,
            "StoredQuery.id.known",
            &format!("AdhocQuery '{query_id}'"),
            "not a stored query of ITI TF-2a §3.18.4.1.2.3.7".into(),
        ));
    };
    let return_type = match request.response_option.return_type {
        Some(ebxml::ReturnType::LeafClass) => ReturnType::LeafClass,
        Some(ebxml::ReturnType::ObjectRef) => ReturnType::ObjectRef,
        other => {
            return fail(error(
                ErrorCode::XDSRegistryError,
                "StoredQuery.returnType.supported",
                "ResponseOption/@returnType",
                format!(
                    "returnType {} is not supported: use LeafClass or ObjectRef",
                    other.map_or("(absent: RegistryObject)", ebxml::ReturnType::as_str)
                ),
            ));
        }
    };
    let plan = match plan(query, &params) {
        Ok(p) => p,
        Err(p) => return fail(p),
    };
    let statuses = match association_statuses(&params) {
        Ok(s) => s,
        Err(p) => return fail(p),
    };
    let limit = i64::try_from(max).unwrap_or(i64::MAX - 1) + 1;
    // Patient consent (issue 6): only what the requester may see is counted and answered.
    let inputs = crate::consent::exits::Inputs::of(query.name(), &params);
    let found = ctx
        .consent
        .select_iti18(&ctx.db, limit, max, inputs, move |conn, lim| {
            execute(conn, plan.clone(), &statuses, lim)
        })
        .await;
    let found = match found {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, query = query.name(), "ITI-18 query failed");
            return fail(internal_error(ErrorCode::XDSRegistryError, query.name()));
        }
    };
    let patients = found.patients();
    let patient = named_patient.clone().or_else(|| {
        (patients.len() == 1)
            .then(|| patients.iter().next().map(|p| (*p).to_owned()))
            .flatten()
    });
    let context = format!("{} ({})", query.name(), query.id());
    if found.len() > max {
        return answer(
            &[error(
                ErrorCode::XDSTooManyResults,
                "StoredQuery.results.limit",
                &context,
                format!("the query matches more than {max} objects; narrow it down"),
            )],
            Vec::new(),
            participants(&request, &params, patient.as_deref()),
        );
    }
    let home = ctx.domain.home_community_id().map(|h| h.to_urn());
    let objects = match return_type {
        ReturnType::ObjectRef => object_refs(&found, home.as_deref()),
        ReturnType::LeafClass => {
            if patients.len() > 1 {
                return answer(
                    &[error(
                        ErrorCode::XDSResultNotSinglePatient,
                        "StoredQuery.results.singlePatient",
                        &context,
                        format!(
                            "the LeafClass result would span {} patients; ask for ObjectRef or query one patient",
                            patients.len()
                        ),
                    )],
                    Vec::new(),
                    participants(&request, &params, None),
                );
            }
            let spliced = leaf_objects(&found, home.as_deref()).and_then(|fragments| {
                leaf::splice(&response_xml(&[], Vec::new()), &fragments)
                    .map_err(|_| "empty response not in the writer's shape".to_owned())
            });
            return match spliced {
                Ok(body_xml) => {
                    let (outcome, description) = audit_outcome(&[]);
                    Answer {
                        body_xml,
                        attachments: Vec::new(),
                        audit: AuditDetails {
                            outcome,
                            description,
                            participant_objects: participants(
                                &request,
                                &params,
                                patient.as_deref(),
                            ),
                        },
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, query = query.name(), "stored metadata unreadable");
                    fail(internal_error(ErrorCode::XDSRegistryError, query.name()))
                }
            };
        }
    };
    answer(
        &[],
        objects,
        participants(&request, &params, patient.as_deref()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_ids_are_distinct_and_found() {
        let mut seen = HashSet::new();
        for &q in StoredQuery::ALL {
            assert!(seen.insert(q.id()), "{} twice", q.id());
            assert_eq!(StoredQuery::from_id(q.id()), Some(q));
        }
        assert_eq!(StoredQuery::ALL.len(), 14);
        assert_eq!(
            StoredQuery::from_id("urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"),
            Some(StoredQuery::FindDocuments)
        );
    }

    fn params(slots: &[(&str, &str)]) -> Params {
        let slots: Vec<ebxml::Slot> = slots
            .iter()
            .map(|(n, v)| ebxml::Slot::new(*n, [*v]))
            .collect();
        Params::from_slots(&slots)
    }

    #[test]
    fn required_and_exclusive_parameters() {
        let p = params(&[(DE_STATUS, "('urn:x')")]);
        let e = plan(StoredQuery::FindDocuments, &p).unwrap_err();
        assert_eq!(e.code, ErrorCode::XDSStoredQueryMissingParam);
        assert!(e.context.contains(DE_PATIENT));

        let p = params(&[(DE_ENTRY_UUID, "('urn:uuid:a')"), (DE_UNIQUE_ID, "('1.2')")]);
        let e = plan(StoredQuery::GetDocuments, &p).unwrap_err();
        assert_eq!(e.code, ErrorCode::XDSStoredQueryParamNumber);
        let e = plan(StoredQuery::GetDocuments, &params(&[])).unwrap_err();
        assert_eq!(e.code, ErrorCode::XDSStoredQueryMissingParam);

        let p = params(&[
            (DE_PATIENT, "'a^^^&1.2&ISO'"),
            (DE_STATUS, "('urn:x')"),
            ("$Unknown", "whatever, not even ebRS"),
        ]);
        let Plan::FindDocuments(f) = plan(StoredQuery::FindDocuments, &p).unwrap() else {
            panic!("FindDocuments plan");
        };
        assert_eq!(f.patient.as_deref(), Some("a^^^&1.2&ISO"));
        assert_eq!(
            f.object_types,
            Some(vec![v::DOCUMENT_ENTRY_STABLE.to_owned()])
        );
    }
}
