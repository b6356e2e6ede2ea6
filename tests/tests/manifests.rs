//! The deployment files hold the invariants operators rely on: every Kubernetes manifest under
//! `k8s/` parses into its k8s-openapi type with no field the API would drop, the controller may
//! only get and patch the worker Deployment's scale, every pod is probed and bounded, workers get
//! to finish their jobs, and the dashboard and alert rules under `deploy/` use only metrics the
//! binaries export. No cluster, Docker or database is needed.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
    sync::OnceLock,
};

use coin_tests::metric_names::{config_files, metric_names};
use k8s_openapi::{
    api::{
        apps::v1::Deployment,
        core::v1::{ConfigMap, Container, Namespace, PodSpec, Secret, Service, ServiceAccount},
        policy::v1::PodDisruptionBudget,
        rbac::v1::{Role, RoleBinding},
    },
    apimachinery::pkg::util::intstr::IntOrString,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// The metrics DESIGN.md ("Metrics") says the binaries export. Everything the dashboard and the
/// alert rules query must be one of these.
// TODO(ops): also compare this list with the live /metrics output of the three binaries.
const EXPORTED_METRICS: &[&str] = &[
    "coin_http_requests_total",
    "coin_http_request_duration_seconds",
    "coin_jobs_enqueued_total",
    "coin_jobs_completed_total",
    "coin_job_duration_seconds",
    "coin_queue_backlog_jobs",
    "coin_queue_inflight_jobs",
    "coin_queue_dead_jobs",
    "coin_worker_replicas",
    "coin_controller_decisions_total",
    "coin_host_cpu_usage_ratio",
    "coin_host_memory_usage_ratio",
    "coin_host_disk_usage_ratio",
];

/// Histograms of that list, which Prometheus exposes as `_bucket`, `_sum` and `_count` series.
const HISTOGRAMS: &[&str] = &[
    "coin_http_request_duration_seconds",
    "coin_job_duration_seconds",
];

/// Files in `k8s/` that are not resources applied by `kubectl apply -k`.
const KUSTOMIZATION: &str = "kustomization.yaml";
const SECRET_TEMPLATE: &str = "secret.example.yaml";

/// One Kubernetes object of `k8s/`, typed. (A test holds a dozen of these: their size is moot.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Object {
    Namespace(Namespace),
    ConfigMap(ConfigMap),
    Secret(Secret),
    Deployment(Box<Deployment>),
    Service(Service),
    ServiceAccount(ServiceAccount),
    Role(Role),
    RoleBinding(RoleBinding),
    PodDisruptionBudget(PodDisruptionBudget),
}

/// Every object of `k8s/*.yaml` with the file it came from.
struct Manifests(Vec<(String, Object)>);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace root")
        .to_path_buf()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .expect("a file name")
        .to_string_lossy()
        .into_owned()
}

/// Parses `value` as `T` and checks that serializing it back gives the same document: a field the
/// type does not know (a typo, a wrong indentation level) would be silently dropped otherwise.
fn typed<T: DeserializeOwned + Serialize>(value: serde_yaml::Value, origin: &str) -> T {
    let object: T = serde_yaml::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{origin}: does not parse as its kind: {e}"));
    let written = serde_json::to_value(&object).expect("serializable");
    let original = serde_json::to_value(&value).expect("YAML maps to JSON");
    if let Some(difference) = first_difference(&original, &written, "") {
        panic!("{origin}: {difference} (unknown field or wrong type?)");
    }
    object
}

fn first_difference(
    original: &serde_json::Value,
    written: &serde_json::Value,
    at: &str,
) -> Option<String> {
    use serde_json::Value::{Array, Object};
    match (original, written) {
        (Object(a), Object(b)) => a
            .iter()
            .find_map(|(key, value)| match b.get(key) {
                None => Some(format!("`{at}.{key}` is not a field of the type")),
                Some(other) => first_difference(value, other, &format!("{at}.{key}")),
            })
            .or_else(|| {
                b.keys()
                    .find(|key| !a.contains_key(*key))
                    .map(|key| format!("`{at}.{key}` appeared when written back"))
            }),
        (Array(a), Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, &format!("{at}[{i}]"))),
        _ if original == written => None,
        _ => Some(format!("`{at}` reads back as {written}, was {original}")),
    }
}

