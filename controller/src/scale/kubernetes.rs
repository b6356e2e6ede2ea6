//! `SCALER=kubernetes`: reads and patches the `scale` subresource of the worker Deployment. The
//! RBAC it needs is get/patch on `deployments/scale` only.

use std::sync::atomic::{AtomicBool, Ordering};

use k8s_openapi::api::apps::v1::Deployment;
use kube::{
    Api, Client,
    api::{Patch, PatchParams},
};

use super::error::ScaleError;

/// Field manager named in every patch, so `kubectl` shows who set the replicas.
const FIELD_MANAGER: &str = "coin-controller";

/// Scales one Deployment.
pub struct KubernetesScaler {
    api: Api<Deployment>,
    deployment: String,
    connected: AtomicBool,
}

impl KubernetesScaler {
    /// A scaler on `client` (tests pass a mock).
    pub fn new(client: Client, namespace: &str, deployment: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            deployment: deployment.to_owned(),
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

    /// Sets `spec.replicas` with a merge patch of the scale subresource.
    pub async fn scale_to(&self, replicas: u32) -> Result<String, ScaleError> {
        let patch = serde_json::json!({ "spec": { "replicas": replicas } });
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        let scale = self
            .api
            .patch_scale(&self.deployment, &params, &Patch::Merge(&patch))
            .await;
        let scale = self.track(scale)?;
        let now = scale.spec.and_then(|s| s.replicas).unwrap_or(0);
        Ok(format!(
            "Patched deployments/{}/scale to {now} replicas",
            self.deployment
        ))
    }

    fn track<T>(&self, result: Result<T, kube::Error>) -> Result<T, ScaleError> {
        // An API error answer (403, 404) still proves the server is reachable.
        let reachable = matches!(result, Ok(_) | Err(kube::Error::Api(_)));
        self.connected.store(reachable, Ordering::Relaxed);
        Ok(result?)
    }
}

#[cfg(test)]
mod tests {
    //! A mock API server (`tower_test::mock::pair`) asserts each request's method, path and body.

    use std::pin::pin;

    use http::{Request, Response, StatusCode};
    use kube::client::Body;
    use serde_json::{Value, json};
    use tower_test::mock;

    use crate::scale::{error::ScaleError, kubernetes::*};

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
    async fn scale_to_sends_a_merge_patch_of_spec_replicas() {
        let (scaler, server) = scaler_answering(|request, send| async move {
            assert_eq!(request.method(), http::Method::PATCH);
            assert_eq!(request.uri().path(), PATH);
            assert!(
                request
                    .uri()
                    .query()
                    .is_some_and(|q| q.contains("fieldManager=coin-controller")),
                "{:?}",
                request.uri()
            );
            assert_eq!(
                request
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .map(|v| v.as_bytes()),
                Some(&b"application/merge-patch+json"[..])
            );
            let body = request.into_body().collect_bytes().await.expect("body");
            let body: Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(body, json!({"spec": {"replicas": 5}}));
            send.send_response(scale(5));
        });
        let done = scaler.scale_to(5).await.expect("patched");
        assert!(done.contains("to 5 replicas"), "{done}");
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
}
