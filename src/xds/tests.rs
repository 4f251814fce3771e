//! Tests of the XDS metadata layer.
