//! SimpleSAMLphp (Debian `simplesamlphp` + `php-xml` + `php-cli`; scripts/setup installs them)
//! as a real third-party SAML 2.0 IdP on loopback, for the webview tests: `php -S` serves
//! Debian's `www` folder with every bit of configuration (config, auth source, IdP key pair,
//! metadata, sessions, logs) in the test's sandbox, through `SIMPLESAMLPHP_CONFIG_DIR`.
//!
//! The IdP has one user, [`USERNAME`] / [`PASSWORD`], in an `exampleauth:UserPass` source, and
//! one SP: AWS (`urn:amazon:webservices`), whose AssertionConsumerService is AWS's real
//! `https://signin.aws.amazon.com/saml`. So after the login the IdP's own auto-post page submits
//! the SAML response toward AWS, as it would in production: the sign-in window must take it
//! and never let the page through.
//!
//! Written for the 1.19 line Debian 12 ships (`config.php` arrays, `saml2/idp/SSOService.php`);
//! SimpleSAMLphp 2.x names its folder `public` and its URLs differently.

use crate::{Running, Sandbox, eventually};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// The IdP user's name and password.
pub const USERNAME: &str = "carol-idp";
pub const PASSWORD: &str = "secret";
/// The `RoleSessionName` attribute the IdP releases for [`USERNAME`].
pub const SESSION_NAME: &str = "carol@idp.example";
/// The one role the IdP releases (moto takes single-role assertions only), and its provider.
pub const ACCOUNT: &str = "111122223333";
pub const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/Admin";
pub const PROVIDER_ARN: &str = "arn:aws:iam::111122223333:saml-provider/SSP";
/// AWS's entity id, the SP the IdP-initiated sign-in is for.
pub const AWS_ENTITY_ID: &str = "urn:amazon:webservices";
/// Where the IdP posts the response: AWS's real sign-in page (never reached from a test).
pub const AWS_ACS: &str = "https://signin.aws.amazon.com/saml";

/// How long PHP may take to answer after starting.
const STARTUP_LIMIT: Duration = Duration::from_secs(30);
/// The folder URLs are served under (a symlink to Debian's `www` in the document root).
const BASE_PATH: &str = "simplesaml";

/// A running SimpleSAMLphp IdP, stopped when dropped.
#[derive(Debug)]
pub struct SimpleSamlPhp {
    base_url: String,
    dir: PathBuf,
    _server: Running,
}

impl SimpleSamlPhp {
    /// Writes the configuration into `<sandbox>/simplesamlphp`, starts
    /// `php -S 127.0.0.1:<free port>` and waits until the IdP serves its metadata.
    pub fn start(sandbox: &Sandbox) -> Self {
        let www = www_dir();
        let dir = sandbox.root().join("simplesamlphp");
        for sub in [
            "config", "metadata", "cert", "data", "tmp", "log", "sessions", "docroot",
        ] {
            std::fs::create_dir_all(dir.join(sub)).expect("SimpleSAMLphp folders");
        }
        // `/simplesaml/…` in URLs, as SimpleSAMLphp is usually deployed; PHP resolves the
        // symlink, so SimpleSAMLphp finds its own library beside `www`.
        std::os::unix::fs::symlink(&www, dir.join("docroot").join(BASE_PATH))
            .expect("linking SimpleSAMLphp's www folder into the document root");
        generate_key_pair(sandbox, &dir.join("cert"));
        write(&dir.join("config/authsources.php"), &authsources());
        write(
            &dir.join("metadata/saml20-idp-hosted.php"),
            IDP_HOSTED_METADATA,
        );
        write(
            &dir.join("metadata/saml20-sp-remote.php"),
            &sp_remote_metadata(),
        );

        // A port another process takes between probing and PHP's bind makes PHP exit: try
        // again with a new one, a bounded number of times.
        for _ in 0..5 {
            let port = free_port();
            let base_url = format!("http://127.0.0.1:{port}/{BASE_PATH}/");
            write(&dir.join("config/config.php"), &config(&dir, &base_url));
            let log = std::fs::File::create(dir.join("log/php-server.log"))
                .expect("the PHP server's log file");
            let mut command = sandbox.command("php");
            command
                .args(["-S", &format!("127.0.0.1:{port}"), "-t"])
                .arg(dir.join("docroot"))
                .env("SIMPLESAMLPHP_CONFIG_DIR", dir.join("config"))
                .stdout(Stdio::null())
                .stderr(log);
            let mut server = Running::spawn(&mut command);
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let metadata = format!("/{BASE_PATH}/saml2/idp/metadata.php");
            let answered = eventually(STARTUP_LIMIT, || {
                if !server.is_running() {
                    return Some(false);
                }
                serves_metadata(addr, &metadata).then_some(true)
            });
            match answered {
                Some(true) => {
                    return Self {
                        base_url,
                        dir,
                        _server: server,
                    };
                }
                Some(false) => continue,
                None => panic!(
                    "SimpleSAMLphp did not serve its IdP metadata on {addr} within \
                     {STARTUP_LIMIT:?}:\n{}",
                    logs(&dir)
                ),
            }
        }
        panic!(
            "php -S would not start (Debian packages php-cli, php-xml, simplesamlphp; \
             scripts/setup installs them):\n{}",
            logs(&dir)
        );
    }

    /// `http://127.0.0.1:<port>/simplesaml/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The IdP-initiated sign-in for AWS: a Rolecall endpoint URL.
    pub fn sign_on_url(&self) -> String {
        format!(
            "{}saml2/idp/SSOService.php?spentityid={}",
            self.base_url,
            AWS_ENTITY_ID.replace(':', "%3A")
        )
    }

