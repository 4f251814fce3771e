//! SOAP 1.2 edge: envelope, faults, WS-Addressing, MTOM/XOP.
//!
//! Decoding happens in stages so that even garbage gets a proper reply: the envelope and its
//! WS-Addressing headers are read first, so a fault can carry `RelatesTo` and the audit event can
//! name the message (STYLE lesson 8).
//!
//! Invariant: nothing here knows any IHE transaction; `transaction` maps actions to handlers.

pub mod envelope;
pub mod fault;
pub mod mtom;

pub use envelope::{Addressing, Envelope, parse_envelope, parse_envelope_with, response_envelope};
pub use fault::{Fault, FaultCode};

pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const WSA_NS: &str = "http://www.w3.org/2005/08/addressing";
pub const XOP_NS: &str = "http://www.w3.org/2004/08/xop/include";
pub const WSA_ANONYMOUS: &str = "http://www.w3.org/2005/08/addressing/anonymous";
pub const WSA_FAULT_ACTION: &str = "http://www.w3.org/2005/08/addressing/soap/fault";
