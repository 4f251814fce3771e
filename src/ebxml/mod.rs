//! ebXML RegRep 3.0 codec (placeholder until it lands).