/// Every object of one kind, e.g. `of_kind!(manifests, Object::Service)`.
macro_rules! of_kind {
    ($manifests:expr, $kind:path) => {
        $manifests
            .0
            .iter()
            .filter_map(|(_, o)| match o {
                $kind(object) => Some(object),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
}

/// The manifests, read and parsed once for every test.
fn loaded() -> &'static Manifests {
    static LOADED: OnceLock<Manifests> = OnceLock::new();
    LOADED.get_or_init(Manifests::load)
}

impl Manifests {
    fn load() -> Self {
        let dir = repo_root().join("k8s");
        let mut objects = Vec::new();
        for path in yaml_files(&dir) {
            let name = file_name(&path);
            if name == KUSTOMIZATION {
                continue;
            }
            let text = read(&path);
            for (index, document) in serde_yaml::Deserializer::from_str(&text).enumerate() {
                let value = serde_yaml::Value::deserialize(document)
                    .unwrap_or_else(|e| panic!("{name}: document {index} is not YAML: {e}"));
                if value.is_null() {
                    continue;
                }
                let kind = value
                    .get("kind")
                    .and_then(|k| k.as_str())
                    .unwrap_or_else(|| panic!("{name}: document {index} has no kind"))
                    .to_owned();
                let origin = format!("{name}: {kind} #{index}");
                let object = match kind.as_str() {
                    "Namespace" => Object::Namespace(typed(value, &origin)),
                    "ConfigMap" => Object::ConfigMap(typed(value, &origin)),
                    "Secret" => Object::Secret(typed(value, &origin)),
                    "Deployment" => Object::Deployment(Box::new(typed(value, &origin))),
                    "Service" => Object::Service(typed(value, &origin)),
                    "ServiceAccount" => Object::ServiceAccount(typed(value, &origin)),
                    "Role" => Object::Role(typed(value, &origin)),
                    "RoleBinding" => Object::RoleBinding(typed(value, &origin)),
                    "PodDisruptionBudget" => Object::PodDisruptionBudget(typed(value, &origin)),
                    other => panic!("{origin}: kind {other} is not expected in k8s/"),
                };
                objects.push((name.clone(), object));
            }
        }
        assert!(!objects.is_empty(), "k8s/ holds no manifest");
        Self(objects)
    }

    fn deployments(&self) -> Vec<&Deployment> {
        self.0
            .iter()
            .filter_map(|(_, o)| match o {
                Object::Deployment(d) => Some(d.as_ref()),
                _ => None,
            })
            .collect()
    }

    /// The Deployment whose main container runs `binary`.
    fn deployment_running(&self, binary: &str) -> &Deployment {
        let found: Vec<_> = self
            .deployments()
            .into_iter()
            .filter(|d| {
                containers(d).iter().any(|c| {
                    c.command
                        .as_deref()
                        .and_then(|c| c.first())
                        .map(String::as_str)
                        == Some(binary)
                })
            })
            .collect();
        assert_eq!(found.len(), 1, "exactly one Deployment runs {binary}");
        found[0]
    }

    fn roles(&self) -> Vec<&Role> {
        of_kind!(self, Object::Role)
    }

    fn config(&self) -> BTreeMap<String, String> {
        let maps: Vec<_> = self
            .0
            .iter()
            .filter_map(|(_, o)| match o {
                Object::ConfigMap(c) => Some(c.data.clone().unwrap_or_default()),
                _ => None,
            })
            .collect();
        assert_eq!(maps.len(), 1, "one ConfigMap holds the settings");
        maps.into_iter().next().unwrap_or_default()
    }
}

fn pod_spec(deployment: &Deployment) -> &PodSpec {
    deployment
        .spec
        .template
        .spec
        .as_ref()
        .unwrap_or_else(|| panic!("{} has no pod spec", name(deployment)))
}

fn containers(deployment: &Deployment) -> &[Container] {
    &pod_spec(deployment).containers
}

fn name(deployment: &Deployment) -> &str {
    deployment.metadata.name.as_deref().unwrap_or("<unnamed>")
}

fn pod_labels(deployment: &Deployment) -> BTreeMap<String, String> {
    deployment
        .spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default()
}

fn pod_annotations(deployment: &Deployment) -> BTreeMap<String, String> {
    deployment
        .spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default()
}

fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Whether `port` (a number or a name) is a port `container` declares.
fn declares_port(container: &Container, port: &IntOrString) -> bool {
    container.ports.iter().flatten().any(|p| match port {
        IntOrString::Int(n) => p.container_port == *n,
        IntOrString::String(s) => p.name.as_deref() == Some(s.as_str()),
    })
}

fn env_value<'a>(
    container: &'a Container,
    variable: &str,
) -> Option<&'a k8s_openapi::api::core::v1::EnvVar> {
    container.env.iter().flatten().find(|e| e.name == variable)
}

