//! Affinity domains as data (issue 3, item 3; DESIGN.md "Affinity domains"): the code sets, the
//! patient-id assigning authorities, the consent policies and the severity of each validation
//! rule of one domain, read from a folder `profiles/<name>/` whose format `profiles/README.md`
//! describes.
//!
//! - [`AffinityDomain::load`] reads a domain shipped with hiehub from the copy embedded in the
//!   binary ([`names`] lists them); [`AffinityDomain::load_dir`] reads an operator's own folder.
//! - [`AffinityDomain`] implements [`xds::CodeCatalogue`] and supplies the rule settings for
//!   [`xds::apply_rule_settings`] ([`AffinityDomain::rule_settings`]).
//! - [`AffinityDomain::accepts_authority`] says whether ids of an assigning authority are valid
//!   XDS patient ids here. Whether a patient id is *known* (fed by ITI-44) is the registry's check.
//! - Consent policies are carried as data for the BPPC work (issue 6); nothing here enforces them.
//!
//! Invariant: the server never reads the source tree at run time: shipped domains come from
//! `embedded.rs`.
//! Invariant: a domain that loads is consistent: every rule name is one of [`xds::RULES`], every
//! OID parses, no code is listed twice. Every problem found is reported, each with its file, line
//! and key.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::xds::{self, Code, CodeCatalogue, CodeScheme, Oid, Problem, RuleSetting};

mod embedded;
#[cfg(test)]
mod tests;

/// The key of each coded attribute in code files, and the scheme it fills (`None`: mimeType).
const ATTRIBUTES: [(&str, Option<CodeScheme>); 10] = [
    ("classCode", Some(CodeScheme::ClassCode)),
    ("confidentialityCode", Some(CodeScheme::ConfidentialityCode)),
    ("eventCodeList", Some(CodeScheme::EventCode)),
    ("formatCode", Some(CodeScheme::FormatCode)),
    (
        "healthcareFacilityTypeCode",
        Some(CodeScheme::HealthcareFacilityTypeCode),
    ),
    ("practiceSettingCode", Some(CodeScheme::PracticeSettingCode)),
    ("typeCode", Some(CodeScheme::TypeCode)),
    ("contentTypeCode", Some(CodeScheme::ContentTypeCode)),
    ("folderCodeList", Some(CodeScheme::FolderCode)),
    ("mimeType", None),
];

/// The key code files use for `scheme` (e.g. `eventCodeList` for [`CodeScheme::EventCode`]).
pub fn attribute_key(scheme: CodeScheme) -> &'static str {
    ATTRIBUTES
        .iter()
        .find(|(_, s)| *s == Some(scheme))
        .map_or("", |(key, _)| key)
}

/// The domains shipped with hiehub (folders of `profiles/`), in file order.
pub fn names() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for (path, _) in embedded::FILES {
        let name = path.split('/').next().unwrap_or(path);
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The domain
// ---------------------------------------------------------------------------------------------

/// One affinity domain, validated.
#[derive(Debug, Clone)]
pub struct AffinityDomain {
    name: String,
    description: String,
    home_community_id: Option<Oid>,
    accept_any_iso_oid: bool,
    authorities: Vec<AssigningAuthority>,
    placeholders: Vec<Placeholder>,
    consent: Consent,
    rules: BTreeMap<&'static str, RuleSetting>,
    codes: HashMap<CodeScheme, HashMap<String, CodeSystem>>,
    /// Lower-case MIME type → display name.
    mime_types: HashMap<String, String>,
}

/// An assigning authority whose ids are XDS patient ids of the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssigningAuthority {
    pub oid: Oid,
    pub name: String,
}

/// A value the operator must fill in before the domain is used in production (e.g. the
/// regional patient-id authority of `kr-hie`). Placeholders are never accepted as values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// Where: `patient_id.authorities[0]`.
    pub key: String,
    /// What it stands for, from the file.
    pub name: String,
    /// `file:line`.
    pub location: String,
}

