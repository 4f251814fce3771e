//! Extra metadata (ITI TF-3 §4.2.3.1: slots a sender adds beyond the defined attributes). hiehub
//! keeps them and returns them in query responses rather than answering
//! `XDSExtraMetadataNotSaved`.

/// A named list of values, as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Slot {
    pub name: String,
    pub values: Vec<String>,
}

impl Slot {
    pub fn new(
        name: impl Into<String>,
        values: impl IntoIterator<Item = impl Into<String>>,
    ) -> Slot {
        Slot {
            name: name.into(),
            values: values.into_iter().map(Into::into).collect(),
        }
    }
}
