//! XDS.b metadata model (placeholder until it lands).
