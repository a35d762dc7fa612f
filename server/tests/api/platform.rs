//! Health, readiness, metrics and the OpenAPI document.

use crate::helpers::{Backend, spawn_app, spawn_app_with_redis};

async fn health_readiness_and_metrics(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (status, health) = app.get_json("/healthz").await?;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let (status, ready) = app.get_json("/readyz").await?;
    assert_eq!(status, 200);
    assert_eq!(ready["checks"]["database"], "ok");

    app.get("/api/v1/products?limit=1").await?;
    let metrics = app.get("/metrics").await?.text().await?;
    assert!(
        metrics.contains(r#"sellout_http_requests_total{route="/api/v1/products",method="GET",status="200"}"#),
        "{metrics}"
    );
    assert!(metrics.contains("sellout_http_request_duration_seconds_bucket"));
    Ok(())
}

async fn openapi_document_describes_the_api(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (status, doc) = app.get_json("/api/v1/openapi.json").await?;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/api/v1/products", "/api/v1/products/{id}", "/healthz", "/readyz"] {
        assert!(doc["paths"][path].is_object(), "OpenAPI lacks {path}");
    }
    assert!(doc["components"]["schemas"]["ProductList"].is_object());
    let (status, body) = app.get_json("/api/v1/nope").await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    Ok(())
}

async fn readiness_checks_redis_when_configured(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app_with_redis(backend).await?;
    let (status, ready) = app.get_json("/readyz").await?;
    assert_eq!(status, 200);
    assert_eq!(ready["checks"]["redis"], "ok");
    assert_eq!(ready["checks"]["database"], "ok");
    Ok(())
}

crate::on_both_databases!(
    health_readiness_and_metrics,
    openapi_document_describes_the_api,
    readiness_checks_redis_when_configured,
);
