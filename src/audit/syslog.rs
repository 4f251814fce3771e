//! ATNA syslog transports (placeholder until they land).
