//! The audit messages hiehub writes about itself (issue 4 item 2), per DICOM PS3.15 A.5.3 and
//! IHE ITI TF-2 3.20, and the conversion from the sink's [`AuditEvent`].

use chrono::{DateTime, Utc};

use super::model::*;
use crate::audit::AuditEvent;

/// EventIDs (DICOM CID 400) the builders use.
pub mod event_id {
    use super::CodedValue;

    pub fn application_activity() -> CodedValue {
        CodedValue::dcm("110100", "Application Activity")
    }
    pub fn security_alert() -> CodedValue {
        CodedValue::dcm("110113", "Security Alert")
    }
}

/// RoleIDCodes (DICOM CID 402).
pub mod role {
    use super::CodedValue;

    pub fn application() -> CodedValue {
        CodedValue::dcm("110150", "Application")
    }
    pub fn application_launcher() -> CodedValue {
        CodedValue::dcm("110151", "Application Launcher")
    }
    pub fn destination() -> CodedValue {
        CodedValue::dcm("110152", "Destination Role ID")
    }
    pub fn source() -> CodedValue {
        CodedValue::dcm("110153", "Source Role ID")
    }
}

fn with_role(mut p: ActiveParticipant, role: CodedValue, is_requestor: bool) -> ActiveParticipant {
    if !p.role_id_codes.iter().any(|r| r.code == role.code) {
        p.role_id_codes.insert(0, role);
    }
    p.user_is_requestor = is_requestor;
    p
}

fn message(
    event: EventIdentification,
    active_participants: Vec<ActiveParticipant>,
    audit_source: AuditSourceIdentification,
    participant_objects: Vec<ParticipantObject>,
) -> AuditMessage {
    AuditMessage {
        format: Format::Dicom,
        event,
        active_participants,
        audit_source,
        additional_audit_sources: Vec::new(),
        participant_objects,
    }
}

/// This hiehub process as an active participant: UserID the audit source id
/// (`hiehub@host`), AlternativeUserID the process id, network access point the host name.
pub fn this_process() -> ActiveParticipant {
    let id = crate::audit::source_id();
    let host = id.split_once('@').map(|(_, h)| h.to_owned());
    let p = ActiveParticipant::new(id).with_alternative_user_id(std::process::id().to_string());
    match host {
        Some(h) => p.with_network_access_point(h),
        None => p,
    }
}

/// This hiehub as the audit source (type 4, application server).
pub fn this_audit_source() -> AuditSourceIdentification {
    AuditSourceIdentification::application_server(crate::audit::source_id())
}

/// EventTypeCode of an Application Activity event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationActivity {
    /// 110120 Application Start
    Start,
    /// 110121 Application Stop
    Stop,
}

impl ApplicationActivity {
    pub fn code(self) -> CodedValue {
        match self {
            ApplicationActivity::Start => CodedValue::dcm("110120", "Application Start"),
            ApplicationActivity::Stop => CodedValue::dcm("110121", "Application Stop"),
        }
    }
}

/// Application Activity (PS3.15 A.5.3.1): EventID 110100, action E, type Start or Stop. The
/// application gets role 110150 "Application" (not the requestor); each launcher, the person or
/// process that started or stopped it, role 110151 "Application Launcher" and requestor.
pub fn application_activity(
    activity: ApplicationActivity,
    time: DateTime<Utc>,
    outcome: Outcome,
    application: ActiveParticipant,
    launchers: Vec<ActiveParticipant>,
    audit_source: AuditSourceIdentification,
) -> AuditMessage {
    let mut event = EventIdentification::new(
        event_id::application_activity(),
        Some(EventAction::Execute),
        time,
        outcome,
    );
    event.event_type_codes.push(activity.code());
    let mut participants = vec![with_role(application, role::application(), false)];
    participants.extend(
        launchers
            .into_iter()
            .map(|l| with_role(l, role::application_launcher(), true)),
    );
    message(event, participants, audit_source, Vec::new())
}

