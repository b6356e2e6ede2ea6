//! The controller starts, connects and serves `/health` and `/metrics`.

use coin_controller::{app::ControllerApp, settings::ControllerSettings};
use coin_shared::config::{LogFormat, TelemetrySettings};
use coin_tests::{TestDatabase, redis_settings};
use serde_json::Value;

#[tokio::test]
async fn the_controller_serves_health_with_its_dependencies_and_metrics() {
    let db = TestDatabase::create().await.expect("db");
    let settings = ControllerSettings {
        observability_host: "127.0.0.1".into(),
        observability_port: 0,
        database: db.settings(),
        redis: redis_settings(&format!("test-{}", uuid::Uuid::new_v4().simple())),
        telemetry: TelemetrySettings {
            log_format: LogFormat::Pretty,
        },
    };
    let app = ControllerApp::build(&settings).await.expect("controller");
    let address = format!("http://{}", app.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    let health = reqwest::get(format!("{address}/health"))
        .await
        .expect("health");
    assert_eq!(health.status().as_u16(), 200);
    let body: Value = health.json().await.expect("json");
    assert_eq!(body["service"], "coin-controller");
    assert_eq!(
        (&body["postgres"], &body["redis"]),
        (&"up".into(), &"up".into())
    );
    let metrics = reqwest::get(format!("{address}/metrics"))
        .await
        .expect("metrics");
    assert_eq!(metrics.status().as_u16(), 200);

    let _ = stop.send(());
    server.await.expect("join").expect("clean stop");
    db.drop_database().await.expect("drop");
}