fn field_ref(container: &Container, variable: &str) -> Option<String> {
    env_value(container, variable)
        .and_then(|e| e.value_from.as_ref())
        .and_then(|v| v.field_ref.as_ref())
        .map(|f| f.field_path.clone())
}

#[test]
fn every_manifest_parses_into_a_known_kubernetes_type_without_unknown_fields() {
    assert!(
        loaded().deployments().len() >= 3,
        "api, worker and controller Deployments"
    );
}

#[test]
fn kustomization_lists_every_manifest_except_the_secret_template() {
    let dir = repo_root().join("k8s");
    let kustomization: serde_yaml::Value =
        serde_yaml::from_str(&read(&dir.join(KUSTOMIZATION))).expect("kustomization.yaml is YAML");
    let listed: BTreeSet<String> = kustomization["resources"]
        .as_sequence()
        .expect("resources is a list")
        .iter()
        .map(|r| r.as_str().expect("a file name").to_owned())
        .collect();
    let present: BTreeSet<String> = yaml_files(&dir)
        .iter()
        .map(|p| file_name(p))
        .filter(|n| n != KUSTOMIZATION && n != SECRET_TEMPLATE)
        .collect();
    assert_eq!(listed, present);
}

#[test]
fn every_object_lives_in_the_namespace_the_manifests_create() {
    let manifests = loaded();
    let namespaces: Vec<_> = manifests
        .0
        .iter()
        .filter_map(|(_, o)| match o {
            Object::Namespace(n) => n.metadata.name.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(namespaces.len(), 1, "one Namespace");
    for (file, object) in &manifests.0 {
        let namespace = match object {
            Object::Namespace(_) => continue,
            Object::ConfigMap(o) => &o.metadata.namespace,
            Object::Secret(o) => &o.metadata.namespace,
            Object::Deployment(o) => &o.metadata.namespace,
            Object::Service(o) => &o.metadata.namespace,
            Object::ServiceAccount(o) => &o.metadata.namespace,
            Object::Role(o) => &o.metadata.namespace,
            Object::RoleBinding(o) => &o.metadata.namespace,
            Object::PodDisruptionBudget(o) => &o.metadata.namespace,
        };
        assert_eq!(
            namespace.as_ref(),
            Some(&namespaces[0]),
            "{file}: {object:?}"
        );
    }
}

#[test]
fn controller_may_only_scale_the_worker_deployment_and_mark_its_pods() {
    let manifests = loaded();
    let worker = name(manifests.deployment_running("coin-worker")).to_owned();
    let controller = manifests.deployment_running("coin-controller");

    let roles = manifests.roles();
    assert_eq!(roles.len(), 1, "one Role, the controller's");
    let rules: Vec<_> = roles[0]
        .rules
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|rule| {
            let mut verbs = rule.verbs.clone();
            verbs.sort();
            (
                rule.api_groups.unwrap_or_default(),
                rule.resources.unwrap_or_default(),
                rule.resource_names.unwrap_or_default(),
                verbs,
            )
        })
        .collect();
    let strings = |s: &[&str]| s.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        rules,
        vec![
            // The scale: read and set the replicas.
            (
                strings(&["apps"]),
                strings(&["deployments/scale"]),
                vec![worker.clone()],
                strings(&["get", "patch"]),
            ),
            // Drain-first scale-down: the Deployment's pod selector...
            (
                strings(&["apps"]),
                strings(&["deployments"]),
                vec![worker.clone()],
                strings(&["get"]),
            ),
            // ...its pods, and their deletion cost.
            (
                strings(&[""]),
                strings(&["pods"]),
                Vec::new(),
                strings(&["list", "patch"]),
            ),
        ]
    );

    let account = pod_spec(controller)
        .service_account_name
        .clone()
        .expect("the controller runs under its own ServiceAccount");
    let bindings = of_kind!(manifests, Object::RoleBinding);
    assert_eq!(bindings.len(), 1, "one RoleBinding");
    assert_eq!(bindings[0].role_ref.kind, "Role");
    assert_eq!(
        Some(&bindings[0].role_ref.name),
        roles[0].metadata.name.as_ref()
    );
    let subjects = bindings[0].subjects.clone().unwrap_or_default();
    assert_eq!(subjects.len(), 1);
    assert_eq!(
        (subjects[0].kind.as_str(), &subjects[0].name),
        ("ServiceAccount", &account)
    );
    assert!(
        manifests.0.iter().any(|(_, o)| matches!(o, Object::ServiceAccount(a) if a.metadata.name.as_ref() == Some(&account))),
        "ServiceAccount {account} is defined"
    );
    for other in manifests.deployments() {
        if name(other) != name(controller) {
            assert_eq!(
                pod_spec(other).service_account_name,
                None,
                "{}",
                name(other)
            );
            assert_eq!(
                pod_spec(other).automount_service_account_token,
                Some(false),
                "{}",
                name(other)
            );
        }
    }
}

