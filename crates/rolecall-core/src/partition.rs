//! AWS partitions: which sign-in, console and STS hosts belong together.
//!
//! [`TABLE`] is the one place Rolecall names AWS's hosts and DNS suffixes: every other module
//! (STS, the console, the alias lookup, the SAML `Destination` rule, the sign-in window's safety
//! net) asks a [`Partition`] for them, and a test keeps other source files from naming them.
//! This module also recognises a partition from a SAML `Destination` URL, an ARN or a region
//! name. It is pure string work: it never resolves a host, opens a connection or reads the
//! environment (the SDK's `AWS_ENDPOINT_URL_STS` override is the STS caller's business).

use std::fmt;

use serde::{Deserialize, Serialize};

/// An AWS partition Rolecall can sign in to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub enum Partition {
    #[default]
    #[serde(rename = "aws")]
    Aws,
    #[serde(rename = "aws-us-gov")]
    AwsUsGov,
    #[serde(rename = "aws-cn")]
    AwsCn,
    /// The AWS European Sovereign Cloud.
    #[serde(rename = "aws-eusc")]
    AwsEusc,
}

/// What Rolecall knows of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionData {
    pub partition: Partition,
    /// The name in ARNs.
    pub id: &'static str,
    /// The global sign-in host: where SAML responses are posted and the federation endpoint
    /// lives. Regional sign-in hosts are `<region>.<signin_host>`.
    pub signin_host: &'static str,
    /// The console host a federation login lands on.
    pub console_host: &'static str,
    /// Whether the console lives on regional hosts (`<region>.<console_host>`), where the
    /// global host only redirects; otherwise the global host picks the region from `?region=`.
    pub regional_console: bool,
    /// The DNS suffix of regional service endpoints (`sts.<region>.<suffix>`), as in the AWS
    /// SDK's own partition data (`dnsSuffix`).
    pub dns_suffix: &'static str,
    /// The STS region used when neither the assertion nor the settings name one.
    pub default_region: &'static str,
    /// How the partition's region names start; `None` for `aws`, which has every other region.
    pub region_prefix: Option<&'static str>,
    /// The region whose sign-in host follows a sign-out's `redirect_uri` where the global host
    /// does not (see [`crate::console::logout_then_login`]).
    pub logout_region: Option<&'static str>,
    /// Whether AWS offers console federation (`/federation`, `getSigninToken`) here.
    pub console_federation: bool,
}

/// Every partition Rolecall supports, and the only place their hosts are written.
pub const TABLE: [PartitionData; 4] = [
    PartitionData {
        partition: Partition::Aws,
        id: "aws",
        signin_host: "signin.aws.amazon.com",
        console_host: "console.aws.amazon.com",
        regional_console: true,
        dns_suffix: "amazonaws.com",
        default_region: "us-east-1",
        region_prefix: None,
        logout_region: Some("us-east-1"),
        console_federation: true,
    },
    PartitionData {
        partition: Partition::AwsUsGov,
        id: "aws-us-gov",
        signin_host: "signin.amazonaws-us-gov.com",
        console_host: "console.amazonaws-us-gov.com",
        regional_console: false,
        dns_suffix: "amazonaws.com",
        default_region: "us-gov-west-1",
        region_prefix: Some("us-gov-"),
        logout_region: None,
        console_federation: true,
    },
    PartitionData {
        partition: Partition::AwsCn,
        id: "aws-cn",
        signin_host: "signin.amazonaws.cn",
        console_host: "console.amazonaws.cn",
        regional_console: false,
        dns_suffix: "amazonaws.com.cn",
        default_region: "cn-north-1",
        region_prefix: Some("cn-"),
        logout_region: None,
        console_federation: true,
    },
    PartitionData {
        partition: Partition::AwsEusc,
        id: "aws-eusc",
        signin_host: "signin.amazonaws-eusc.eu",
        console_host: "console.amazonaws-eusc.eu",
        regional_console: false,
        dns_suffix: "amazonaws.eu",
        default_region: "eusc-de-east-1",
        region_prefix: Some("eusc-"),
        logout_region: None,
        console_federation: false,
    },
];

impl Partition {
    pub const ALL: [Partition; 4] = [
        Partition::Aws,
        Partition::AwsUsGov,
        Partition::AwsCn,
        Partition::AwsEusc,
    ];