/// What applies to a patient with no consent on file (issue 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentDefault {
    /// Nothing is shared without a consent.
    OptIn,
    /// Everything is shared until the patient refuses.
    OptOut,
}

/// One consent policy of the domain: the OID a BPPC consent names in its eventCodeList, and the
/// rule it stands for. Data only: the consent module (issue 6) interprets `terms`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentPolicy {
    pub oid: Oid,
    pub name: String,
    /// The rule in words.
    pub rule: String,
    /// Machine-readable terms (organisations, facility types, classes, confidentiality, time
    /// limits, break-the-glass), left uninterpreted here. Empty when the file gives none.
    pub terms: toml::Table,
}

/// The consent section of a domain.
#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    pub default: ConsentDefault,
    /// Sorted by OID.
    pub policies: Vec<ConsentPolicy>,
}

/// The codes of one coding scheme for one attribute.
#[derive(Debug, Clone, Default)]
struct CodeSystem {
    any_code: bool,
    /// code → display name.
    codes: HashMap<String, String>,
}

impl AffinityDomain {
    /// The domains shipped with hiehub; see [`names`].
    pub fn names() -> Vec<&'static str> {
        names()
    }

    /// A domain shipped with hiehub, from the copy embedded in the binary.
    pub fn load(name: &str) -> Result<AffinityDomain, ProfileErrors> {
        let prefix = format!("{name}/");
        let mut domain = None;
        let mut code_files = Vec::new();
        for (path, text) in embedded::FILES {
            let Some(rest) = path.strip_prefix(&prefix) else {
                continue;
            };
            let source = Source {
                label: format!("profiles/{path}"),
                text: Cow::Borrowed(text),
            };
            if rest == "domain.toml" {
                domain = Some(source);
            } else if rest.starts_with("codes/") {
                code_files.push(source);
            }
        }
        let Some(domain) = domain else {
            return Err(ProfileErrors {
                domain: name.to_string(),
                errors: vec![ProfileError::UnknownDomain {
                    name: name.to_string(),
                    shipped: names(),
                }],
            });
        };
        build(name, domain, code_files)
    }

    /// An operator's own domain folder: `<dir>/domain.toml` and `<dir>/codes/*.toml`. The
    /// domain's `name` must be the folder's name.
    pub fn load_dir(dir: &Path) -> Result<AffinityDomain, ProfileErrors> {
        let dir_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut errors = Vec::new();
        let Some(domain) = read_source(&dir.join("domain.toml"), &mut errors) else {
            return Err(ProfileErrors {
                domain: dir_name,
                errors,
            });
        };
        let mut code_files = Vec::new();
        let codes_dir = dir.join("codes");
        let mut paths = Vec::new();
        if codes_dir.is_dir() {
            let io_error = |source| ProfileError::Io {
                path: codes_dir.display().to_string(),
                source,
            };
            match std::fs::read_dir(&codes_dir) {
                Ok(entries) => {
                    for entry in entries {
                        match entry {
                            Ok(e) => paths.push(e.path()),
                            Err(e) => errors.push(io_error(e)),
                        }
                    }
                }
                Err(e) => errors.push(io_error(e)),
            }
        }
        paths.sort();
        for path in paths {
            match path.extension().and_then(|e| e.to_str()) {
                Some("toml") => code_files.extend(read_source(&path, &mut errors)),
                Some("md") => {}
                _ => errors.push(ProfileError::StrayFile {
                    path: path.display().to_string(),
                }),
            }
        }
        match build(&dir_name, domain, code_files) {
            Ok(d) if errors.is_empty() => Ok(d),
            Ok(_) => Err(ProfileErrors {
                domain: dir_name,
                errors,
            }),
            Err(mut e) => {
                errors.append(&mut e.errors);
                e.errors = errors;
                Err(e)
            }
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// The domain's home community id, if it has one (`urn:oid:` form: [`Oid::to_urn`]).
    pub fn home_community_id(&self) -> Option<&Oid> {
        self.home_community_id.as_ref()
    }

    /// Whether ids of `authority` are valid XDS patient ids in this domain (the domain's
    /// policy; the patient must still be known to the registry).
    pub fn accepts_authority(&self, authority: &Oid) -> bool {
        self.accept_any_iso_oid || self.authorities.iter().any(|a| a.oid == *authority)
    }

    /// Whether any ISO OID assigning authority is accepted (`connectathon`).
    pub fn accepts_any_iso_oid(&self) -> bool {
        self.accept_any_iso_oid
    }

    /// The named assigning authorities.
    pub fn authorities(&self) -> &[AssigningAuthority] {
        &self.authorities
    }

    /// Values the operator has yet to fill in (log them at start-up).
    pub fn placeholders(&self) -> &[Placeholder] {
        &self.placeholders
    }

    pub fn consent(&self) -> &Consent {
        &self.consent
    }

    /// The setting the domain gives `rule`; `None` keeps the IHE default.
    pub fn rule_setting(&self, rule: &str) -> Option<RuleSetting> {
        self.rules.get(rule).copied()
    }

    /// The domain's settings, for [`xds::apply_rule_settings`].
    pub fn rule_settings(&self) -> impl Fn(&str) -> Option<RuleSetting> + '_ {
        move |rule| self.rule_setting(rule)
    }

    /// `problems` with the domain's severities applied (rules set `off` are dropped).
    pub fn apply_rule_settings(&self, problems: Vec<Problem>) -> Vec<Problem> {
        xds::apply_rule_settings(problems, self.rule_settings())
    }

    /// Every rule the domain sets, with its setting.
    pub fn rules(&self) -> impl Iterator<Item = (&'static str, RuleSetting)> + '_ {
        self.rules.iter().map(|(r, s)| (*r, *s))
    }

    /// The display name the domain gives a code (`None` when the code is not listed, also for
    /// codes accepted through `any_code`).
    pub fn display_name(&self, scheme: CodeScheme, code: &Code) -> Option<&str> {
        self.codes
            .get(&scheme)?
            .get(&code.scheme)?
            .codes
            .get(&code.code)
            .map(String::as_str)
    }

    /// How many codes the domain lists for `scheme` (codes accepted through `any_code` aside).
    pub fn code_count(&self, scheme: CodeScheme) -> usize {
        self.codes
            .get(&scheme)
            .map_or(0, |systems| systems.values().map(|s| s.codes.len()).sum())
    }

    /// How many MIME types the domain accepts.
    pub fn mime_type_count(&self) -> usize {
        self.mime_types.len()
    }
}

impl CodeCatalogue for AffinityDomain {
    /// Code and codingScheme must match exactly; the display name is not compared. A coding
    /// scheme marked `any_code` accepts every code.
    fn knows(&self, scheme: CodeScheme, code: &Code) -> bool {
        self.codes
            .get(&scheme)
            .and_then(|systems| systems.get(&code.scheme))
            .is_some_and(|s| s.any_code || s.codes.contains_key(&code.code))
    }

    /// Compared without case and without parameters (`text/XML; charset=UTF-8` is `text/xml`).
    fn knows_mime_type(&self, mime_type: &str) -> bool {
        self.mime_types.contains_key(&mime_essence(mime_type))
    }
}

fn mime_essence(mime_type: &str) -> String {
    mime_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// One problem of a domain's files. Lines are 1-based.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("no affinity domain '{name}' ships with hiehub (shipped: {})", .shipped.join(", "))]
    UnknownDomain {
        name: String,
        shipped: Vec<&'static str>,
    },
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: only code files (*.toml) and notes (*.md) belong in codes/")]
    StrayFile { path: String },
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{file}:{line}: key '{rule}' in [rules]: no such rule{}; the rules are: {}",
        .suggestion.map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default(),
        rule_names().join(", ")
    )]
    UnknownRule {
        file: String,
        line: usize,
        rule: String,
        suggestion: Option<&'static str>,
    },
    #[error(
        "{file}:{line}: key '{rule}' in [rules]: unknown setting '{value}' (use error, warning or off)"
    )]
    UnknownSetting {
        file: String,
        line: usize,
        rule: String,
        value: String,
    },
    #[error(
        "{file}:{line}: key '{key}': {attribute} code '{code}' of coding scheme '{scheme}' is listed twice (first at {first})"
    )]
    DuplicateCode {
        file: String,
        line: usize,
        key: String,
        attribute: &'static str,
        scheme: String,
        code: String,
        /// `file:line` of the first listing.
        first: String,
    },
    #[error("{file}:{line}: key '{key}': {reason}")]
    Invalid {
        file: String,
        line: usize,
        key: String,
        reason: String,
    },
}