#[test]
fn controller_scales_the_worker_deployment_of_its_own_namespace_through_kubernetes() {
    let manifests = loaded();
    let worker = name(manifests.deployment_running("coin-worker"));
    let controller = &containers(manifests.deployment_running("coin-controller"))[0];
    let value = |v: &str| env_value(controller, v).and_then(|e| e.value.clone());
    assert_eq!(value("SCALER").as_deref(), Some("kubernetes"));
    assert_eq!(value("WORKER_DEPLOYMENT").as_deref(), Some(worker));
    assert_eq!(
        field_ref(controller, "WORKER_NAMESPACE").as_deref(),
        Some("metadata.namespace")
    );
}

#[test]
fn every_container_is_probed_for_readiness_and_liveness_and_has_requests_and_limits() {
    for deployment in loaded().deployments() {
        let spec = pod_spec(deployment);
        for container in &spec.containers {
            let who = format!("{}/{}", name(deployment), container.name);
            // Readiness follows the dependencies (/health answers 503 when Postgres or Redis
            // is down); liveness only the process (/livez), so an outage restarts nothing.
            for (kind, probe, path) in [
                ("readiness", &container.readiness_probe, "/health"),
                ("liveness", &container.liveness_probe, "/livez"),
            ] {
                let get = probe
                    .as_ref()
                    .and_then(|p| p.http_get.as_ref())
                    .unwrap_or_else(|| panic!("{who}: no HTTP {kind} probe"));
                assert_eq!(get.path.as_deref(), Some(path), "{who}: {kind} path");
                assert!(
                    declares_port(container, &get.port),
                    "{who}: {kind} probes an undeclared port"
                );
            }
        }
        for container in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            let who = format!("{}/{}", name(deployment), container.name);
            let resources = container
                .resources
                .as_ref()
                .unwrap_or_else(|| panic!("{who}: no resources"));
            for (kind, bounds) in [
                ("requests", &resources.requests),
                ("limits", &resources.limits),
            ] {
                let bounds = bounds
                    .as_ref()
                    .unwrap_or_else(|| panic!("{who}: no {kind}"));
                for resource in ["cpu", "memory"] {
                    assert!(
                        bounds.contains_key(resource),
                        "{who}: no {resource} in {kind}"
                    );
                }
            }
        }
    }
}

#[test]
fn every_container_runs_as_non_root_without_privileges() {
    for deployment in loaded().deployments() {
        let spec = pod_spec(deployment);
        let pod = spec
            .security_context
            .as_ref()
            .expect("a pod security context");
        assert_eq!(pod.run_as_non_root, Some(true), "{}", name(deployment));
        for container in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            let context = container
                .security_context
                .as_ref()
                .expect("a container security context");
            assert_eq!(
                context.allow_privilege_escalation,
                Some(false),
                "{}",
                container.name
            );
            let dropped = context
                .capabilities
                .as_ref()
                .and_then(|c| c.drop.clone())
                .unwrap_or_default();
            assert_eq!(dropped, vec!["ALL".to_owned()], "{}", container.name);
        }
    }
}

#[test]
fn worker_grace_period_outlasts_shutdown_grace_secs() {
    let manifests = loaded();
    let worker = manifests.deployment_running("coin-worker");
    let container = &containers(worker)[0];
    let configured = env_value(container, "SHUTDOWN_GRACE_SECS")
        .and_then(|e| e.value.clone())
        .or_else(|| manifests.config().get("SHUTDOWN_GRACE_SECS").cloned())
        .expect("SHUTDOWN_GRACE_SECS is set in the ConfigMap");
    let shutdown_grace: i64 = configured.parse().expect("SHUTDOWN_GRACE_SECS is a number");
    let termination_grace = pod_spec(worker)
        .termination_grace_period_seconds
        .expect("the worker sets terminationGracePeriodSeconds");
    assert!(
        termination_grace > shutdown_grace,
        "terminationGracePeriodSeconds {termination_grace} <= SHUTDOWN_GRACE_SECS {shutdown_grace}"
    );
}