    /// The partition's row of [`TABLE`].
    pub fn data(self) -> &'static PartitionData {
        match self {
            Partition::Aws => &TABLE[0],
            Partition::AwsUsGov => &TABLE[1],
            Partition::AwsCn => &TABLE[2],
            Partition::AwsEusc => &TABLE[3],
        }
    }

    /// The partition's name as it appears in ARNs: `aws`, `aws-us-gov`, `aws-cn`, `aws-eusc`.
    pub fn id(self) -> &'static str {
        self.data().id
    }

    /// The partition named `id` as in an ARN.
    pub fn from_id(id: &str) -> Option<Partition> {
        Partition::ALL.into_iter().find(|p| p.id() == id)
    }

    /// The global sign-in host: where SAML responses are posted and the federation endpoint lives.
    pub fn signin_host(self) -> &'static str {
        self.data().signin_host
    }

    /// The console host that a federation login lands on.
    pub fn console_host(self) -> &'static str {
        self.data().console_host
    }

    /// The console's host in `region`: the regional one where the partition has them.
    pub fn console_host_in(self, region: &str) -> String {
        let data = self.data();
        if data.regional_console {
            format!("{region}.{}", data.console_host)
        } else {
            data.console_host.to_owned()
        }
    }

    /// Whether AWS offers console federation in this partition.
    pub fn offers_console_federation(self) -> bool {
        self.data().console_federation
    }

    /// The sign-in host to sign out on so that the sign-out's `redirect_uri` is followed: the
    /// regional one where the global host ignores it, else the global one.
    pub fn logout_signin_host(self) -> String {
        let data = self.data();
        match data.logout_region {
            Some(region) => format!("{region}.{}", data.signin_host),
            None => data.signin_host.to_owned(),
        }
    }

    /// The partition whose global sign-in host is `host`.
    pub fn of_signin_host(host: &str) -> Option<Partition> {
        Partition::ALL
            .into_iter()
            .find(|p| p.signin_host().eq_ignore_ascii_case(host))
    }

    /// `https://<signin host>/federation`, for `getSigninToken` and `login`.
    pub fn federation_url(self) -> String {
        format!("https://{}/federation", self.signin_host())
    }

    /// The STS region used when neither the assertion nor the settings name one.
    pub fn default_region(self) -> &'static str {
        self.data().default_region
    }

    /// The partition a region belongs to, by its name: `us-gov-…`, `cn-…` and `eusc-…` regions
    /// have partitions of their own, every other region is in `aws`.
    pub fn of_region(region: &str) -> Partition {
        TABLE
            .iter()
            .find(|data| data.region_prefix.is_some_and(|p| region.starts_with(p)))
            .map_or(Partition::Aws, |data| data.partition)
    }

    /// The DNS suffix of the partition's regional service endpoints.
    pub fn dns_suffix(self) -> &'static str {
        self.data().dns_suffix
    }

    /// `https://sts.<region>.<suffix>`, or `None` when `region` is not shaped like a region
    /// name: the region ends up in a host name, so it must never carry a `/`, `@` or `.`.
    pub fn sts_endpoint(self, region: &str) -> Option<String> {
        is_region_name(region).then(|| format!("https://sts.{region}.{}", self.dns_suffix()))
    }

    /// The partition (and region, for a regional sign-in host) a SAML `Destination` points at.
    ///
    /// Recognises `https://[<region>.]<signin host>[:443]/saml` for every partition, plus
    /// the per-provider `/saml/acs/<id>` form AWS uses for providers that require encrypted
    /// assertions. Anything else (another scheme, port, path, a user name in the URL, a
    /// look-alike host) is `None`: a Destination we do not know tells us nothing.
    pub fn from_saml_destination(url: &str) -> Option<(Partition, Option<String>)> {
        let rest = strip_prefix_ignore_case(url.trim(), "https://")?;
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        if !is_saml_path(path) {
            return None;
        }
        // A user-info part (`user@host`) never appears in a real Destination and is how
        // look-alike URLs hide their real host.
        if authority.contains('@') {
            return None;
        }
        let host = match authority.rsplit_once(':') {
            Some((host, "443")) => host,
            Some(_) => return None,
            None => authority,
        };
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        Partition::ALL.into_iter().find_map(|partition| {
            let signin = partition.signin_host();
            if host == signin {
                return Some((partition, None));
            }
            let region = host.strip_suffix(signin)?.strip_suffix('.')?;
            is_region_name(region).then(|| (partition, Some(region.to_owned())))
        })
    }
}