/// Everything wrong with one domain.
#[derive(Debug, thiserror::Error)]
#[error("affinity domain '{domain}': {}", join_errors(.errors))]
pub struct ProfileErrors {
    pub domain: String,
    pub errors: Vec<ProfileError>,
}

fn join_errors(errors: &[ProfileError]) -> String {
    match errors {
        [one] => one.to_string(),
        many => {
            let mut s = format!("{} problems", many.len());
            for e in many {
                s.push_str("\n  ");
                s.push_str(&e.to_string());
            }
            s
        }
    }
}

fn rule_names() -> Vec<&'static str> {
    xds::RULES.iter().map(|(r, _)| *r).collect()
}

/// The rule closest to `wrong` (same name in another case, or at most a few edits away).
fn closest_rule(wrong: &str) -> Option<&'static str> {
    if let Some(r) = rule_names()
        .into_iter()
        .find(|r| r.eq_ignore_ascii_case(wrong))
    {
        return Some(r);
    }
    rule_names()
        .into_iter()
        .map(|r| (edit_distance(r, wrong), r))
        .filter(|(d, r)| *d <= (r.len() / 6).max(2))
        .min()
        .map(|(_, r)| r)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// One file: a name for messages and its text.
struct Source {
    label: String,
    text: Cow<'static, str>,
}

