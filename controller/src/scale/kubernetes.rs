//! `SCALER=kubernetes`: reads and patches the `scale` subresource of the worker Deployment.
//!
//! Drain-first scale-down: before lowering the replicas, it reads the Deployment's
//! `spec.selector.matchLabels`, lists its pods, and marks the ones with the fewest jobs in flight
//! in the worker registry (a worker's host is its pod's name; a pod without an entry is idle)
//! with a low `controller.kubernetes.io/pod-deletion-cost`, which the ReplicaSet controller
//! deletes first. A mark that could not be set (or a registry that did not answer) is logged and
//! said in the returned sentence; it never stops the scale-down. The RBAC it needs: get and patch
//! on `deployments/scale`, get on the Deployment, list and patch on pods.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures::{StreamExt, stream};
use k8s_openapi::api::{apps::v1::Deployment, core::v1::Pod};
use kube::{
    Api, Client,
    api::{ListParams, Patch, PatchParams},
};

use super::{
    error::ScaleError,
    registry::{self, WorkerRegistry},
    victims,
};

/// Field manager named in every patch, so `kubectl` shows who set the replicas.
const FIELD_MANAGER: &str = "coin-controller";
/// The annotation the ReplicaSet controller ranks pods by when it deletes some: the lower
/// first; an int32, 0 when absent.
pub const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";
/// The cost of a pod chosen to go, plus its jobs in flight: below every unmarked pod's 0, and the
/// idlest of the chosen lowest. A mark in `[CHOSEN_COST, 0)` on a pod that is not chosen any more
/// (a scale-down that did not happen) is removed.
pub const CHOSEN_COST: i32 = -1_000_000;
/// How long the marking may take; then the scale is patched anyway.
const MARK_BUDGET: Duration = Duration::from_millis(1_500);
/// Pod patches in flight at once.
const MARK_CONCURRENCY: usize = 16;

/// Scales one Deployment.
pub struct KubernetesScaler {
    api: Api<Deployment>,
    namespace: String,
    deployment: String,
    registry: Option<Arc<dyn WorkerRegistry>>,
    connected: AtomicBool,
}