    /// The PHP server's request log and SimpleSAMLphp's own log, for failure messages.
    pub fn logs(&self) -> String {
        logs(&self.dir)
    }
}

/// Debian's `www` folder, or `SIMPLESAMLPHP_WWW`.
fn www_dir() -> PathBuf {
    if let Some(path) = std::env::var_os("SIMPLESAMLPHP_WWW") {
        return PathBuf::from(path);
    }
    let www = Path::new("/usr/share/simplesamlphp/www");
    assert!(
        www.join("saml2/idp/SSOService.php").is_file(),
        "{} has no saml2/idp/SSOService.php: install Debian's simplesamlphp 1.19 \
         (scripts/setup), or point SIMPLESAMLPHP_WWW at its www folder",
        www.display()
    );
    www.to_path_buf()
}

fn generate_key_pair(sandbox: &Sandbox, cert_dir: &Path) {
    let output = sandbox
        .command("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=SimpleSAMLphp test IdP"])
        .arg("-keyout")
        .arg(cert_dir.join("idp.pem"))
        .arg("-out")
        .arg(cert_dir.join("idp.crt"))
        .stdin(Stdio::null())
        .output()
        .expect("openssl (Debian package openssl; scripts/setup installs it)");
    assert!(
        output.status.success(),
        "openssl req -x509: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A PHP single-quoted string literal.
fn php_string(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn php_dir(path: &Path) -> String {
    php_string(&format!("{}/", path.display()))
}

/// `config.php`: only what differs from SimpleSAMLphp's defaults, every path in `dir`.
fn config(dir: &Path, base_url: &str) -> String {
    let mut text = String::from("<?php\n$config = [\n");
    let entries = [
        ("baseurlpath", php_string(base_url)),
        ("certdir", php_dir(&dir.join("cert"))),
        ("loggingdir", php_dir(&dir.join("log"))),
        ("datadir", php_dir(&dir.join("data"))),
        ("tempdir", php_dir(&dir.join("tmp"))),
        ("metadatadir", php_dir(&dir.join("metadata"))),
        ("secretsalt", php_string("rolecall-test-salt-not-secret")),
        ("auth.adminpassword", php_string("rolecall-test-admin")),
        ("admin.checkforupdates", "false".to_owned()),
        ("timezone", php_string("UTC")),
        ("enable.saml20-idp", "true".to_owned()),
        (
            "module.enable",
            "['exampleauth' => true, 'core' => true, 'saml' => true]".to_owned(),
        ),
        ("store.type", php_string("phpsession")),
        (
            "session.phpsession.savepath",
            php_string(&dir.join("sessions").display().to_string()),
        ),
        // Plain http on loopback: cookies that are not Secure (and so not SameSite=None).
        ("session.cookie.secure", "false".to_owned()),
        ("session.cookie.samesite", "null".to_owned()),
        ("language.cookie.secure", "false".to_owned()),
        ("logging.handler", php_string("file")),
        ("logging.logfile", php_string("simplesamlphp.log")),
        ("logging.level", "SimpleSAML\\Logger::DEBUG".to_owned()),
        ("statistics.out", "[]".to_owned()),
    ];
    for (key, value) in entries {
        writeln!(text, "    {} => {value},", php_string(key)).expect("writing to a String");
    }
    text.push_str("];\n");
    text
}

fn authsources() -> String {
    format!(
        "<?php\n$config = [\n    'admin' => ['core:AdminPassword'],\n    'example-userpass' => [\n        \
         'exampleauth:UserPass',\n        {user} => [\n            'uid' => [{uid}],\n            \
         'https://aws.amazon.com/SAML/Attributes/Role' => [{role}],\n            \
         'https://aws.amazon.com/SAML/Attributes/RoleSessionName' => [{session}],\n        ],\n    \
         ],\n];\n",
        user = php_string(&format!("{USERNAME}:{PASSWORD}")),
        uid = php_string(USERNAME),
        role = php_string(&format!("{ROLE_ARN},{PROVIDER_ARN}")),
        session = php_string(SESSION_NAME),
    )
}

/// The hosted IdP: entity id from its own URL, the key pair in `certdir`, the user source.
const IDP_HOSTED_METADATA: &str = "<?php
$metadata['__DYNAMIC:1__'] = [
    'host' => '__DEFAULT__',
    'privatekey' => 'idp.pem',
    'certificate' => 'idp.crt',
    'auth' => 'example-userpass',
];
";

/// AWS as the remote SP: persistent NameID from `uid`, attribute names as URIs (what AWS reads).
fn sp_remote_metadata() -> String {
    format!(
        "<?php\n$metadata[{entity}] = [\n    'AssertionConsumerService' => {acs},\n    \
         'NameIDFormat' => 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',\n    \
         'simplesaml.nameidattribute' => 'uid',\n    \
         'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',\n];\n",
        entity = php_string(AWS_ENTITY_ID),
        acs = php_string(AWS_ACS),
    )
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|err| panic!("writing {}: {err}", path.display()));
}

fn logs(dir: &Path) -> String {
    ["log/php-server.log", "log/simplesamlphp.log"]
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
            format!("--- {name}\n{text}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// Whether `addr` answers `GET path` with 200 and SAML metadata.
fn serves_metadata(addr: SocketAddr, path: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    (answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"))
        && answer.contains("EntityDescriptor")
}