/// Whether `url` is the stand-in for AWS's `/saml` page that the simulator serves on loopback
/// (the demo and the tests). Only an endpoint that is itself on loopback has one.
pub fn is_loopback_stand_in(url: &url::Url, endpoint_on_loopback: bool) -> bool {
    endpoint_on_loopback && crate::http::is_loopback(url) && url.path().ends_with("/saml")
}

/// Whether a navigation to `url` heads for one of AWS's SAML sign-in pages: any partition's
/// sign-in host (regional ones too), and any path under `/saml` (`/saml`, `/saml/`,
/// `/saml/acs/…`), with any query. Unlike [`Partition::from_saml_destination`], which reads
/// what an IdP wrote, this stops a browser: it errs on the side of stopping, so the scheme, the
/// port and the case of the path do not matter.
pub fn is_saml_page(url: &url::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let aws = Partition::ALL.into_iter().any(|partition| {
        let signin = partition.signin_host();
        host == signin
            || host
                .strip_suffix(signin)
                .is_some_and(|rest| rest.ends_with('.'))
    });
    if !aws {
        return false;
    }
    let path = url.path().to_ascii_lowercase();
    path.strip_prefix("/saml")
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The partition of an ARN (`arn:aws-us-gov:iam::...` → `AwsUsGov`), or `None` when the text is
/// not an ARN of a partition Rolecall knows.
pub fn partition_of_arn(arn: &str) -> Option<Partition> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, _) = rest.split_once(':')?;
    Partition::from_id(partition)
}