impl KubernetesScaler {
    /// A scaler on `client` (tests pass a mock).
    pub fn new(client: Client, namespace: &str, deployment: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
            deployment: deployment.to_owned(),
            registry: None,
            connected: AtomicBool::new(false),
        }
    }

    /// A scaler with the in-cluster configuration, or the kubeconfig outside a cluster.
    pub async fn from_environment(namespace: &str, deployment: &str) -> Result<Self, ScaleError> {
        let client = Client::try_default()
            .await
            .map_err(ScaleError::KubernetesConfig)?;
        Ok(Self::new(client, namespace, deployment))
    }

    /// Reads `registry` before each scale-down to mark the idlest pods (without one, every pod
    /// counts as idle and ties go by name).
    pub fn with_registry(mut self, registry: Arc<dyn WorkerRegistry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Whether the API server answered the last call.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// `spec.replicas` of the Deployment's scale.
    pub async fn current(&self) -> Result<u32, ScaleError> {
        let scale = self.api.get_scale(&self.deployment).await;
        let scale = self.track(scale)?;
        let replicas = scale.spec.and_then(|s| s.replicas).unwrap_or(0);
        Ok(u32::try_from(replicas).unwrap_or(0))
    }

    /// Sets `spec.replicas` with a merge patch of the scale subresource; below the Deployment's
    /// replicas, marks the idlest pods first. The sentence says what was marked, or why not.
    pub async fn scale_to(&self, replicas: u32) -> Result<String, ScaleError> {
        let marked = match tokio::time::timeout(MARK_BUDGET, self.mark_idlest(replicas)).await {
            Ok(Ok(marked)) => marked,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "scaling down without marking the idlest pods");
                format!("; could not mark the idlest pods first: {e}")
            }
            Err(_) => {
                tracing::warn!("marking the idlest pods timed out; scaling down anyway");
                format!("; marking the idlest pods first timed out after {MARK_BUDGET:?}")
            }
        };
        let patch = serde_json::json!({ "spec": { "replicas": replicas } });
        let scale = self
            .api
            .patch_scale(&self.deployment, &params(), &Patch::Merge(&patch))
            .await;
        let scale = self.track(scale)?;
        let now = scale.spec.and_then(|s| s.replicas).unwrap_or(0);
        Ok(format!(
            "Patched deployments/{}/scale to {now} replicas{marked}",
            self.deployment
        ))
    }

    /// When `replicas` is below the Deployment's, gives the pods that should go a deletion cost
    /// below the others' and takes stale marks off the others; returns what it did as the tail
    /// of a sentence (empty for a scale-up). Pod patches that fail are said, not returned.
    async fn mark_idlest(&self, replicas: u32) -> Result<String, ScaleError> {
        let spec = self.api.get(&self.deployment).await?.spec;
        if i64::from(replicas) >= i64::from(spec.replicas.unwrap_or(1)) {
            return Ok(String::new());
        }
        let selector = spec
            .selector
            .match_labels
            .unwrap_or_default()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        if selector.is_empty() {
            return Err(ScaleError::NoPodSelector(self.deployment.clone()));
        }
        let api: Api<Pod> = Api::namespaced(self.api.clone().into_client(), &self.namespace);
        let mut pods: Vec<Pod> = api
            .list(&ListParams::default().labels(&selector))
            .await?
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let mut said = String::new();
        let loads = registry::read(self.registry.as_deref())
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "marking pods without their jobs in flight");
                said.push_str(&format!("; every pod counted idle ({e})"));
                Vec::new()
            });
        let name = |pod: &Pod| pod.metadata.name.clone().unwrap_or_default();
        let inflight: Vec<u64> = pods
            .iter()
            .map(|pod| registry::inflight(&loads, |l| Some(&l.host) == pod.metadata.name.as_ref()))
            .collect();
        let remove = pods.len().saturating_sub(replicas as usize);
        let chosen = victims::idlest(&inflight, remove);
        let marks: Vec<(String, Option<i32>)> = pods
            .iter()
            .enumerate()
            .filter_map(|(i, pod)| {
                if chosen.contains(&i) {
                    let held = i32::try_from(inflight[i]).unwrap_or(i32::MAX);
                    Some((name(pod), Some(CHOSEN_COST.saturating_add(held).min(-1))))
                } else {
                    stale_mark(pod).then(|| (name(pod), None))
                }
            })
            .collect();
        let failed: Vec<String> = stream::iter(marks)
            .map(|(pod, cost)| mark(&api, pod, cost))
            .buffer_unordered(MARK_CONCURRENCY)
            .filter_map(std::future::ready)
            .collect()
            .await;
        let going: Vec<String> = chosen
            .iter()
            .map(|&i| format!("{} ({} in flight)", name(&pods[i]), inflight[i]))
            .collect();
        said.push_str(&format!("; marked to go first: {}", going.join(", ")));
        if !failed.is_empty() {
            said.push_str(&format!("; could not mark {}", failed.join("; ")));
        }
        Ok(said)
    }

    fn track<T>(&self, result: Result<T, kube::Error>) -> Result<T, ScaleError> {
        // An API error answer (403, 404) still proves the server is reachable.
        let reachable = matches!(result, Ok(_) | Err(kube::Error::Api(_)));
        self.connected.store(reachable, Ordering::Relaxed);
        Ok(result?)
    }
}

/// The parameters of every patch.
fn params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    }
}

/// Sets the deletion cost of `pod` to `cost` (`None` takes it off) with a merge patch; says why
/// not when it failed.
async fn mark(api: &Api<Pod>, pod: String, cost: Option<i32>) -> Option<String> {
    let patch = serde_json::json!({
        "metadata": { "annotations": { DELETION_COST: cost.map(|c| c.to_string()) } }
    });
    let patched = api.patch(&pod, &params(), &Patch::Merge(&patch)).await;
    patched.err().map(|e| {
        tracing::warn!(pod = %pod, error = %e, "could not set a pod's deletion cost");
        format!("{pod}: {e}")
    })
}