/// EventTypeCode of a Security Alert (DICOM CID 403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityAlertType {
    /// 110126: e.g. a TLS handshake or client certificate refused.
    NodeAuthentication,
    EmergencyOverrideStarted,
    NetworkConfiguration,
    SecurityConfiguration,
    HardwareConfiguration,
    SoftwareConfiguration,
    UseOfRestrictedFunction,
    AuditRecordingStopped,
    AuditRecordingStarted,
    ObjectSecurityAttributesChanged,
    SecurityRolesChanged,
    UserSecurityAttributesChanged,
    EmergencyOverrideStopped,
    RemoteServiceOperationStarted,
    RemoteServiceOperationStopped,
    LocalServiceOperationStarted,
    LocalServiceOperationStopped,
    /// A code outside CID 403 (DICOM's practice: a private scheme such as `99HIEHUB`).
    Other(CodedValue),
}

impl SecurityAlertType {
    pub fn code(&self) -> CodedValue {
        use SecurityAlertType::*;
        let (code, meaning) = match self {
            NodeAuthentication => ("110126", "Node Authentication"),
            EmergencyOverrideStarted => ("110127", "Emergency Override Started"),
            NetworkConfiguration => ("110128", "Network Configuration"),
            SecurityConfiguration => ("110129", "Security Configuration"),
            HardwareConfiguration => ("110130", "Hardware Configuration"),
            SoftwareConfiguration => ("110131", "Software Configuration"),
            UseOfRestrictedFunction => ("110132", "Use of Restricted Function"),
            AuditRecordingStopped => ("110133", "Audit Recording Stopped"),
            AuditRecordingStarted => ("110134", "Audit Recording Started"),
            ObjectSecurityAttributesChanged => ("110135", "Object Security Attributes Changed"),
            SecurityRolesChanged => ("110136", "Security Roles Changed"),
            UserSecurityAttributesChanged => ("110137", "User security Attributes Changed"),
            EmergencyOverrideStopped => ("110138", "Emergency Override Stopped"),
            RemoteServiceOperationStarted => ("110139", "Remote Service Operation Started"),
            RemoteServiceOperationStopped => ("110140", "Remote Service Operation Stopped"),
            LocalServiceOperationStarted => ("110141", "Local Service Operation Started"),
            LocalServiceOperationStopped => ("110142", "Local Service Operation Stopped"),
            Other(c) => return c.clone(),
        };
        CodedValue::dcm(code, meaning)
    }
}

/// What a Security Alert (PS3.15 A.5.3.11) says.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityAlert {
    pub alert_type: SecurityAlertType,
    pub time: DateTime<Utc>,
    pub outcome: Outcome,
    /// EventOutcomeDescription, e.g. the TLS error.
    pub description: Option<String>,
    /// The person or process that detected it (usually [`this_process`]); not the requestor.
    pub reporter: ActiveParticipant,
    /// Persons or processes that performed the activity of concern (e.g. the remote peer);
    /// each is marked requestor.
    pub performers: Vec<ActiveParticipant>,
    /// Alert subjects, e.g. [`alert_subject`].
    pub subjects: Vec<ParticipantObject>,
    pub audit_source: AuditSourceIdentification,
}

/// Security Alert (PS3.15 A.5.3.11): EventID 110113, action E, the alert type as EventTypeCode.
pub fn security_alert(alert: SecurityAlert) -> AuditMessage {
    let mut event = EventIdentification::new(
        event_id::security_alert(),
        Some(EventAction::Execute),
        alert.time,
        alert.outcome,
    );
    event.event_type_codes.push(alert.alert_type.code());
    event.outcome_description = alert.description;
    let mut reporter = alert.reporter;
    reporter.user_is_requestor = false;
    let mut participants = vec![reporter];
    participants.extend(alert.performers.into_iter().map(|p| p.requestor(true)));
    message(event, participants, alert.audit_source, alert.subjects)
}

/// An alert subject (type 2, system object): a node (`Node ID`, 110182) or anything named by a
/// URI (`URI`, RFC 3881 ID type 12), with an optional "Alert Description" detail.
pub fn alert_subject(
    id: impl Into<String>,
    id_is_uri: bool,
    description: Option<&str>,
) -> ParticipantObject {
    let id_type = if id_is_uri {
        CodedValue::rfc3881("12", "URI")
    } else {
        CodedValue::dcm("110182", "Node ID")
    };
    ParticipantObject {
        type_code: Some(2),
        details: description
            .map(|d| vec![ObjectDetail::new("Alert Description", d)])
            .unwrap_or_default(),
        ..ParticipantObject::new(id_type, id)
    }
}

