//! availabilityStatus (ITI TF-3 §4.2.3.2 availabilityStatus; ebRIM 3.0 StatusType): the lifecycle
//! state the registry keeps for every object.

use std::fmt;

use super::vocabulary::{STATUS_APPROVED, STATUS_DEPRECATED, STATUS_SUBMITTED};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvailabilityStatus {
    Submitted,
    Approved,
    Deprecated,
}

impl AvailabilityStatus {
    pub fn as_urn(self) -> &'static str {
        match self {
            AvailabilityStatus::Submitted => STATUS_SUBMITTED,
            AvailabilityStatus::Approved => STATUS_APPROVED,
            AvailabilityStatus::Deprecated => STATUS_DEPRECATED,
        }
    }

    pub fn parse(urn: &str) -> Option<AvailabilityStatus> {
        match urn.trim() {
            STATUS_SUBMITTED => Some(AvailabilityStatus::Submitted),
            STATUS_APPROVED => Some(AvailabilityStatus::Approved),
            STATUS_DEPRECATED => Some(AvailabilityStatus::Deprecated),
            _ => None,
        }
    }
}

impl fmt::Display for AvailabilityStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_urn())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urns() {
        for s in [
            AvailabilityStatus::Submitted,
            AvailabilityStatus::Approved,
            AvailabilityStatus::Deprecated,
        ] {
            assert_eq!(AvailabilityStatus::parse(s.as_urn()), Some(s));
        }
        assert_eq!(AvailabilityStatus::parse("Approved"), None);
    }
}
