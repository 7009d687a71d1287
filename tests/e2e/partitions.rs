//! Each AWS partition end to end through the real `rolecall` binary: the simulator's AD FS
//! issues an assertion whose roles and `Destination` name the partition, and
//! - without `AWS_ENDPOINT_URL_STS`, `rolecall login` heads for that partition's STS in the
//!   asked region (a loopback proxy stands in for the network, writes the request down and
//!   refuses it: nothing leaves the machine);
//! - with the simulator's STS, the profile is written with the region of that partition;
//! - `rolecall console --print` makes a login that lands on that partition's console host
//!   (the simulator's federation endpoint stands in for AWS's and sends the browser on).

use std::process::Output;
use std::sync::Arc;

use rolecall_core::partition::Partition;
use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use rolecall_tests::{NoNetwork, Sandbox, rolecall_binary};

/// One partition as AWS names it, written out here rather than read from Rolecall's table so
/// that a wrong row fails too.
struct Case {
    partition: Partition,
    /// Where its AD FS posts the assertion.
    destination: &'static str,
    /// A region of it, asked for with `--region`.
    region: &'static str,
    /// Its STS in that region.
    sts_host: &'static str,
    /// Where its console opens in that region.
    console: &'static str,
}

fn cases() -> [Case; 4] {
    [
        Case {
            partition: Partition::Aws,
            destination: "https://signin.aws.amazon.com:443/saml",
            region: "eu-west-1",
            sts_host: "sts.eu-west-1.amazonaws.com",
            console: "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
        },
        Case {
            partition: Partition::AwsUsGov,
            destination: "https://us-gov-east-1.signin.amazonaws-us-gov.com/saml",
            region: "us-gov-east-1",
            sts_host: "sts.us-gov-east-1.amazonaws.com",
            console: "https://console.amazonaws-us-gov.com/console/home?region=us-gov-east-1",
        },
        Case {
            partition: Partition::AwsCn,
            destination: "https://signin.amazonaws.cn/saml",
            region: "cn-northwest-1",
            sts_host: "sts.cn-northwest-1.amazonaws.com.cn",
            console: "https://console.amazonaws.cn/console/home?region=cn-northwest-1",
        },
        Case {
            partition: Partition::AwsEusc,
            destination: "https://eusc-de-east-1.signin.amazonaws-eusc.eu/saml",
            region: "eusc-de-east-1",
            sts_host: "sts.eusc-de-east-1.amazonaws.eu",
            console: "https://console.amazonaws-eusc.eu/console/home?region=eusc-de-east-1",
        },
    ]
}

async fn sim_of(partition: Partition, destination: &str) -> Sim {
    let mut config = SimConfig::demo();
    config.destination = Some(destination.to_owned());
    config.partition = partition.id().to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, config).await.unwrap()
}

async fn run(
    sandbox: &Arc<Sandbox>,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
) -> Output {
    let mut command = sandbox.command(rolecall_binary());
    command
        .args(&args)
        .env("ROLECALL_PASSWORD", DEMO_PASSWORD)
        .envs(env);
    let keep = Arc::clone(sandbox);
    tokio::task::spawn_blocking(move || {
        let output = command.output().unwrap();
        drop(keep);
        output
    })
    .await
    .unwrap()
}

fn login_args(sim: &Sim, region: &str) -> Vec<String> {
    [
        "login",
        "--url",
        sim.sign_on_url().as_str(),
        "--auth",
        "forms",
        "--username",
        "alice",
        "--role",
        "111122223333/Admin",
        "--profile",
        "work",
        "--region",
        region,
    ]
    .map(str::to_owned)
    .to_vec()
}

fn proxied(no_network: &NoNetwork) -> Vec<(&'static str, String)> {
    let mut env = Vec::new();
    for var in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
        env.push((var, no_network.proxy_url()));
    }
    for var in ["NO_PROXY", "no_proxy"] {
        env.push((var, "127.0.0.1,localhost".to_owned()));
    }
    env
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_goes_to_the_sts_of_the_assertions_partition() {
    for Case {
        partition,
        destination,
        region,
        sts_host,
        ..
    } in cases()
    {
        let sim = sim_of(partition, destination).await;
        let sandbox = Arc::new(Sandbox::new());
        let no_network = NoNetwork::start();
        let output = run(&sandbox, login_args(&sim, region), proxied(&no_network)).await;
        assert!(
            !output.status.success(),
            "{partition}: STS is out of reach here, so the login fails: {output:?}"
        );
        let requests = no_network.requests();
        assert!(
            requests
                .iter()
                .any(|head| head.starts_with(&format!("CONNECT {sts_host}:443 "))),
            "{partition}: AssumeRoleWithSAML heads for {sts_host}: {requests:?}"
        );
        // The account alias lookup posts the assertion to the Destination, the partition's
        // own sign-in page; nothing else may try to leave.
        let signin_host = destination
            .trim_start_matches("https://")
            .split(['/', ':'])
            .next()
            .unwrap_or_default()
            .to_owned();
        for head in &requests {
            assert!(
                head.starts_with(&format!("CONNECT {sts_host}:443 "))
                    || head.starts_with(&format!("CONNECT {signin_host}:443 ")),
                "{partition}: only its STS and its sign-in page are asked for: {requests:?}"
            );
        }
        assert_eq!(
            sim.stats().sts_calls,
            0,
            "{partition}: the simulator's STS was not used"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_partition_writes_its_region_and_opens_its_own_console() {
    for Case {
        partition,
        destination,
        region,
        console: console_home,
        ..
    } in cases()
    {
        let sim = sim_of(partition, destination).await;
        let sandbox = Arc::new(Sandbox::new());
        let sts = vec![("AWS_ENDPOINT_URL_STS", sim.sts_url().to_string())];
        let output = run(&sandbox, login_args(&sim, region), sts.clone()).await;
        assert!(output.status.success(), "{partition}: login: {output:?}");
        let config = std::fs::read_to_string(sandbox.aws_config_file()).unwrap();
        assert!(
            config.contains(&format!("region = {region}")),
            "{partition}: the profile is written in {region}: {config}"
        );
        let credentials = std::fs::read_to_string(sandbox.aws_credentials_file()).unwrap();
        assert!(
            credentials.contains("aws_session_token"),
            "{partition}: {credentials}"
        );

        let console = vec!["console", "--profile", "work", "--print"]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        let mut env = sts.clone();
        env.push(("ROLECALL_SIGNIN_ENDPOINT", sim.federation_url().to_string()));
        let output = run(&sandbox, console.clone(), env).await;
        assert!(output.status.success(), "{partition}: console: {output:?}");
        let url = String::from_utf8(output.stdout).unwrap().trim().to_owned();
        let no_redirects = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let answer = no_redirects.get(&url).send().await.unwrap();
        assert_eq!(answer.status(), 302, "{partition}: the login signs in");
        assert_eq!(
            answer.headers()["location"].to_str().unwrap(),
            console_home,
            "{partition}: the console of the partition, in the profile's region"
        );

        if !partition.offers_console_federation() {
            // Without a federation endpoint of its own to go to, Rolecall says so.
            let output = run(&sandbox, console, sts).await;
            assert!(!output.status.success(), "{partition}: {output:?}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains("does not offer console sign-in")
                    && stderr.contains(partition.id()),
                "{partition}: {stderr}"
            );
        }
    }
}