/// What an IHE transaction audit message (ITI TF-2 3.20.7 and each transaction's "Security
/// Considerations") says.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionEvent {
    /// EventID, e.g. 110112 Query, 110106 Export, 110107 Import, 110110 Patient Record.
    pub event_id: CodedValue,
    pub action: EventAction,
    pub outcome: Outcome,
    pub outcome_description: Option<String>,
    pub time: DateTime<Utc>,
    /// EventTypeCode, e.g. `CodedValue::ihe_transaction("ITI-18", "Registry Stored Query")`.
    pub transaction: CodedValue,
    /// The actor that sent the request: role 110153 "Source Role ID", requestor.
    pub source: ActiveParticipant,
    /// Human requestors, if known (their roles as given); requestor.
    pub human_requestors: Vec<ActiveParticipant>,
    /// The actor that received it: role 110152 "Destination Role ID", not the requestor.
    pub destination: ActiveParticipant,
    pub audit_source: AuditSourceIdentification,
    /// Patient, query, documents, submission set, ...
    pub participant_objects: Vec<ParticipantObject>,
}

/// The audit message of one IHE transaction.
pub fn transaction_event(t: TransactionEvent) -> AuditMessage {
    let mut event = EventIdentification::new(t.event_id, Some(t.action), t.time, t.outcome);
    event.event_type_codes.push(t.transaction);
    event.outcome_description = t.outcome_description;
    let mut participants = vec![with_role(t.source, role::source(), true)];
    participants.extend(t.human_requestors.into_iter().map(|h| h.requestor(true)));
    participants.push(with_role(t.destination, role::destination(), false));
    message(event, participants, t.audit_source, t.participant_objects)
}

/// The host of a `SocketAddr` string (`10.0.0.1:443`, `[::1]:443`), else the string itself.
fn host_of(addr: &str) -> String {
    match addr.parse::<std::net::SocketAddr>() {
        Ok(a) => a.ip().to_string(),
        Err(_) => addr.to_owned(),
    }
}

/// The sink's event as a DICOM audit message. hiehub is the audit source. Application Activity
/// names hiehub as the application; Security Alert names hiehub the reporter and the peer, if
/// known, the performer; any other event is a transaction from the peer (source) to the
/// endpoint (destination). `transport` and `message_id` have no place in the DICOM message and
/// are left out.
impl From<&AuditEvent> for AuditMessage {
    fn from(e: &AuditEvent) -> Self {
        let mut event = EventIdentification::new(
            CodedValue::from(&e.event_id),
            Some(e.action),
            e.time,
            e.outcome,
        );
        event.outcome_description = e.outcome_description.clone();
        event
            .event_type_codes
            .extend(e.event_type.iter().map(CodedValue::from));
        let peer_host = e.remote_addr.as_deref().map(host_of);
        let peer = match (&e.requestor, &peer_host) {
            (None, None) => None,
            (user, host) => {
                let user = user.clone().or(host.clone()).unwrap_or_default();
                let p = ActiveParticipant::new(user);
                Some(match host {
                    Some(h) => p.with_network_access_point(h.clone()),
                    None => p,
                })
            }
        };
        let hub = ActiveParticipant::new(e.destination.clone().unwrap_or(e.source_id.clone()));
        let participants = match e.event_id.code.as_str() {
            "110100" => {
                let mut ps = vec![with_role(
                    ActiveParticipant::new(e.source_id.clone()),
                    role::application(),
                    false,
                )];
                ps.extend(peer.map(|p| with_role(p, role::application_launcher(), true)));
                ps
            }
            "110113" => {
                let mut ps = vec![hub];
                ps.extend(peer.map(|p| p.requestor(true)));
                ps
            }
            _ => {
                let mut ps: Vec<_> = peer
                    .map(|p| with_role(p, role::source(), true))
                    .into_iter()
                    .collect();
                ps.push(with_role(hub, role::destination(), false));
                ps
            }
        };
        message(
            event,
            participants,
            AuditSourceIdentification::application_server(e.source_id.clone()),
            e.participant_objects.clone(),
        )
    }
}