impl Source {
    /// 1-based line and column of byte `offset`.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = self.text.get(..offset).unwrap_or(&self.text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    fn line<T>(&self, spanned: &Spanned<T>) -> usize {
        self.line_col(spanned.span().start).0
    }

    /// The file as `T`; `None` (and the error in `errors`) when it is not.
    fn parse<T: serde::de::DeserializeOwned>(&self, errors: &mut Vec<ProfileError>) -> Option<T> {
        toml::from_str(&self.text)
            .map_err(|e| {
                let (line, column) = self.line_col(e.span().map_or(0, |s| s.start));
                errors.push(ProfileError::Syntax {
                    file: self.label.clone(),
                    line,
                    column,
                    message: e.message().trim().to_string(),
                });
            })
            .ok()
    }

    fn invalid<T>(
        &self,
        at: &Spanned<T>,
        key: impl Into<String>,
        reason: impl Into<String>,
    ) -> ProfileError {
        ProfileError::Invalid {
            file: self.label.clone(),
            line: self.line(at),
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// The file at `path`; `None` (and the error in `errors`) when it cannot be read.
fn read_source(path: &Path, errors: &mut Vec<ProfileError>) -> Option<Source> {
    std::fs::read_to_string(path)
        .map(|text| Source {
            label: path.display().to_string(),
            text: Cow::Owned(text),
        })
        .map_err(|source| {
            errors.push(ProfileError::Io {
                path: path.display().to_string(),
                source,
            });
        })
        .ok()
}

// The files as written (profiles/README.md).

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainFile {
    name: Spanned<String>,
    description: Spanned<String>,
    home_community_id: Option<Spanned<String>>,
    patient_id: PatientIdFile,
    consent: ConsentFile,
    #[serde(default)]
    rules: BTreeMap<Spanned<String>, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatientIdFile {
    #[serde(default)]
    accept_any_iso_oid: bool,
    #[serde(default)]
    authorities: Vec<AuthorityFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorityFile {
    name: Spanned<String>,
    oid: Option<Spanned<String>>,
    #[serde(default)]
    placeholder: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentFile {
    default: Spanned<String>,
    #[serde(default)]
    policies: BTreeMap<Spanned<String>, PolicyFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    name: Spanned<String>,
    rule: Spanned<String>,
    terms: Option<toml::Table>,
}

/// A code file: attribute key → groups.
type CodeFile = BTreeMap<Spanned<String>, Vec<Spanned<GroupFile>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    scheme: Option<Spanned<String>>,
    #[allow(dead_code)] // documentation for readers of the file
    name: Option<String>,
    any_code: Option<Spanned<bool>>,
    #[serde(default)]
    codes: Vec<CodeEntryFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeEntryFile {
    code: Spanned<String>,
    display: Spanned<String>,
}

/// What the domain file gives, before the code files are added.
struct DomainParts {
    name: String,
    description: String,
    home_community_id: Option<Oid>,
    accept_any_iso_oid: bool,
    authorities: Vec<AssigningAuthority>,
    placeholders: Vec<Placeholder>,
    consent: Consent,
    rules: BTreeMap<&'static str, RuleSetting>,
}

fn build(
    dir_name: &str,
    domain: Source,
    code_files: Vec<Source>,
) -> Result<AffinityDomain, ProfileErrors> {
    let mut errors = Vec::new();
    let parts = read_domain(dir_name, &domain, &mut errors);
    let mut codes: HashMap<CodeScheme, HashMap<String, CodeSystem>> = HashMap::new();
    let mut mime_types = HashMap::new();
    let mut seen: HashMap<(&'static str, String, String), String> = HashMap::new();
    for file in &code_files {
        read_codes(file, &mut codes, &mut mime_types, &mut seen, &mut errors);
    }
    match parts {
        Some(p) if errors.is_empty() => Ok(AffinityDomain {
            name: p.name,
            description: p.description,
            home_community_id: p.home_community_id,
            accept_any_iso_oid: p.accept_any_iso_oid,
            authorities: p.authorities,
            placeholders: p.placeholders,
            consent: p.consent,
            rules: p.rules,
            codes,
            mime_types,
        }),
        _ => Err(ProfileErrors {
            domain: dir_name.to_string(),
            errors,
        }),
    }
}

fn read_domain(
    dir_name: &str,
    src: &Source,
    errors: &mut Vec<ProfileError>,
) -> Option<DomainParts> {
    let file: DomainFile = src.parse(errors)?;
    let before = errors.len();

    if file.name.get_ref() != dir_name {
        errors.push(src.invalid(
            &file.name,
            "name",
            format!(
                "the domain is named '{}' but its folder is '{dir_name}' (they must be the same)",
                file.name.get_ref()
            ),
        ));
    }
    if file.description.get_ref().trim().is_empty() {
        errors.push(src.invalid(&file.description, "description", "is empty"));
    }

    let home_community_id = file.home_community_id.as_ref().and_then(|h| {
        let parsed = h
            .get_ref()
            .strip_prefix("urn:oid:")
            .ok_or_else(|| "is not of the form urn:oid:<OID>".to_string())
            .and_then(|oid| Oid::parse(oid).map_err(|e| e.to_string()));
        parsed
            .map_err(|reason| errors.push(src.invalid(h, "home_community_id", reason)))
            .ok()
    });

    let mut authorities = Vec::new();
    let mut placeholders = Vec::new();
    for (i, a) in file.patient_id.authorities.iter().enumerate() {
        let key = format!("patient_id.authorities[{i}]");
        if a.name.get_ref().trim().is_empty() {
            errors.push(src.invalid(&a.name, format!("{key}.name"), "is empty"));
        }
        match (&a.oid, a.placeholder) {
            (Some(oid), false) => match Oid::parse(oid.get_ref()) {
                Ok(parsed) => {
                    if authorities
                        .iter()
                        .any(|x: &AssigningAuthority| x.oid == parsed)
                    {
                        errors.push(src.invalid(
                            oid,
                            format!("{key}.oid"),
                            format!("assigning authority {parsed} is listed twice"),
                        ));
                    }
                    authorities.push(AssigningAuthority {
                        oid: parsed,
                        name: a.name.get_ref().clone(),
                    });
                }
                Err(e) => errors.push(src.invalid(oid, format!("{key}.oid"), e.to_string())),
            },
            (Some(oid), true) => errors.push(src.invalid(
                oid,
                format!("{key}.oid"),
                "a placeholder has no oid: remove `placeholder = true` once the oid is filled in",
            )),
            (None, true) => placeholders.push(Placeholder {
                key,
                name: a.name.get_ref().clone(),
                location: format!("{}:{}", src.label, src.line(&a.name)),
            }),
            (None, false) => errors.push(src.invalid(
                &a.name,
                format!("{key}.oid"),
                "missing (give the authority's OID, or mark the entry `placeholder = true`)",
            )),
        }
    }
    if !file.patient_id.accept_any_iso_oid && file.patient_id.authorities.is_empty() {
        errors.push(src.invalid(
            &file.name,
            "patient_id",
            "the domain accepts no patient id: name its assigning authorities or set accept_any_iso_oid = true",
        ));
    }

    let default = match file.consent.default.get_ref().as_str() {
        "opt-in" => Some(ConsentDefault::OptIn),
        "opt-out" => Some(ConsentDefault::OptOut),
        other => {
            errors.push(src.invalid(
                &file.consent.default,
                "consent.default",
                format!("unknown value '{other}' (use opt-in or opt-out)"),
            ));
            None
        }
    };
    let mut policies = Vec::new();
    for (oid, p) in &file.consent.policies {
        let key = format!("consent.policies.\"{}\"", oid.get_ref());
        if p.name.get_ref().trim().is_empty() {
            errors.push(src.invalid(&p.name, format!("{key}.name"), "is empty"));
        }
        if p.rule.get_ref().trim().is_empty() {
            errors.push(src.invalid(&p.rule, format!("{key}.rule"), "is empty"));
        }
        match Oid::parse(oid.get_ref()) {
            Ok(parsed) => policies.push(ConsentPolicy {
                oid: parsed,
                name: p.name.get_ref().clone(),
                rule: p.rule.get_ref().clone(),
                terms: p.terms.clone().unwrap_or_default(),
            }),
            Err(e) => errors.push(src.invalid(
                oid,
                key,
                format!("a consent policy is named by its OID: {e}"),
            )),
        }
    }

    let mut rules = BTreeMap::new();
    for (rule, setting) in &file.rules {
        let Some(&(name, _)) = xds::RULES.iter().find(|(r, _)| r == rule.get_ref()) else {
            errors.push(ProfileError::UnknownRule {
                file: src.label.clone(),
                line: src.line(rule),
                rule: rule.get_ref().clone(),
                suggestion: closest_rule(rule.get_ref()),
            });
            continue;
        };
        let value = match setting.get_ref().as_str() {
            "error" => RuleSetting::Error,
            "warning" => RuleSetting::Warning,
            "off" => RuleSetting::Off,
            other => {
                errors.push(ProfileError::UnknownSetting {
                    file: src.label.clone(),
                    line: src.line(setting),
                    rule: rule.get_ref().clone(),
                    value: other.to_string(),
                });
                continue;
            }
        };
        rules.insert(name, value);
    }

    if errors.len() > before {
        return None;
    }
    Some(DomainParts {
        name: file.name.into_inner(),
        description: file.description.into_inner(),
        home_community_id,
        accept_any_iso_oid: file.patient_id.accept_any_iso_oid,
        authorities,
        placeholders,
        consent: Consent {
            default: default?,
            policies,
        },
        rules,
    })
}

fn read_codes(
    src: &Source,
    codes: &mut HashMap<CodeScheme, HashMap<String, CodeSystem>>,
    mime_types: &mut HashMap<String, String>,
    seen: &mut HashMap<(&'static str, String, String), String>,
    errors: &mut Vec<ProfileError>,
) {
    let Some(file) = src.parse::<CodeFile>(errors) else {
        return;
    };
    for (attribute, groups) in &file {
        let Some(&(attr, scheme)) = ATTRIBUTES.iter().find(|(k, _)| k == attribute.get_ref())
        else {
            let known: Vec<&str> = ATTRIBUTES.iter().map(|(k, _)| *k).collect();
            errors.push(src.invalid(
                attribute,
                attribute.get_ref().clone(),
                format!("not a coded attribute (use one of: {})", known.join(", ")),
            ));
            continue;
        };
        for (g, group) in groups.iter().enumerate() {
            let key = format!("{attr}[{g}]");
            let group_ref = group.get_ref();
            if group_ref.codes.is_empty()
                && !group_ref.any_code.as_ref().is_some_and(|a| *a.get_ref())
            {
                errors.push(src.invalid(
                    group,
                    key.clone(),
                    "lists no codes (and is not any_code)",
                ));
            }
            for (c, entry) in group_ref.codes.iter().enumerate() {
                let ckey = format!("{key}.codes[{c}]");
                if entry.code.get_ref().trim().is_empty() {
                    errors.push(src.invalid(&entry.code, format!("{ckey}.code"), "is empty"));
                }
                if entry.display.get_ref().trim().is_empty() {
                    errors.push(src.invalid(
                        &entry.display,
                        format!("{ckey}.display"),
                        "is empty (every code has a display name)",
                    ));
                }
            }
            let Some(scheme) = scheme else {
                // mimeType: no coding scheme.
                if let Some(s) = &group_ref.scheme {
                    errors.push(src.invalid(
                        s,
                        format!("{key}.scheme"),
                        "a MIME type has no coding scheme",
                    ));
                }
                if let Some(a) = &group_ref.any_code {
                    errors.push(src.invalid(
                        a,
                        format!("{key}.any_code"),
                        "not allowed for mimeType: list the types",
                    ));
                }
                for (c, entry) in group_ref.codes.iter().enumerate() {
                    let essence = mime_essence(entry.code.get_ref());
                    let here = format!("{}:{}", src.label, src.line(&entry.code));
                    if let Some(first) = seen.get(&(attr, String::new(), essence.clone())) {
                        errors.push(ProfileError::DuplicateCode {
                            file: src.label.clone(),
                            line: src.line(&entry.code),
                            key: format!("{key}.codes[{c}].code"),
                            attribute: attr,
                            scheme: String::new(),
                            code: entry.code.get_ref().clone(),
                            first: first.clone(),
                        });
                        continue;
                    }
                    seen.insert((attr, String::new(), essence.clone()), here);
                    mime_types.insert(essence, entry.display.get_ref().clone());
                }
                continue;
            };
            let Some(coding_scheme) = &group_ref.scheme else {
                errors.push(src.invalid(
                    group,
                    format!("{key}.scheme"),
                    "missing: every code group names its coding scheme",
                ));
                continue;
            };
            if coding_scheme.get_ref().trim().is_empty() {
                errors.push(src.invalid(coding_scheme, format!("{key}.scheme"), "is empty"));
                continue;
            }
            let system = codes
                .entry(scheme)
                .or_default()
                .entry(coding_scheme.get_ref().clone())
                .or_default();
            if group_ref.any_code.as_ref().is_some_and(|a| *a.get_ref()) {
                system.any_code = true;
            }
            for (c, entry) in group_ref.codes.iter().enumerate() {
                let id = (
                    attr,
                    coding_scheme.get_ref().clone(),
                    entry.code.get_ref().clone(),
                );
                let here = format!("{}:{}", src.label, src.line(&entry.code));
                if let Some(first) = seen.get(&id) {
                    errors.push(ProfileError::DuplicateCode {
                        file: src.label.clone(),
                        line: src.line(&entry.code),
                        key: format!("{key}.codes[{c}].code"),
                        attribute: attr,
                        scheme: coding_scheme.get_ref().clone(),
                        code: entry.code.get_ref().clone(),
                        first: first.clone(),
                    });
                    continue;
                }
                seen.insert(id, here);
                system.codes.insert(
                    entry.code.get_ref().clone(),
                    entry.display.get_ref().clone(),
                );
            }
        }
    }
}