/// Whether `pod` carries a mark of ours (a deletion cost in `[CHOSEN_COST, 0)`).
fn stale_mark(pod: &Pod) -> bool {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DELETION_COST))
        .and_then(|cost| cost.parse::<i32>().ok())
        .is_some_and(|cost| (CHOSEN_COST..0).contains(&cost))
}

#[cfg(test)]
mod tests {
    //! A mock API server (`tower_test::mock::pair`) asserts each request's method, path and body,
    //! and, for a scale-down, their order: the Deployment, its pods, the marks, then the scale.

    use std::{collections::BTreeSet, pin::pin};

    use http::{Method, Request, Response, StatusCode};
    use kube::client::Body;
    use serde_json::{Value, json};
    use tower_test::mock;

    use crate::scale::{error::ScaleError, kubernetes::*, registry::WorkerLoad};

    fn scale(replicas: i32) -> Response<Body> {
        let body = json!({
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {"name": "coin-worker", "namespace": "coin"},
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas}
        });
        Response::builder()
            .body(Body::from(body.to_string().into_bytes()))
            .expect("response")
    }

    /// A scaler of `coin/coin-worker` whose API server answers its one request with `respond`,
    /// on a task the test awaits at its end.
    fn scaler_answering<F, Fut>(respond: F) -> (KubernetesScaler, tokio::task::JoinHandle<()>)
    where
        F: FnOnce(Request<Body>, mock::SendResponse<Response<Body>>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
        let client = Client::new(service, "default");
        let server = tokio::spawn(async move {
            let mut handle = pin!(handle);
            let (request, send) = handle.next_request().await.expect("a request");
            respond(request, send).await;
        });
        (KubernetesScaler::new(client, "coin", "coin-worker"), server)
    }

    const PATH: &str = "/apis/apps/v1/namespaces/coin/deployments/coin-worker/scale";

    #[tokio::test]
    async fn current_reads_spec_replicas_of_the_scale_subresource() {
        let (scaler, server) = scaler_answering(|request, send| async move {
            assert_eq!(request.method(), http::Method::GET);
            assert_eq!(request.uri().path(), PATH);
            send.send_response(scale(3));
        });
        assert_eq!(scaler.current().await.expect("replicas"), 3);
        assert!(scaler.connected());
        server.await.expect("mock server");
    }

    #[tokio::test]
    async fn a_forbidden_answer_is_an_error_but_the_server_counts_as_reachable() {
        let (scaler, server) = scaler_answering(|_, send| async move {
            let status = json!({
                "kind": "Status", "apiVersion": "v1", "status": "Failure",
                "message": "deployments.apps \"coin-worker\" is forbidden", "reason": "Forbidden",
                "code": 403
            });
            send.send_response(
                Response::builder()
                    .status(StatusCode::FORBIDDEN)
                    .body(Body::from(status.to_string().into_bytes()))
                    .expect("response"),
            );
        });
        let error = scaler.current().await.expect_err("forbidden");
        assert!(
            matches!(error, ScaleError::Kubernetes(kube::Error::Api(_))),
            "{error}"
        );
        assert!(scaler.connected());
        server.await.expect("mock server");
    }

    #[tokio::test]
    async fn an_unreachable_api_server_is_an_error_and_marks_it_disconnected() {
        let (scaler, server) = scaler_answering(|_, send| async move {
            send.send_error(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "connection refused",
            ));
        });
        assert!(scaler.current().await.is_err());
        assert!(!scaler.connected());
        server.await.expect("mock server");
    }

    const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/coin/deployments/coin-worker";
    const PODS: &str = "/api/v1/namespaces/coin/pods";

    /// One request as the mock server saw it.
    #[derive(Debug)]
    struct Seen {
        method: Method,
        path: String,
        query: Vec<(String, String)>,
        content_type: Option<String>,
        body: Option<Value>,
    }

    fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
        Response::builder()
            .status(status)
            .body(Body::from(body.to_string().into_bytes()))
            .expect("response")
    }

    fn pod(name: &str, annotations: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": "coin", "annotations": annotations}})
    }

    fn unmarked(names: &[&str]) -> Vec<Value> {
        names.iter().map(|name| pod(name, json!({}))).collect()
    }

    fn forbidden() -> Value {
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
               "message": "forbidden", "reason": "Forbidden", "code": 403})
    }

    /// The API server of a `coin/coin-worker` Deployment at `replicas` whose pods are `pods`;
    /// the pods named in `refuse` answer their patch with 403, and so does the Deployment when
    /// `refuse` holds `"deployment"`. The scaler reads `loads`. The task returns every request
    /// once the scaler is dropped.
    fn cluster(
        replicas: i32,
        pods: Vec<Value>,
        refuse: &'static [&'static str],
        loads: Vec<WorkerLoad>,
    ) -> (KubernetesScaler, tokio::task::JoinHandle<Vec<Seen>>) {
        cluster_of("coin-worker", replicas, pods, refuse, loads)
    }

    /// [`cluster`] of the Deployment `coin/<deployment>` (it answers as `coin/coin-worker`
    /// would; the requests are seen with their real paths).
    fn cluster_of(
        deployment: &str,
        replicas: i32,
        pods: Vec<Value>,
        refuse: &'static [&'static str],
        loads: Vec<WorkerLoad>,
    ) -> (KubernetesScaler, tokio::task::JoinHandle<Vec<Seen>>) {
        let named = format!("/deployments/{deployment}");
        let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
        let client = Client::new(service, "default");
        let server = tokio::spawn(async move {
            let mut handle = pin!(handle);
            let mut seen = Vec::new();
            while let Some((request, send)) = handle.next_request().await {
                let (parts, body) = request.into_parts();
                let body = body.collect_bytes().await.expect("body");
                let body: Option<Value> = serde_json::from_slice(&body).ok();
                let path = parts.uri.path().to_owned();
                let answered = path.replace(&named, "/deployments/coin-worker");
                let answer = match (&parts.method, answered.as_str()) {
                    (&Method::GET, DEPLOYMENT) if refuse.contains(&"deployment") => {
                        json_response(StatusCode::FORBIDDEN, &forbidden())
                    }
                    (&Method::GET, DEPLOYMENT) => json_response(
                        StatusCode::OK,
                        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
                                "metadata": {"name": "coin-worker", "namespace": "coin"},
                                "spec": {"replicas": replicas,
                                         "selector": {"matchLabels": {
                                             "app.kubernetes.io/name": "coin-worker"}},
                                         "template": {}}}),
                    ),
                    (&Method::GET, PODS) => json_response(
                        StatusCode::OK,
                        &json!({"apiVersion": "v1", "kind": "PodList", "metadata": {},
                                "items": pods}),
                    ),
                    (&Method::PATCH, PATH) => {
                        let to = body
                            .as_ref()
                            .map_or(json!(0), |b| b["spec"]["replicas"].clone());
                        scale(i32::try_from(to.as_i64().unwrap_or(0)).unwrap_or(0))
                    }
                    (&Method::PATCH, p) => {
                        let name = p.rsplit('/').next().unwrap_or_default().to_owned();
                        if refuse.contains(&name.as_str()) {
                            json_response(StatusCode::FORBIDDEN, &forbidden())
                        } else {
                            json_response(StatusCode::OK, &pod(&name, json!({})))
                        }
                    }
                    other => panic!("unexpected request {other:?}"),
                };
                seen.push(Seen {
                    method: parts.method.clone(),
                    path,
                    query: serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
                        .expect("query"),
                    content_type: parts
                        .headers
                        .get(http::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                    body,
                });
                send.send_response(answer);
            }
            seen
        });
        let scaler =
            KubernetesScaler::new(client, "coin", deployment).with_registry(Arc::new(loads));
        (scaler, server)
    }

    fn load(host: &str, inflight: u64) -> WorkerLoad {
        WorkerLoad {
            host: host.to_owned(),
            pid: 1,
            inflight,
        }
    }

    fn query(seen: &Seen, key: &str) -> Option<String> {
        seen.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    fn cost_patch(cost: Option<&str>) -> Value {
        json!({"metadata": {"annotations": {DELETION_COST: cost}}})
    }

    /// `(pod, body)` of the pod patches in `seen[range]`, which may arrive in any order.
    fn pod_patches(seen: &[Seen]) -> BTreeSet<(String, String)> {
        seen.iter()
            .map(|s| {
                assert_eq!(s.method, Method::PATCH);
                assert_eq!(
                    s.content_type.as_deref(),
                    Some("application/merge-patch+json")
                );
                assert_eq!(query(s, "fieldManager").as_deref(), Some("coin-controller"));
                let name = s
                    .path
                    .strip_prefix(&format!("{PODS}/"))
                    .expect("a pod path");
                (
                    name.to_owned(),
                    s.body.clone().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// The pod patches `marks` (pod, cost; `None` takes the mark off) as [`pod_patches`] lists them.
    fn marked(marks: &[(&str, Option<&str>)]) -> BTreeSet<(String, String)> {
        marks
            .iter()
            .map(|(pod, cost)| ((*pod).to_owned(), cost_patch(*cost).to_string()))
            .collect()
    }

    /// Every request the scaler sent, once it is dropped; there were `count`.
    async fn sent(
        scaler: KubernetesScaler,
        server: tokio::task::JoinHandle<Vec<Seen>>,
        count: usize,
    ) -> Vec<Seen> {
        drop(scaler);
        let seen = server.await.expect("mock server");
        assert_eq!(seen.len(), count, "{seen:?}");
        seen
    }

    fn assert_scale_patch(seen: &Seen, replicas: u32) {
        assert_eq!((&seen.method, seen.path.as_str()), (&Method::PATCH, PATH));
        assert_eq!(
            seen.content_type.as_deref(),
            Some("application/merge-patch+json")
        );
        assert_eq!(
            query(seen, "fieldManager").as_deref(),
            Some("coin-controller")
        );
        assert_eq!(seen.body, Some(json!({"spec": {"replicas": replicas}})));
    }

    #[tokio::test]
    async fn a_scale_up_reads_the_deployment_then_patches_only_the_scale() {
        let (scaler, server) = cluster(2, vec![], &[], vec![]);
        let done = scaler.scale_to(5).await.expect("patched");
        assert!(done.ends_with("to 5 replicas"), "{done}");
        let seen = sent(scaler, server, 2).await;
        assert_eq!(
            (&seen[0].method, seen[0].path.as_str()),
            (&Method::GET, DEPLOYMENT)
        );
        assert_scale_patch(&seen[1], 5);
    }

    #[tokio::test]
    async fn a_scale_down_marks_the_idlest_pods_before_it_patches_the_scale() {
        // coin-worker-c has no registry entry: idle.
        let mut pods = unmarked(&["coin-worker-a", "coin-worker-b", "coin-worker-c"]);
        // Already terminating: not one to choose.
        pods.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {
                "name": "coin-worker-d", "deletionTimestamp": "2025-01-01T00:00:00Z"}}));
        let loads = vec![load("coin-worker-a", 5), load("coin-worker-b", 1)];
        let (scaler, server) = cluster(3, pods, &[], loads);
        let done = scaler.scale_to(1).await.expect("patched");
        assert!(
            done.contains(
                "marked to go first: coin-worker-c (0 in flight), coin-worker-b (1 in flight)"
            ),
            "{done}"
        );
        let seen = sent(scaler, server, 5).await;
        assert_eq!(
            (&seen[0].method, seen[0].path.as_str()),
            (&Method::GET, DEPLOYMENT)
        );
        assert_eq!(
            (&seen[1].method, seen[1].path.as_str()),
            (&Method::GET, PODS)
        );
        assert_eq!(
            query(&seen[1], "labelSelector").as_deref(),
            Some("app.kubernetes.io/name=coin-worker")
        );
        assert_eq!(
            pod_patches(&seen[2..4]),
            marked(&[
                ("coin-worker-b", Some("-999999")),
                ("coin-worker-c", Some("-1000000")),
            ])
        );
        assert_scale_patch(&seen[4], 1);
    }

    #[tokio::test]
    async fn a_stale_mark_on_a_pod_that_stays_is_taken_off() {
        let pods = vec![
            pod("coin-worker-a", json!({DELETION_COST: "-1000000"})),
            pod("coin-worker-b", json!({})),
            // Someone else's cost is left alone.
            pod("coin-worker-c", json!({DELETION_COST: "100"})),
        ];
        let loads = vec![load("coin-worker-a", 4), load("coin-worker-c", 9)];
        let (scaler, server) = cluster(3, pods, &[], loads);
        scaler.scale_to(2).await.expect("patched");
        let seen = sent(scaler, server, 5).await;
        assert_eq!(
            pod_patches(&seen[2..4]),
            marked(&[("coin-worker-a", None), ("coin-worker-b", Some("-1000000"))])
        );
        assert_scale_patch(&seen[4], 2);
    }

    #[tokio::test]
    async fn a_refused_mark_is_said_but_the_scale_down_goes_on() {
        let pods = unmarked(&["coin-worker-a", "coin-worker-b"]);
        let (scaler, server) = cluster(2, pods, &["coin-worker-a"], vec![load("coin-worker-b", 3)]);
        let done = scaler.scale_to(1).await.expect("patched all the same");
        assert!(done.contains("to 1 replicas"), "{done}");
        assert!(done.contains("could not mark coin-worker-a"), "{done}");
        let seen = sent(scaler, server, 4).await;
        assert_scale_patch(&seen[3], 1);
    }

    #[tokio::test]
    async fn without_rights_on_the_deployment_it_scales_down_unmarked() {
        let (scaler, server) = cluster(3, vec![], &["deployment"], vec![]);
        let done = scaler.scale_to(1).await.expect("patched all the same");
        assert!(
            done.contains("could not mark the idlest pods first"),
            "{done}"
        );
        let seen = sent(scaler, server, 2).await;
        assert_scale_patch(&seen[1], 1);
    }

    #[tokio::test]
    async fn a_named_pool_scales_the_deployment_named_after_it() {
        let pools: crate::pools::WorkerPools = "goodwill=goodwill@0-20;default=*@1-4"
            .parse()
            .expect("valid pools");
        for (pool, deployment) in pools
            .specs()
            .iter()
            .zip(["coin-worker-goodwill", "coin-worker"])
        {
            let name = pool.deployment("coin-worker");
            let (scaler, server) = cluster_of(&name, 2, vec![], &[], vec![]);
            let done = scaler.scale_to(5).await.expect("patched");
            let at = format!("/apis/apps/v1/namespaces/coin/deployments/{deployment}");
            assert!(
                done.contains(&format!("deployments/{deployment}/scale")),
                "{done}"
            );
            let seen = sent(scaler, server, 2).await;
            let paths: Vec<(&Method, &str)> =
                seen.iter().map(|s| (&s.method, s.path.as_str())).collect();
            let scale = format!("{at}/scale");
            assert_eq!(
                paths,
                [
                    (&Method::GET, at.as_str()),
                    (&Method::PATCH, scale.as_str())
                ],
                "pool {}",
                pool.name
            );
        }
    }
}
