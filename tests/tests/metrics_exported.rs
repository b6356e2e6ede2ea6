//! Every metric the Grafana dashboard and the alert rules use is really exported: the API, a
//! worker and the controller run, do some work, and their `/metrics` pages are scraped.

use std::{collections::BTreeSet, time::Duration};

use coin_controller::app::ControllerApp;
use coin_tests::{
    TokenRole as Role, goodwill_body,
    metric_names::{config_files, family, metric_names, repo_root},
    spawn_app, wait_for,
};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_metric_the_dashboard_and_alert_rules_use_is_exported_by_a_running_binary() {
    let app = spawn_app().await.expect("app");
    let worker = app.spawn_worker(2).await.expect("worker");
    let settings = coin_tests::controller_settings(&app.db.settings(), &app.namespace, &[]);
    let controller = ControllerApp::build(&settings).await.expect("controller");
    let controller_address = format!("http://{}", controller.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(controller.run_until(async move {
        let _ = stopped.await;
    }));

    let token = app.token(Uuid::now_v7(), Role::Member);
    let accepted = app
        .accepted("/v1/goodwill-actions", &token, &goodwill_body(2))
        .await;
    app.settled(&accepted).await;
    app.get("/v1/no-such-route").await;
    wait_for(Duration::from_secs(20), "two controller ticks", || async {
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM controller_actions")
            .fetch_one(&app.db.pool)
            .await?;
        Ok((rows >= 2).then_some(()))
    })
    .await
    .expect("ticks");

    let mut exported = BTreeSet::new();
    for url in [
        format!("{}/metrics", app.address),
        format!("{}/metrics", worker.metrics_address),
        format!("{controller_address}/metrics"),
    ] {
        let text = app
            .client
            .get(&url)
            .send()
            .await
            .expect(&url)
            .text()
            .await
            .expect("text");
        exported.extend(metric_names(&text).iter().map(|m| family(m).to_owned()));
    }

    let files = config_files(&repo_root().join("deploy"));
    assert!(
        !files.is_empty(),
        "deploy/ holds the dashboard and the rules"
    );
    let mut missing = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable");
        for metric in metric_names(&text) {
            if !exported.contains(family(&metric)) {
                missing.push(format!("{} uses {metric}", file.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not exported by any binary:\n{}\nexported: {exported:?}",
        missing.join("\n")
    );

    let _ = stop.send(());
    running.await.expect("join").expect("clean stop");
    worker.stop().await.expect("stop");
    app.teardown().await.expect("teardown");
}

#[test]
fn the_readme_dashboards_and_alerts_name_only_catalogued_metrics() {
    let root = repo_root();
    let mut files = vec![root.join("README.md")];
    files.extend(config_files(&root.join("deploy")));
    let mut unknown = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable file");
        for name in metric_names(&text) {
            let name = family(&name);
            if !coin_shared::metric_names::ALL.contains(&name) {
                unknown.push(format!("{}: {name}", file.display()));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "not in coin_shared::metric_names: {unknown:#?}"
    );
}
