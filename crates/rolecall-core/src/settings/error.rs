//! Why settings could not be read, accepted or written.

use super::*;

// ---- Errors -----------------------------------------------------------------------------------

/// A settings file that cannot be read, parsed, accepted or written. Each message names the file
/// where there is one and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "Rolecall could not read its settings file {}: {source}. Check that you can read it, \
         or move it away to start from the default settings.",
        path.display()
    )]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "Rolecall's settings file {} is not valid at line {line}, column {column}: {message}. \
         Fix that line, or move the file away to start from the default settings.",
        path.display()
    )]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    #[error(
        "Rolecall's settings file {} has an unknown setting `{key}` {place} (line {line}, \
         column {column}). Check its spelling; the settings there are: {known}.",
        path.display()
    )]
    UnknownKey {
        path: PathBuf,
        line: usize,
        column: usize,
        key: String,
        place: String,
        known: String,
    },

    /// The file parsed but a value is wrong.
    #[error("In Rolecall's settings file {}: {problem}", path.display())]
    Invalid { path: PathBuf, problem: Problem },

    /// A change made in the app was refused; nothing was written.
    #[error("{0}")]
    Rejected(Problem),

    #[error("There is no endpoint named \"{name}\". Check the name in Settings → Endpoints.")]
    NoSuchEndpoint { name: String },

    #[error(transparent)]
    File(#[from] StoreError),

    #[error(
        "Rolecall could not save its settings to {}: {source}. Check that you can write to \
         that folder and that the disk is not full, then try again.",
        path.display()
    )]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// One wrong value, in words that name the endpoint and the field and say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error(
        "Endpoint number {position} has no name. Give it a short name, such as \"corp\"; \
         Rolecall shows it in menus."
    )]
    EmptyName { position: usize },

    #[error("The endpoint name {name:?} {reason}. Use a short name, such as \"corp\".")]
    BadName { name: String, reason: &'static str },

    #[error("Two endpoints are named \"{name}\". Give each endpoint its own name.")]
    DuplicateName { name: String },

    #[error(
        "Chain number {position} ([[chains]]) has no name. Give it a short name, such as \
         \"prod-admin\"; the tray shows it."
    )]
    EmptyChainName { position: usize },

    #[error(
        "The chain name {name:?} starts or ends with a space, holds a control character or is \
         longer than 64 characters. Use a short name, such as \"prod-admin\"."
    )]
    BadChainName { name: String },

    #[error("Two chains are named \"{name}\". Give each [[chains]] entry its own name.")]
    DuplicateChain { name: String },

    #[error(
        "Chain \"{chain}\" names the endpoint \"{endpoint}\", which the settings do not have. \
         Use the name of an endpoint (Settings → Endpoints), or leave `endpoint` out."
    )]
    ChainEndpoint { chain: String, endpoint: String },

    #[error(
        "The source_role of chain \"{chain}\" ({value:?}) is not an IAM role ARN. Give the role \
         your sign-in grants, as arn:aws:iam::<12-digit account>:role/<name>."
    )]
    ChainSource { chain: String, value: String },

    #[error("Chain \"{chain}\": {problem}")]
    Chain {
        chain: String,
        problem: crate::chain::ChainProblem,
    },

    #[error("The URL of endpoint \"{endpoint}\" ({input:?}) {reason}")]
    Url {
        endpoint: String,
        input: String,
        reason: UrlProblem,
    },

    #[error(
        "Endpoint \"{endpoint}\" has an unknown sign-in method {value:?}. Use one of: auto, \
         windows, kerberos, ntlm, forms, webview."
    )]
    Method { endpoint: String, value: String },

    #[error(
        "The username of endpoint \"{endpoint}\" is blank or contains control characters. Set it \
         to your sign-in name (such as alice@corp.example or CORP\\alice), or remove it."
    )]
    Username { endpoint: String },

    #[error(
        "The claims_provider of endpoint \"{endpoint}\" ({value:?}) is blank, has spaces around \
         it, contains control characters or is longer than 1024 characters. Give what AD FS's \
         sign-in page offers, such as \"AD AUTHORITY\" or the provider's name, or remove it."
    )]
    ClaimsProvider { endpoint: String, value: String },

    #[error("The CA file of endpoint \"{endpoint}\", {}, {reason}", path.display())]
    CaFile {
        endpoint: String,
        path: PathBuf,
        reason: CaProblem,
    },

    #[error(
        "The trusted host {value:?} of endpoint \"{endpoint}\" is not a host name. List host \
         names or IP addresses only, such as login.corp.example (no https://, port or path)."
    )]
    TrustedHost { endpoint: String, value: String },

    #[error("The proxy of endpoint \"{endpoint}\" ({value:?}) {reason}")]
    Proxy {
        endpoint: String,
        value: String,
        reason: ProxyProblem,
    },

    #[error("The profile name template {template:?} {reason}")]
    Template {
        template: String,
        reason: TemplateProblem,
    },

    #[error("The active profile name {name:?} {reason}")]
    ActiveProfile { name: String, reason: NameProblem },

    #[error("{field} is {value}; use a value from {min} to {max}{unit}.")]
    OutOfRange {
        field: &'static str,
        value: u32,
        min: u32,
        max: u32,
        unit: &'static str,
    },

    #[error(
        "{field} ({minutes} minutes) must be shorter than the session itself \
         (session_duration_secs = {session_secs}). Lower it, or lengthen the session."
    )]
    LeadTooLong {
        field: &'static str,
        minutes: u32,
        session_secs: u32,
    },

    #[error(
        "The default region {value:?} is not an AWS region name. Use one such as us-east-1 or \
         eu-west-1, or remove default_region."
    )]
    Region { value: String },

    #[error(
        "The region setting for {key:?} names neither an AWS account (12 digits) nor a role \
         ARN. Use an account id such as 111122223333 or a role ARN."
    )]
    RegionKey { key: String },

    #[error(
        "The console browser {place} ({template:?}) cannot be used: {reason}. Write a command \
         such as firefox -P {{account_alias}}."
    )]
    ConsoleBrowser {
        place: String,
        template: String,
        reason: crate::browser_command::BrowserCommandProblem,
    },

    #[error(
        "The console browser setting for {key:?} names neither an AWS account (12 digits) nor a \
         role ARN. Use an account id such as 111122223333 or a role ARN."
    )]
    ConsoleBrowserKey { key: String },

    #[error(
        "The account name setting for {key:?} does not name an AWS account. In \
         [preferences.account_names], write the 12-digit account id and its name, such as \
         111122223333 = \"payments-prod\"."
    )]
    AccountNameKey { key: String },

    #[error(
        "The name {name:?} of account {account} in [preferences.account_names] {reason}. Use a \
         short name on one line, such as \"payments-prod\"."
    )]
    AccountName {
        account: String,
        name: String,
        reason: &'static str,
    },

    #[error(
        "The default output {value:?} is not one the AWS CLI knows. Use json, yaml, yaml-stream, \
         text or table, or remove default_output."
    )]
    Output { value: String },
}

