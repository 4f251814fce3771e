//! The author attribute of DocumentEntries and SubmissionSets (ITI TF-3 §4.2.3.2 and §4.2.3.3,
//! author): a Classification whose slots name a person, institutions, roles, specialties and
//! telecom addresses.

use super::hl7::{Xcn, Xon};
use super::slot::Slot;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Author {
    /// authorPerson (XCN), at most one.
    pub person: Option<Xcn>,
    /// authorInstitution (XON).
    pub institutions: Vec<Xon>,
    /// authorRole (CWE or string, kept as sent).
    pub roles: Vec<String>,
    /// authorSpecialty (CWE or string, kept as sent).
    pub specialties: Vec<String>,
    /// authorTelecommunication (XTN, kept as sent).
    pub telecom: Vec<String>,
    /// Other slots of the author Classification.
    pub extra_slots: Vec<Slot>,
}

impl Author {
    pub fn is_empty(&self) -> bool {
        self.person.is_none()
            && self.institutions.is_empty()
            && self.roles.is_empty()
            && self.specialties.is_empty()
            && self.telecom.is_empty()
    }
}