#[test]
fn worker_deployment_leaves_replicas_to_the_controller() {
    let worker = loaded().deployment_running("coin-worker");
    assert_eq!(worker.spec.replicas, None);
}

#[test]
fn worker_id_prefix_is_the_pod_name() {
    let worker = &containers(loaded().deployment_running("coin-worker"))[0];
    assert_eq!(
        field_ref(worker, "WORKER_ID_PREFIX").as_deref(),
        Some("metadata.name")
    );
}

#[test]
fn pod_disruption_budget_selects_exactly_the_worker_pods() {
    let manifests = loaded();
    let budgets = of_kind!(manifests, Object::PodDisruptionBudget);
    assert_eq!(budgets.len(), 1, "one PodDisruptionBudget");
    let selector = budgets[0]
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .and_then(|s| s.match_labels.clone())
        .unwrap_or_default();
    let worker = name(manifests.deployment_running("coin-worker"));
    let selected: Vec<&str> = manifests
        .deployments()
        .into_iter()
        .filter(|d| selects(&selector, &pod_labels(d)))
        .map(name)
        .collect();
    assert_eq!(selected, vec![worker]);
}

#[test]
fn every_service_selects_the_pods_of_one_deployment_on_a_declared_port() {
    let manifests = loaded();
    let services = of_kind!(manifests, Object::Service);
    assert!(!services.is_empty(), "at least the API has a Service");
    for service in services {
        let who = service.metadata.name.clone().unwrap_or_default();
        let spec = service.spec.as_ref().expect("a service spec");
        let selector = spec.selector.clone().unwrap_or_default();
        let targets: Vec<_> = manifests
            .deployments()
            .into_iter()
            .filter(|d| selects(&selector, &pod_labels(d)))
            .collect();
        assert_eq!(
            targets.len(),
            1,
            "Service {who} selects the pods of one Deployment"
        );
        for port in spec.ports.iter().flatten() {
            let target = port
                .target_port
                .clone()
                .unwrap_or(IntOrString::Int(port.port));
            assert!(
                containers(targets[0])
                    .iter()
                    .any(|c| declares_port(c, &target)),
                "Service {who} targets {target:?}, which no container declares"
            );
        }
    }
}

#[test]
fn every_pod_is_annotated_for_prometheus_on_a_declared_port() {
    for deployment in loaded().deployments() {
        let annotations = pod_annotations(deployment);
        let who = name(deployment);
        assert_eq!(
            annotations.get("prometheus.io/scrape").map(String::as_str),
            Some("true"),
            "{who}"
        );
        assert_eq!(
            annotations.get("prometheus.io/path").map(String::as_str),
            Some("/metrics"),
            "{who}"
        );
        let port: i32 = annotations
            .get("prometheus.io/port")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{who}: prometheus.io/port is not a port number"));
        assert!(
            containers(deployment)
                .iter()
                .any(|c| declares_port(c, &IntOrString::Int(port))),
            "{who}: scrape port {port} is not declared"
        );
    }
}

#[test]
fn every_pod_migrates_before_its_main_container_when_binaries_do_not() {
    let manifests = loaded();
    if manifests.config().get("RUN_MIGRATIONS").map(String::as_str) != Some("false") {
        return; // every binary migrates at start
    }
    for deployment in manifests.deployments() {
        let migrates = pod_spec(deployment)
            .init_containers
            .iter()
            .flatten()
            .any(|c| {
                c.command.as_deref() == Some(&["coin-api".to_owned(), "migrate".to_owned()][..])
            });
        assert!(
            migrates,
            "{} has no `coin-api migrate` init container",
            name(deployment)
        );
    }
}

