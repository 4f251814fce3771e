//! Human-readable text attributes: title (`rim:Name`) and comments (`rim:Description`) of
//! DocumentEntries, SubmissionSets and Folders (ITI TF-3 §4.2.3.1), possibly in several
//! languages.

/// One language's value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct LocalizedText {
    pub value: String,
    /// Language tag (absent means the ebRIM default, en-US).
    pub lang: Option<String>,
    /// Character set (absent means UTF-8).
    pub charset: Option<String>,
}

/// A title or comments: zero or more localized values (an empty title is not an absent one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct InternationalText(pub Vec<LocalizedText>);

impl InternationalText {
    pub fn plain(value: impl Into<String>) -> InternationalText {
        InternationalText(vec![LocalizedText {
            value: value.into(),
            lang: None,
            charset: None,
        }])
    }

    /// The first value, the one most consumers show.
    pub fn first(&self) -> Option<&str> {
        self.0.first().map(|t| t.value.as_str())
    }
}