/// Why an endpoint URL was refused; completes a sentence that starts with the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    #[error(
        "is empty. Enter your AD FS host (such as sts.corp.example) or the full IdP-initiated \
         sign-in URL."
    )]
    Empty,
    #[error(
        "is not a URL ({0}). Enter your AD FS host (such as sts.corp.example) or the full \
         IdP-initiated sign-in URL."
    )]
    NotUrl(String),
    #[error(
        "uses http://, which would send your password unprotected. Use https:// (http:// is \
         allowed only to this computer: localhost, 127.0.0.1, ::1)."
    )]
    Insecure,
    #[error("uses {0}://. Use an https:// URL.")]
    Scheme(String),
    #[error("has no host name. Use a URL such as https://sts.corp.example.")]
    NoHost,
    #[error(
        "contains a user name or password. Remove them from the URL: Rolecall asks for them and \
         keeps passwords in your keyring."
    )]
    Credentials,
}

/// Why a CA file was refused; completes a sentence that starts with the file's path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaProblem {
    #[error(
        "is not an absolute path. Give the full path of the PEM file, such as \
         /etc/ssl/corp-ca.pem."
    )]
    NotAbsolute,
    #[error(
        "has characters the settings file cannot hold. Move the certificate to a path of plain \
         characters."
    )]
    NotUnicode,
    #[error(
        "does not exist. Check the path, or remove ca_file to trust only the system's \
         certificates."
    )]
    Missing,
    #[error("cannot be read ({0}). Check that it is a file you can read.")]
    Unreadable(String),
    #[error(
        "is not a PEM certificate file (it has no \"-----BEGIN CERTIFICATE-----\" line). \
         Convert a DER certificate with `openssl x509 -inform der -in corp.cer -out corp.pem`."
    )]
    NotPem,
}

/// Why a profile name template was refused; completes a sentence that starts with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateProblem {
    #[error("is empty. Use placeholders, such as {{account_alias}}-{{role}}.")]
    Empty,
    #[error(
        "uses {{{0}}}, which Rolecall does not know. Use {{account_alias}}, {{account_id}}, \
         {{role}} and {{endpoint}}."
    )]
    Unknown(String),
    #[error("has an unmatched {{ or }}. Write placeholders as {{role}}.")]
    Unbalanced,
    #[error("contains {0:?}, which an AWS profile name cannot hold. Leave out spaces and [ ] # ;.")]
    BadChar(char),
}

/// Why a profile name was refused; completes a sentence that starts with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameProblem {
    #[error("is empty. Use a profile name such as default.")]
    Empty,
    #[error("contains {0:?}, which an AWS profile name cannot hold. Leave out spaces and [ ] # ;.")]
    BadChar(char),
}