#[test]
fn secret_template_holds_placeholders_for_every_key_the_pods_require() {
    let manifests = loaded();
    let secrets: Vec<(&String, &Secret)> = manifests
        .0
        .iter()
        .filter_map(|(f, o)| match o {
            Object::Secret(s) => Some((f, s)),
            _ => None,
        })
        .collect();
    assert_eq!(secrets.len(), 1, "one Secret template");
    let (file, secret) = secrets[0];
    assert_eq!(file, SECRET_TEMPLATE);
    assert!(secret.data.is_none(), "the template uses stringData");
    let values = secret.string_data.clone().unwrap_or_default();
    for (key, value) in &values {
        assert!(
            value.contains("REPLACE_ME") || value.contains(".invalid"),
            "{key} in the template looks like a real value"
        );
    }
    for deployment in manifests.deployments() {
        let spec = pod_spec(deployment);
        for container in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            for variable in container.env.iter().flatten() {
                let Some(reference) = variable
                    .value_from
                    .as_ref()
                    .and_then(|v| v.secret_key_ref.as_ref())
                else {
                    continue;
                };
                assert_eq!(
                    Some(&reference.name),
                    secret.metadata.name.as_ref(),
                    "{}",
                    container.name
                );
                if reference.optional != Some(true) {
                    assert!(
                        values.contains_key(&reference.key),
                        "template lacks {}",
                        reference.key
                    );
                }
            }
        }
    }
}

fn is_exported(series: &str) -> bool {
    EXPORTED_METRICS.contains(&series)
        || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
            series
                .strip_suffix(suffix)
                .is_some_and(|base| HISTOGRAMS.contains(&base))
        })
}

#[test]
fn metric_scanner_finds_names_and_histogram_series() {
    let names = metric_names(
        r#"rate(coin_job_duration_seconds_bucket[5m]) / x_coin_y, "coin-worker", coin_queue_dead_jobs{queue="a"}"#,
    );
    assert_eq!(
        names,
        BTreeSet::from([
            "coin_job_duration_seconds_bucket".to_owned(),
            "coin_queue_dead_jobs".to_owned()
        ])
    );
    assert!(is_exported("coin_job_duration_seconds_bucket"));
    assert!(!is_exported("coin_jobs_enqueued_total_bucket"));
    assert!(!is_exported("coin_controller_failures_total"));
}

#[test]
fn dashboards_and_alert_rules_use_only_exported_metrics() {
    let files = config_files(&repo_root().join("deploy"));
    let mut used = BTreeSet::new();
    for file in &files {
        let text = read(file);
        if file.extension().is_some_and(|e| e == "json") {
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()));
        }
        for metric in metric_names(&text) {
            assert!(
                is_exported(&metric),
                "{} uses {metric}, which no binary exports",
                file.display()
            );
            used.insert(metric);
        }
    }
    for needed in [
        "coin_queue_backlog_jobs",
        "coin_worker_replicas",
        "coin_controller_decisions_total",
        "coin_http_requests_total",
    ] {
        assert!(used.contains(needed), "nothing under deploy/ uses {needed}");
    }
}

#[test]
fn every_alert_rule_has_a_severity_summary_and_description() {
    let path = repo_root().join("deploy/prometheus/alerts.yml");
    let rules: serde_yaml::Value = serde_yaml::from_str(&read(&path)).expect("alerts.yml is YAML");
    let mut alerts = 0;
    for group in rules["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let Some(alert) = rule["alert"].as_str() else {
                continue;
            };
            alerts += 1;
            assert!(
                rule["labels"]["severity"].as_str().is_some(),
                "{alert}: no severity"
            );
            for key in ["summary", "description"] {
                assert!(
                    rule["annotations"][key]
                        .as_str()
                        .is_some_and(|s| !s.trim().is_empty()),
                    "{alert}: no {key}"
                );
            }
        }
    }
    assert!(
        alerts >= 5,
        "backlog, dead jobs, 5xx, controller and max-replica alerts"
    );
}

#[test]
fn compose_workers_get_longer_to_stop_than_their_shutdown_grace() {
    let compose: serde_yaml::Value =
        serde_yaml::from_str(&read(&repo_root().join("docker-compose.yml"))).expect("compose YAML");
    let worker = &compose["services"]["coin-worker"];
    let shutdown_grace: u64 = worker["environment"]["SHUTDOWN_GRACE_SECS"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("SHUTDOWN_GRACE_SECS on coin-worker");
    let stop_grace: u64 = worker["stop_grace_period"]
        .as_str()
        .and_then(|s| s.strip_suffix('s'))
        .and_then(|s| s.parse().ok())
        .expect("stop_grace_period in seconds, e.g. 35s");
    assert!(stop_grace > shutdown_grace);
    assert_eq!(worker["deploy"]["replicas"].as_u64(), Some(2));
    assert_eq!(
        compose["services"]["coin-controller"]["environment"]["SCALER"].as_str(),
        Some("none"),
        "compose cannot scale itself"
    );
}
