#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The metrics families as a scraper sees them.

use std::time::Duration;

use sipcred_operator::metrics::{DURATION_BUCKETS, Metrics};

fn recorded() -> String {
    let m = Metrics::new();
    m.reconcile("TelephonyCredential", "success", Duration::from_millis(30));
    m.reconcile(
        "TelephonyCredential",
        "ProviderUnavailable",
        Duration::from_secs(2),
    );
    m.provider_request(
        "telnyx",
        "create_credential",
        Some(201),
        Duration::from_millis(120),
    );
    m.provider_request("vobiz", "get_trunk", None, Duration::from_secs(10));
    m.rate_limit_wait("telnyx", Duration::from_millis(1500));
    m.rate_limit_wait("telnyx", Duration::from_millis(500));
    m.set_managed("SipConnection", "True", 3);
    m.set_managed("SipConnection", "False", 1);
    m.set_leader(true);
    m.encode()
}

#[test]
fn every_family_is_exposed_with_its_labels() {
    let text = recorded();
    let expected = [
        r#"sipcred_reconcile_total{kind="TelephonyCredential",result="success"} 1"#,
        r#"sipcred_reconcile_total{kind="TelephonyCredential",result="ProviderUnavailable"} 1"#,
        r#"sipcred_reconcile_duration_seconds_count{kind="TelephonyCredential"} 2"#,
        r#"sipcred_provider_requests_total{provider="telnyx",operation="create_credential",code="201"} 1"#,
        r#"sipcred_provider_requests_total{provider="vobiz",operation="get_trunk",code="error"} 1"#,
        r#"sipcred_provider_request_duration_seconds_count{provider="telnyx",operation="create_credential"} 1"#,
        r#"sipcred_provider_rate_limit_wait_seconds_total{provider="telnyx"} 2"#,
        r#"sipcred_provider_rate_limit_waits_total{provider="telnyx"} 2"#,
        r#"sipcred_managed_resources{kind="SipConnection",ready="True"} 3"#,
        r#"sipcred_managed_resources{kind="SipConnection",ready="False"} 1"#,
        "sipcred_leader 1",
        "# TYPE sipcred_reconcile counter",
        "# TYPE sipcred_reconcile_duration_seconds histogram",
        "# UNIT sipcred_reconcile_duration_seconds seconds",
        "# TYPE sipcred_provider_request_duration_seconds histogram",
        "# TYPE sipcred_managed_resources gauge",
        "# TYPE sipcred_leader gauge",
    ];
    for line in expected {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(text.trim_end().ends_with("# EOF"), "OpenMetrics terminator");
    // Nothing outside the sipcred_ namespace.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(line.starts_with("sipcred_"), "{line}");
    }
}

#[test]
fn histogram_buckets_span_5ms_to_30s() {
    assert_eq!(DURATION_BUCKETS.first(), Some(&0.005));
    assert_eq!(DURATION_BUCKETS.last(), Some(&30.0));
    assert!(DURATION_BUCKETS.windows(2).all(|w| w[0] < w[1]));

    let text = recorded();
    // 30 ms reconcile lands in le=0.05 but not le=0.025; the 2 s one in le=2.5.
    let bucket = |le: &str| {
        let prefix = format!(
            r#"sipcred_reconcile_duration_seconds_bucket{{le="{le}",kind="TelephonyCredential"}} "#
        );
        let line = text
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no bucket {le} in:\n{text}"));
        line[prefix.len()..].parse::<u64>().unwrap()
    };
    assert_eq!(bucket("0.005"), 0);
    assert_eq!(bucket("0.025"), 0);
    assert_eq!(bucket("0.05"), 1);
    assert_eq!(bucket("1.0"), 1);
    assert_eq!(bucket("2.5"), 2);
    assert_eq!(bucket("30.0"), 2);
    assert_eq!(bucket("+Inf"), 2);
}

#[test]
fn labels_never_carry_names_or_secrets() {
    let m = Metrics::new();
    m.reconcile(
        "TelephonyCredential",
        "failed for default/my-trunk",
        Duration::ZERO,
    );
    m.provider_request(
        "telnyx",
        "GET /v2/credentials/abc-123?token=s3cr3t",
        Some(500),
        Duration::ZERO,
    );
    m.set_managed("Sip.Connection", "True", 1);
    let text = m.encode();
    for leak in ["my-trunk", "s3cr3t", "abc-123", "Sip.Connection"] {
        assert!(!text.contains(leak), "{leak} leaked into:\n{text}");
    }
    assert!(
        text.contains(r#"sipcred_reconcile_total{kind="TelephonyCredential",result="other"} 1"#)
    );
    assert!(text.contains(r#"operation="other",code="500""#));
}

#[test]
fn clones_share_one_registry_across_threads() {
    let m = Metrics::new();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    m.reconcile("SipProvider", "success", Duration::from_millis(1));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(
        m.encode()
            .contains(r#"sipcred_reconcile_total{kind="SipProvider",result="success"} 400"#)
    );
}
