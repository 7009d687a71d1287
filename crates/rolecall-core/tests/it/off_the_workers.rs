//! Waiting for a file lock never stops the async runtime: on a single-threaded runtime, a
//! write that waits for another writer's lock on the credentials file lets every other task
//! go on, and finishes once that writer lets go.

use std::sync::Arc;
use std::time::Duration;

use rolecall_core::engine::{Action, Engine, EngineConfig, SystemClock};
use rolecall_core::paths::{AppPaths, Environment, Platform};
use rolecall_core::secrets::{MemoryStore, SecretKind, SecretStore, Sensitive};
use rolecall_core::settings::{Endpoint, Settings, SignInMethod};
use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};

// The default test runtime has one thread: a write that blocked it would stop this test too.
#[tokio::test]
async fn a_write_waiting_for_the_credentials_lock_leaves_the_runtime_free() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = Environment::new(Platform::current())
        .with("HOME", dir.path().to_string_lossy())
        .with(
            "ROLECALL_CONFIG_DIR",
            dir.path().join("config").to_string_lossy(),
        )
        .with("AWS_ENDPOINT_URL_STS", sim.sts_url());
    let paths = AppPaths::resolve(&env).unwrap();
    let mut endpoint = Endpoint::new("corp", sim.sign_on_url().as_str()).unwrap();
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some("alice".to_owned());
    let mut settings = Settings::default();
    settings.add_endpoint(endpoint).unwrap();
    settings.save(&paths).unwrap();
    let secrets = Arc::new(MemoryStore::new());
    secrets
        .set(
            "corp",
            SecretKind::Password,
            &Sensitive::new(DEMO_PASSWORD.to_owned()),
        )
        .unwrap();
    let (engine, _notices) = Engine::new(EngineConfig {
        paths: paths.clone(),
        env,
        secrets: secrets as Arc<dyn SecretStore>,
        clock: Arc::new(SystemClock),
    });

    // Another writer holds the credentials file's lock until this runtime shows it still runs.
    let credentials = paths.aws_credentials_file.clone();
    std::fs::create_dir_all(credentials.parent().unwrap()).unwrap();
    let mut lock_name = credentials.file_name().unwrap().to_owned();
    lock_name.push(".rolecall.lock");
    let lock_path = credentials.with_file_name(lock_name);
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let file = std::fs::File::create(&lock_path).unwrap();
        file.lock().unwrap();
        locked_tx.send(()).unwrap();
        let _ = release_rx.recv_timeout(Duration::from_secs(60));
        drop(file);
    });
    locked_rx.recv().unwrap();

    let writing = tokio::spawn({
        let engine = engine.clone();
        async move {
            engine
                .act(Action::Use {
                    endpoint: "corp".to_owned(),
                    role_arn: "arn:aws:iam::111122223333:role/Admin".to_owned(),
                })
                .await
        }
    });
    while sim.issued_credentials().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The write now waits for the lock; this task runs only if the runtime is free.
    tokio::time::sleep(Duration::from_millis(500)).await;
    release_tx.send(()).unwrap();
    let written = writing.await.unwrap();
    holder.join().unwrap();
    assert!(written.is_ok(), "{written:?}");
    assert!(
        std::fs::read_to_string(&credentials)
            .unwrap()
            .contains("[default]")
    );
}