/// Whether `s` looks like an AWS region name: lowercase words joined by `-`, ending in a number
/// (`us-east-1`, `us-gov-west-1`, `cn-northwest-1`, `ap-southeast-5`).
pub fn is_region_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.len() <= 3
        && number.bytes().all(|b| b.is_ascii_digit())
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `/saml`, or `/saml/acs/<provider id>` (letters, digits and `-`), with no query or fragment.
fn is_saml_path(path: &str) -> bool {
    if path == "/saml" {
        return true;
    }
    path.strip_prefix("/saml/acs/").is_some_and(|id| {
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_follow_the_partition() {
        assert_eq!(Partition::Aws.signin_host(), "signin.aws.amazon.com");
        assert_eq!(
            Partition::AwsUsGov.signin_host(),
            "signin.amazonaws-us-gov.com"
        );
        assert_eq!(Partition::AwsCn.signin_host(), "signin.amazonaws.cn");
        assert_eq!(Partition::Aws.console_host(), "console.aws.amazon.com");
        assert_eq!(
            Partition::AwsUsGov.console_host(),
            "console.amazonaws-us-gov.com"
        );
        assert_eq!(Partition::AwsCn.console_host(), "console.amazonaws.cn");
        assert_eq!(
            Partition::AwsCn.federation_url(),
            "https://signin.amazonaws.cn/federation"
        );
    }

    #[test]
    fn each_row_of_the_table_is_its_partitions_own() {
        for partition in Partition::ALL {
            let data = partition.data();
            assert_eq!(data.partition, partition, "{partition}'s row is its own");
            assert_eq!(
                Partition::of_region(data.default_region),
                partition,
                "{partition}'s default region belongs to it"
            );
            assert!(
                is_region_name(data.default_region),
                "{}",
                data.default_region
            );
            assert_eq!(Partition::of_signin_host(data.signin_host), Some(partition));
        }
    }

    #[test]
    fn the_european_sovereign_cloud_has_hosts_of_its_own() {
        let eusc = Partition::AwsEusc;
        assert_eq!(eusc.id(), "aws-eusc");
        assert_eq!(eusc.signin_host(), "signin.amazonaws-eusc.eu");
        assert_eq!(
            eusc.console_host_in("eusc-de-east-1"),
            "console.amazonaws-eusc.eu"
        );
        assert_eq!(eusc.default_region(), "eusc-de-east-1");
        assert_eq!(
            eusc.sts_endpoint("eusc-de-east-1").as_deref(),
            Some("https://sts.eusc-de-east-1.amazonaws.eu"),
            "the SDK's dnsSuffix for aws-eusc"
        );
        assert_eq!(Partition::of_region("eusc-de-east-1"), eusc);
        assert!(!eusc.offers_console_federation());
        assert_eq!(
            Partition::from_saml_destination("https://signin.amazonaws-eusc.eu/saml"),
            Some((eusc, None))
        );
        assert_eq!(
            Partition::from_saml_destination(
                "https://eusc-de-east-1.signin.amazonaws-eusc.eu/saml"
            ),
            Some((eusc, Some("eusc-de-east-1".to_owned())))
        );
        assert_eq!(
            partition_of_arn("arn:aws-eusc:iam::123456789012:role/A"),
            Some(eusc)
        );
        let page = url::Url::parse("https://signin.amazonaws-eusc.eu/saml").unwrap();
        assert!(
            is_saml_page(&page),
            "the sign-in window stops at eusc's /saml too"
        );
    }

    #[test]
    fn regions_belong_to_the_partition_of_their_prefix() {
        assert_eq!(Partition::of_region("eu-west-1"), Partition::Aws);
        assert_eq!(Partition::of_region("us-gov-east-1"), Partition::AwsUsGov);
        assert_eq!(Partition::of_region("cn-northwest-1"), Partition::AwsCn);
        assert_eq!(Partition::of_region("eusc-de-east-1"), Partition::AwsEusc);
    }

    #[test]
    fn consoles_are_regional_only_in_aws_and_logouts_move_only_there() {
        assert_eq!(
            Partition::Aws.console_host_in("eu-west-1"),
            "eu-west-1.console.aws.amazon.com"
        );
        assert_eq!(
            Partition::AwsUsGov.console_host_in("us-gov-east-1"),
            "console.amazonaws-us-gov.com"
        );
        assert_eq!(
            Partition::AwsCn.console_host_in("cn-north-1"),
            "console.amazonaws.cn"
        );
        assert_eq!(
            Partition::Aws.logout_signin_host(),
            "us-east-1.signin.aws.amazon.com"
        );
        assert_eq!(Partition::AwsCn.logout_signin_host(), "signin.amazonaws.cn");
    }

    /// The table is the only place AWS's hosts are written: a host written anywhere else
    /// would miss the next partition, as the consoles and sign-outs of `aws-us-gov` and
    /// `aws-cn` once did. Tests (after `#[cfg(test)]`, and test files) may name hosts as data.
    #[test]
    fn no_other_source_file_names_the_partitions_hosts() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let folders = [
            root.join("src"),
            root.join("../rolecall-cli/src"),
            root.join("../../src-tauri/src"),
        ];
        let mut needles: Vec<&str> = Vec::new();
        for data in &TABLE {
            needles.extend([data.signin_host, data.console_host, data.dns_suffix]);
        }
        let mut files = Vec::new();
        for folder in &folders {
            collect_rust_files(folder, &mut files);
        }
        assert!(
            files.iter().any(|file| file.ends_with("console.rs")),
            "the scan found the sources: {files:?}"
        );
        let own = root.join("src/partition.rs");
        let mut found = Vec::new();
        for file in files {
            if file == own || file.file_name().is_some_and(|name| name == "tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for (number, line) in text.lines().enumerate() {
                if line.trim() == "#[cfg(test)]" {
                    break;
                }
                for needle in &needles {
                    if line.contains(needle) {
                        found.push(format!("{}:{}: {needle}", file.display(), number + 1));
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "AWS hosts belong in partition::TABLE only: {found:#?}"
        );
    }

    fn collect_rust_files(folder: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                collect_rust_files(&path, files);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }

    #[test]
    fn default_regions_are_the_partitions_first_sts_regions() {
        assert_eq!(Partition::Aws.default_region(), "us-east-1");
        assert_eq!(Partition::AwsUsGov.default_region(), "us-gov-west-1");
        assert_eq!(Partition::AwsCn.default_region(), "cn-north-1");
    }

    #[test]
    fn sts_endpoints_use_the_partitions_dns_suffix() {
        assert_eq!(
            Partition::Aws.sts_endpoint("eu-west-1").as_deref(),
            Some("https://sts.eu-west-1.amazonaws.com")
        );
        assert_eq!(
            Partition::AwsUsGov.sts_endpoint("us-gov-west-1").as_deref(),
            Some("https://sts.us-gov-west-1.amazonaws.com")
        );
        assert_eq!(
            Partition::AwsCn.sts_endpoint("cn-northwest-1").as_deref(),
            Some("https://sts.cn-northwest-1.amazonaws.com.cn")
        );
    }

    #[test]
    fn sts_endpoint_refuses_a_region_that_would_change_the_host() {
        for bad in [
            "",
            "evil.com/x",
            "us-east-1.evil.com",
            "user@host",
            "US-EAST-1",
            "us-east",
        ] {
            assert_eq!(
                Partition::Aws.sts_endpoint(bad),
                None,
                "{bad:?} is not a region and must not become part of a host name"
            );
        }
    }

    #[test]
    fn partition_ids_round_trip() {
        for p in Partition::ALL {
            assert_eq!(Partition::from_id(p.id()), Some(p), "{p} should parse back");
            assert_eq!(p.to_string(), p.id());
        }
        assert_eq!(
            Partition::from_id("aws-iso"),
            None,
            "aws-iso is not supported"
        );
        assert_eq!(
            Partition::from_id("AWS"),
            None,
            "partition ids are lowercase"
        );
    }

    #[test]
    fn global_destinations_name_their_partition() {
        let cases = [
            ("https://signin.aws.amazon.com/saml", Partition::Aws),
            (
                "https://signin.amazonaws-us-gov.com/saml",
                Partition::AwsUsGov,
            ),
            ("https://signin.amazonaws.cn/saml", Partition::AwsCn),
        ];
        for (url, partition) in cases {
            assert_eq!(
                Partition::from_saml_destination(url),
                Some((partition, None)),
                "{url} is the {partition} sign-in endpoint"
            );
        }
    }

    #[test]
    fn look_alike_destinations_name_no_partition() {
        for url in [
            "https://signin.aws.amazon.com.evil.example/saml",
            "https://evilsignin.aws.amazon.com/saml",
            "https://signin.aws.amazon.com@evil.example/saml",
            "http://signin.aws.amazon.com/saml",
            "https://signin.aws.amazon.com/saml/",
            "https://signin.aws.amazon.com/saml?x=1",
            "https://signin.aws.amazon.com/federation",
            "https://signin.aws.amazon.com:8443/saml",
            "https://signin.amazonaws.cn.example/saml",
            "https://signin.aws.amazon.com",
            "",
            "saml",
        ] {
            assert_eq!(
                Partition::from_saml_destination(url),
                None,
                "{url:?} is not an AWS SAML endpoint"
            );
        }
    }

    #[test]
    fn regional_destinations_name_their_region() {
        let cases = [
            (
                "https://us-west-2.signin.aws.amazon.com/saml",
                Partition::Aws,
                "us-west-2",
            ),
            (
                "https://us-gov-east-1.signin.amazonaws-us-gov.com/saml",
                Partition::AwsUsGov,
                "us-gov-east-1",
            ),
            (
                "https://cn-northwest-1.signin.amazonaws.cn/saml",
                Partition::AwsCn,
                "cn-northwest-1",
            ),
        ];
        for (url, partition, region) in cases {
            assert_eq!(
                Partition::from_saml_destination(url),
                Some((partition, Some(region.to_owned()))),
                "{url} is the {region} sign-in endpoint of {partition}"
            );
        }
    }

    #[test]
    fn regional_destinations_with_a_non_region_label_name_nothing() {
        for url in [
            "https://evil.signin.aws.amazon.com/saml",
            "https://a.b.signin.aws.amazon.com/saml",
            "https://us-west-2..signin.aws.amazon.com/saml",
            "https://.signin.aws.amazon.com/saml",
            "https://us-west-x.signin.amazonaws.cn/saml",
        ] {
            assert_eq!(
                Partition::from_saml_destination(url),
                None,
                "{url:?} does not carry a region name"
            );
        }
    }

    #[test]
    fn port_443_and_case_do_not_change_the_destination() {
        // AD FS posts to `https://signin.aws.amazon.com:443/saml` (DESIGN §3).
        assert_eq!(
            Partition::from_saml_destination("https://signin.aws.amazon.com:443/saml"),
            Some((Partition::Aws, None))
        );
        assert_eq!(
            Partition::from_saml_destination("HTTPS://EU-WEST-1.Signin.AWS.Amazon.com:443/saml"),
            Some((Partition::Aws, Some("eu-west-1".to_owned())))
        );
        assert_eq!(
            Partition::from_saml_destination("https://signin.amazonaws.cn:443/saml"),
            Some((Partition::AwsCn, None))
        );
    }

    #[test]
    fn other_ports_are_not_aws() {
        for url in [
            "https://signin.aws.amazon.com:80/saml",
            "https://signin.aws.amazon.com:/saml",
            "https://signin.aws.amazon.com:4430/saml",
        ] {
            assert_eq!(
                Partition::from_saml_destination(url),
                None,
                "{url:?} has a foreign port"
            );
        }
    }

    #[test]
    fn provider_specific_acs_paths_are_recognised() {
        assert_eq!(
            Partition::from_saml_destination(
                "https://us-east-2.signin.aws.amazon.com/saml/acs/SAMLSP4SHN3UIS2D558H46"
            ),
            Some((Partition::Aws, Some("us-east-2".to_owned())))
        );
        assert_eq!(
            Partition::from_saml_destination("https://signin.aws.amazon.com/saml/acs/"),
            None,
            "an ACS path needs a provider id"
        );
        assert_eq!(
            Partition::from_saml_destination("https://signin.aws.amazon.com/saml/acs/a/../b"),
            None,
            "a provider id is one path segment"
        );
    }

    #[test]
    fn saml_pages_are_recognised_under_any_path_below_saml() {
        for target in [
            "https://signin.aws.amazon.com/saml",
            "https://signin.aws.amazon.com/saml/",
            "https://signin.aws.amazon.com/saml?x=1",
            "https://signin.aws.amazon.com/saml/?x",
            "https://signin.aws.amazon.com/saml#top",
            "https://signin.aws.amazon.com/SAML",
            "https://signin.aws.amazon.com:443/saml",
            "https://signin.aws.amazon.com:8443/saml",
            "http://signin.aws.amazon.com/saml",
            "https://signin.aws.amazon.com./saml",
            "https://eu-west-1.signin.aws.amazon.com/saml/acs/SAMLSP4SHN3UIS2D558H46",
            "https://us-gov-west-1.signin.amazonaws-us-gov.com/saml?x",
            "https://signin.amazonaws.cn/saml/",
        ] {
            let url = url::Url::parse(target).unwrap_or_else(|err| panic!("{target}: {err}"));
            assert!(is_saml_page(&url), "{target} is AWS's SAML page");
        }
    }

    #[test]
    fn other_pages_are_not_saml_pages() {
        for target in [
            "https://signin.aws.amazon.com/console",
            "https://signin.aws.amazon.com/samlx",
            "https://signin.aws.amazon.com/",
            "https://signin.aws.amazon.com/federation?x=/saml",
            "https://signin.aws.amazon.com.evil.example/saml",
            "https://evilsignin.aws.amazon.com/saml",
            "https://sts.corp.example/saml",
            "https://sts.corp.example/adfs/ls/?to=https://signin.aws.amazon.com/saml",
        ] {
            let url = url::Url::parse(target).unwrap_or_else(|err| panic!("{target}: {err}"));
            assert!(!is_saml_page(&url), "{target} is not AWS's SAML page");
        }
    }

    #[test]
    fn arns_name_their_partition() {
        assert_eq!(
            partition_of_arn("arn:aws:iam::123456789012:role/Admin"),
            Some(Partition::Aws)
        );
        assert_eq!(
            partition_of_arn("arn:aws-us-gov:iam::123456789012:role/Admin"),
            Some(Partition::AwsUsGov)
        );
        assert_eq!(
            partition_of_arn("arn:aws-cn:iam::123456789012:saml-provider/ADFS"),
            Some(Partition::AwsCn)
        );
    }

    #[test]
    fn non_arns_and_unknown_partitions_name_nothing() {
        for text in [
            "arn:aws-iso:iam::123456789012:role/Admin",
            "aws:iam::123456789012:role/Admin",
            "arn:aws",
            "ARN:aws:iam::1:role/x",
            "",
        ] {
            assert_eq!(
                partition_of_arn(text),
                None,
                "{text:?} has no known partition"
            );
        }
    }

    #[test]
    fn region_names_are_recognised_by_shape() {
        for good in [
            "us-east-1",
            "us-gov-west-1",
            "cn-northwest-1",
            "eusc-de-east-1",
        ] {
            assert!(is_region_name(good), "{good} is a region name");
        }
        for bad in [
            "us-east-",
            "-east-1",
            "east-1",
            "us--east-1",
            "us-east-1a",
            "us-east-1234",
        ] {
            assert!(!is_region_name(bad), "{bad:?} is not a region name");
        }
    }

    #[test]
    fn partitions_serialize_as_their_ids() {
        let json = serde_json::to_string(&Partition::AwsUsGov).unwrap_or_default();
        assert_eq!(json, "\"aws-us-gov\"");
        let back: Result<Partition, _> = serde_json::from_str("\"aws-cn\"");
        assert_eq!(back.ok(), Some(Partition::AwsCn));
    }
}
