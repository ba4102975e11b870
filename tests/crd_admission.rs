//! The admission rules of the GENERATED CRDs (`crds/`), evaluated on valid and invalid
//! objects: CEL `x-kubernetes-validations` (transition rules included) through the
//! Kubernetes CEL library (`kube-cel`), and the full admission (schema, then CEL) of the
//! in-memory API server. With `SIPCRED_TEST_APISERVER=real` every object goes to the real
//! kube-apiserver instead (dry-run creates and updates): it must accept the five CRDs,
//! its CEL cost estimator included, and answer the same field-named messages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::LazyLock;

use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, PostParams};
use serde_json::{Value, json};
use sipcred_kube_sim::testenv::{ApiServerKind, ControlPlane};

/// The real API server's answer to `obj` (an update of `old` when given), as the
/// `field: message` causes of its 422 and its whole message.
fn real_admission(obj: &Value, old: Option<&Value>) -> Result<(), (Vec<String>, String)> {
    static RT: LazyLock<tokio::runtime::Runtime> =
        LazyLock::new(|| tokio::runtime::Runtime::new().unwrap());
    static CLIENT: LazyLock<kube::Client> = LazyLock::new(|| {
        RT.block_on(async {
            let client = ControlPlane::shared().client().await;
            let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
                Api::all(client.clone());
            for c in sipcred_operator::crd::all() {
                match crds.create(&PostParams::default(), &c).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(e)) if e.code == 409 => {}
                    Err(e) => panic!("the real API server refused CRD {:?}: {e}", c.metadata.name),
                }
            }
            for c in sipcred_operator::crd::all() {
                let name = c.metadata.name.clone().unwrap();
                for _ in 0..600 {
                    let got = crds.get(&name).await.unwrap();
                    let established = got.status.and_then(|s| s.conditions).is_some_and(|cs| {
                        cs.iter().any(|c| c.type_ == "Established" && c.status == "True")
                    });
                    if established {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            client
        })
    });
    let kind = obj["kind"].as_str().unwrap();
    let crd = sipcred_operator::crd::all()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap();
    let ar = ApiResource {
        group: "sipcred.io".into(),
        version: "v1alpha1".into(),
        api_version: "sipcred.io/v1alpha1".into(),
        kind: kind.into(),
        plural: crd.spec.names.plural.clone(),
    };
    let namespaced = crd.spec.scope == "Namespaced";
    // A dry-run create stores nothing, so it keeps the object's own name (which the
    // message quotes); an update first stores the old object, under a name of its own.
    let name = match old {
        None => obj["metadata"]["name"]
            .as_str()
            .unwrap_or("adm")
            .to_string(),
        Some(_) => format!("adm-{}", uuid::Uuid::new_v4().simple()),
    };
    let prepare = |v: &Value| {
        let mut v = v.clone();
        v["metadata"] = json!({"name": name});
        if namespaced {
            v["metadata"]["namespace"] = json!("default");
        }
        serde_json::from_value::<DynamicObject>(v).unwrap()
    };
    let client = CLIENT.clone();
    let result = RT.block_on(async {
        let api: Api<DynamicObject> = if namespaced {
            Api::namespaced_with(client, "default", &ar)
        } else {
            Api::all_with(client, &ar)
        };
        let dry = PostParams {
            dry_run: true,
            ..Default::default()
        };
        match old {
            None => api.create(&dry, &prepare(obj)).await.map(|_| ()),
            Some(old) => {
                let stored = api
                    .create(&PostParams::default(), &prepare(old))
                    .await
                    .unwrap();
                let mut new = prepare(obj);
                new.metadata.resource_version = stored.metadata.resource_version;
                let r = api.replace(&name, &dry, &new).await.map(|_| ());
                api.delete(&name, &DeleteParams::default()).await.unwrap();
                r
            }
        }
    });
    match result {
        Ok(()) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 422 => {
            let causes = e
                .details
                .as_ref()
                .map(|d| {
                    d.causes
                        .iter()
                        .map(|c| format!("{}: {}", c.field, c.message))
                        .collect()
                })
                .unwrap_or_default();
            Err((causes, e.message))
        }
        Err(e) => panic!("unexpected answer of the real API server: {e}"),
    }
}

fn real() -> bool {
    ApiServerKind::from_env() == ApiServerKind::Real
}

fn schema(file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crds")
        .join(file);
    let crd: Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

/// CEL failures as `field: message` strings.
fn cel(file: &str, obj: &Value, old: Option<&Value>) -> Vec<String> {
    if real() {
        return real_admission(obj, old)
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
    }
    match kube_cel::Validator::new().validate(&schema(file), obj, old) {
        Ok(()) => vec![],
        Err(errs) => errs
            .iter()
            .map(|e| format!("{}: {}", e.field_path, e.message))
            .collect(),
    }
}

fn conn(spec: Value) -> Value {
    let mut base = json!({"providerRef": {"name": "telnyx"}, "userName": "myagent01"});
    base.as_object_mut()
        .unwrap()
        .extend(spec.as_object().unwrap().clone());
    json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection",
           "metadata": {"name": "c", "namespace": "default"}, "spec": base})
}

const SIPCONN: &str = "sipconnections.sipcred.io.yaml";

#[test]
fn sip_connection_valid_objects_pass() {
    let cases = [
        ("minimal", json!({})),
        ("username with letter fifth", json!({"userName": "1234a"})),
        (
            "password from a secret",
            json!({"passwordSecretRef": {"name": "s", "key": "p"}}),
        ),
        (
            "policy",
            json!({"passwordPolicy": {"length": 20, "symbols": true}}),
        ),
        (
            "webhooks",
            json!({"webhookEventURL": "https://example.com/hook", "webhookEventFailoverURL": "http://b.example"}),
        ),
        (
            "jitter equal",
            json!({"jitterBuffer": {"jitterbufferMsecMin": 100, "jitterbufferMsecMax": 100}}),
        ),
        ("localization", json!({"outbound": {"localization": "GB"}})),
    ];
    for (name, spec) in cases {
        assert_eq!(
            cel(SIPCONN, &conn(spec), None),
            Vec::<String>::new(),
            "case {name}"
        );
    }
}

#[test]
fn sip_connection_invalid_objects_name_the_field_and_rule() {
    let cases = [
        (
            "letter not in first five",
            json!({"userName": "12345abc"}),
            "spec.userName must have a letter among its first 5 characters",
        ),
        (
            "punctuation",
            json!({"userName": "my_agent"}),
            "spec.userName must contain only letters and digits",
        ),
        (
            "two password sources",
            json!({"passwordSecretRef": {"name": "s"}, "passwordPolicy": {}}),
            "set exactly one password source",
        ),
        (
            "no character class",
            json!({"passwordPolicy": {"lowercase": false, "uppercase": false, "digits": false}}),
            "at least one character class",
        ),
        (
            "url without scheme",
            json!({"webhookEventURL": "example.com/hook"}),
            "spec.webhookEventURL must be an absolute URL with a scheme",
        ),
        (
            "failover without scheme",
            json!({"webhookEventFailoverURL": "//x"}),
            "spec.webhookEventFailoverURL must be an absolute URL",
        ),
        (
            "jitter min above max",
            json!({"jitterBuffer": {"jitterbufferMsecMin": 300, "jitterbufferMsecMax": 100}}),
            "jitterbufferMsecMin must be less than or equal to jitterbufferMsecMax",
        ),
        (
            "bad localization",
            json!({"outbound": {"localization": "us"}}),
            "two-letter upper-case country code",
        ),
    ];
    for (name, spec, want) in cases {
        let errs = cel(SIPCONN, &conn(spec), None);
        assert!(
            errs.iter().any(|e| e.contains(want)),
            "case {name}: want {want:?}, got {errs:?}"
        );
    }
}

#[test]
fn telephony_credential_needs_exactly_one_connection() {
    let f = "telephonycredentials.sipcred.io.yaml";
    let obj = |spec: Value| json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TelephonyCredential", "metadata": {"name": "t"}, "spec": spec});
    let both = obj(
        json!({"providerRef": {"name": "p"}, "sipConnectionRef": {"name": "c"}, "connectionID": "123"}),
    );
    let neither = obj(json!({"providerRef": {"name": "p"}}));
    let one = obj(json!({"providerRef": {"name": "p"}, "connectionID": "1293384261075731499"}));
    for bad in [both, neither] {
        let errs = cel(f, &bad, None);
        assert!(
            errs.iter()
                .any(|e| e.contains("set exactly one of sipConnectionRef and connectionID")),
            "{errs:?}"
        );
    }
    assert!(cel(f, &one, None).is_empty());
}

#[test]
fn trunk_credential_username_is_immutable() {
    let f = "trunkcredentials.sipcred.io.yaml";
    let obj = |u: &str| json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TrunkCredential", "metadata": {"name": "t"}, "spec": {"providerRef": {"name": "v"}, "username": u}});
    assert!(
        cel(f, &obj("officepbx01"), None).is_empty(),
        "create is not a transition"
    );
    assert!(cel(f, &obj("officepbx01"), Some(&obj("officepbx01"))).is_empty());
    let errs = cel(f, &obj("other01"), Some(&obj("officepbx01")));
    assert!(
        errs.iter()
            .any(|e| e.contains("spec.username is immutable")),
        "{errs:?}"
    );
    let errs = cel(f, &obj("-bad"), None);
    assert!(
        errs.iter()
            .any(|e| e.contains("spec.username must start with a letter or digit")),
        "{errs:?}"
    );
}

#[test]
fn provider_has_exactly_one_type_and_it_is_immutable() {
    for (f, telnyx, vobiz) in [
        (
            "sipproviders.sipcred.io.yaml",
            json!({"apiKeySecretRef": {"name": "k"}}),
            json!({"credentialsSecretRef": {"name": "v"}}),
        ),
        (
            "clustersipproviders.sipcred.io.yaml",
            json!({"apiKeySecretRef": {"name": "k", "namespace": "ops"}}),
            json!({"credentialsSecretRef": {"name": "v", "namespace": "ops"}}),
        ),
    ] {
        let obj = |spec: Value| json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipProvider", "metadata": {"name": "p"}, "spec": spec});
        let t = obj(json!({"telnyx": telnyx}));
        let v = obj(json!({"vobiz": vobiz}));
        assert!(cel(f, &t, None).is_empty(), "{f}");
        assert!(cel(f, &v, None).is_empty(), "{f}");
        let errs = cel(f, &obj(json!({"telnyx": telnyx, "vobiz": vobiz})), None);
        assert!(
            errs.iter()
                .any(|e| e.contains("set exactly one of telnyx and vobiz")),
            "{f}: {errs:?}"
        );
        let errs = cel(f, &obj(json!({})), None);
        assert!(
            errs.iter()
                .any(|e| e.contains("set exactly one of telnyx and vobiz")),
            "{f}: {errs:?}"
        );
        let errs = cel(f, &v, Some(&t));
        assert!(
            errs.iter()
                .any(|e| e.contains("the provider type (telnyx or vobiz) is immutable")),
            "{f}: {errs:?}"
        );
    }
}

#[test]
fn every_example_passes_the_cel_rules() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let obj: Value = serde::Deserialize::deserialize(doc).unwrap();
            if obj["apiVersion"] != "sipcred.io/v1alpha1" {
                continue;
            }
            let plural = match obj["kind"].as_str().unwrap() {
                "SipConnection" => "sipconnections",
                "TelephonyCredential" => "telephonycredentials",
                "TrunkCredential" => "trunkcredentials",
                "SipProvider" => "sipproviders",
                "ClusterSipProvider" => "clustersipproviders",
                k => panic!("unknown kind {k}"),
            };
            let errs = cel(&format!("{plural}.sipcred.io.yaml"), &obj, None);
            assert!(errs.is_empty(), "{}: {errs:?}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} custom objects in examples/");
}

/// The full admission of the API server (structural schema, then CEL), as the
/// in-memory API server runs it on the GENERATED CRD: the messages users see.
fn admit(file: &str, obj: &Value, old: Option<&Value>) -> Result<(), String> {
    if real() {
        return real_admission(obj, old).map_err(|e| e.1);
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crds")
        .join(file);
    let crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition =
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    sipcred_kube_sim::validation::validate(&crd, "v1alpha1", obj, old)
        .map(|_| ())
        .map_err(|e| e.message())
}

#[test]
fn sip_connection_schema_rules_reject_with_field_and_rule() {
    let cases = [
        (
            "username too short",
            json!({"userName": "ab1"}),
            "spec.userName in body should be at least 4 chars long",
        ),
        (
            "username too long",
            json!({"userName": "a".repeat(33)}),
            "spec.userName: Too long: may not be more than 32 bytes",
        ),
        (
            "webhook timeout",
            json!({"webhookTimeoutSecs": 31}),
            "spec.webhookTimeoutSecs in body should be less than or equal to 30",
        ),
        (
            "negative webhook timeout",
            json!({"webhookTimeoutSecs": -1}),
            "spec.webhookTimeoutSecs in body should be greater than or equal to 0",
        ),
        (
            "rtcp frequency",
            json!({"rtcpSettings": {"reportFrequencySecs": 4}}),
            "spec.rtcpSettings.reportFrequencySecs in body should be greater than or equal to 5",
        ),
        (
            "rtcp frequency high",
            json!({"rtcpSettings": {"reportFrequencySecs": 3001}}),
            "should be less than or equal to 3000",
        ),
        (
            "jitter min",
            json!({"jitterBuffer": {"jitterbufferMsecMin": 39}}),
            "spec.jitterBuffer.jitterbufferMsecMin in body should be greater than or equal to 40",
        ),
        (
            "jitter max",
            json!({"jitterBuffer": {"jitterbufferMsecMax": 401}}),
            "spec.jitterBuffer.jitterbufferMsecMax in body should be less than or equal to 400",
        ),
        (
            "1xx timeout",
            json!({"inbound": {"timeout1xxSecs": 121}}),
            "spec.inbound.timeout1xxSecs in body should be less than or equal to 120",
        ),
        (
            "1xx timeout zero",
            json!({"inbound": {"timeout1xxSecs": 0}}),
            "spec.inbound.timeout1xxSecs in body should be greater than or equal to 1",
        ),
        (
            "2xx timeout",
            json!({"inbound": {"timeout2xxSecs": 601}}),
            "spec.inbound.timeout2xxSecs in body should be less than or equal to 600",
        ),
        (
            "attenuation step",
            json!({"noiseSuppressionDetails": {"attenuationLimit": 85}}),
            "spec.noiseSuppressionDetails.attenuationLimit in body should be a multiple of 10",
        ),
        (
            "attenuation range",
            json!({"noiseSuppressionDetails": {"attenuationLimit": 110}}),
            "should be less than or equal to 100",
        ),
        (
            "password length",
            json!({"passwordPolicy": {"length": 7}}),
            "spec.passwordPolicy.length in body should be greater than or equal to 8",
        ),
        (
            "password length high",
            json!({"passwordPolicy": {"length": 129}}),
            "should be less than or equal to 128",
        ),
        (
            "anchorsite enum",
            json!({"anchorsiteOverride": "Mars"}),
            "spec.anchorsiteOverride: Unsupported value: \"Mars\": supported values: \"Latency\", \"Chicago, IL\"",
        ),
        (
            "dtmf enum",
            json!({"dtmfType": "rfc2833"}),
            "spec.dtmfType: Unsupported value",
        ),
        (
            "sip uri enum",
            json!({"sipURICallingPreference": "everyone"}),
            "spec.sipURICallingPreference: Unsupported value",
        ),
        (
            "webhook version enum",
            json!({"webhookAPIVersion": "texml"}),
            "spec.webhookAPIVersion: Unsupported value",
        ),
        (
            "ani format enum",
            json!({"inbound": {"aniNumberFormat": "E164"}}),
            "spec.inbound.aniNumberFormat: Unsupported value",
        ),
        (
            "dnis format enum",
            json!({"inbound": {"dnisNumberFormat": "intl"}}),
            "spec.inbound.dnisNumberFormat: Unsupported value",
        ),
        (
            "routing enum",
            json!({"inbound": {"defaultRoutingMethod": "random"}}),
            "spec.inbound.defaultRoutingMethod: Unsupported value",
        ),
        (
            "ringing enum",
            json!({"inbound": {"simultaneousRinging": "on"}}),
            "spec.inbound.simultaneousRinging: Unsupported value",
        ),
        (
            "ani override enum",
            json!({"outbound": {"aniOverrideType": "sometimes"}}),
            "spec.outbound.aniOverrideType: Unsupported value",
        ),
        (
            "t38 enum",
            json!({"outbound": {"t38ReinviteSource": "nobody"}}),
            "spec.outbound.t38ReinviteSource: Unsupported value",
        ),
        (
            "rtcp port enum",
            json!({"rtcpSettings": {"port": "rtp+2"}}),
            "spec.rtcpSettings.port: Unsupported value",
        ),
        (
            "noise enum",
            json!({"noiseSuppression": "all"}),
            "spec.noiseSuppression: Unsupported value",
        ),
        (
            "engine enum",
            json!({"noiseSuppressionDetails": {"engine": "magic"}}),
            "spec.noiseSuppressionDetails.engine: Unsupported value",
        ),
        (
            "media enum",
            json!({"encryptedMedia": "ZRTP"}),
            "spec.encryptedMedia: Unsupported value",
        ),
        (
            "deletion policy enum",
            json!({"deletionPolicy": "Keep"}),
            "spec.deletionPolicy: Unsupported value",
        ),
        (
            "wrong type",
            json!({"webhookTimeoutSecs": "25"}),
            "spec.webhookTimeoutSecs in body must be of type integer",
        ),
        (
            "cel rule too",
            json!({"userName": "12345abc"}),
            "spec.userName: Invalid value: \"12345abc\": spec.userName must have a letter among its first 5 characters",
        ),
    ];
    for (name, spec, want) in cases {
        let err = admit(SIPCONN, &conn(spec), None).expect_err(name);
        assert!(err.contains(want), "case {name}: want {want:?} in {err}");
        assert!(
            err.starts_with("SipConnection.sipcred.io \"c\" is invalid:"),
            "case {name}: {err}"
        );
    }
}

#[test]
fn required_fields_are_named() {
    let obj = json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": "c"}, "spec": {"userName": "abcd1"}});
    let err = admit(SIPCONN, &obj, None).unwrap_err();
    assert!(err.contains("spec.providerRef: Required value"), "{err}");
    let obj = json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TrunkCredential", "metadata": {"name": "t"}, "spec": {"providerRef": {"name": "v"}}});
    let err = admit("trunkcredentials.sipcred.io.yaml", &obj, None).unwrap_err();
    assert!(err.contains("spec.username: Required value"), "{err}");
}

#[test]
fn every_example_is_admitted_by_the_full_schema() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let obj: Value = serde::Deserialize::deserialize(doc).unwrap();
            if obj["apiVersion"] != "sipcred.io/v1alpha1" {
                continue;
            }
            let plural = format!("{}s", obj["kind"].as_str().unwrap().to_lowercase());
            admit(&format!("{plural}.sipcred.io.yaml"), &obj, None)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

#[test]
fn provider_timeout_is_a_bounded_duration() {
    for (file, spec) in [
        (
            "sipproviders.sipcred.io.yaml",
            json!({"telnyx": {"apiKeySecretRef": {"name": "k"}}}),
        ),
        (
            "clustersipproviders.sipcred.io.yaml",
            json!({"vobiz": {"credentialsSecretRef": {"name": "v", "namespace": "ops"}}}),
        ),
    ] {
        let obj = |timeout: &str| {
            let mut spec = spec.clone();
            spec["timeout"] = json!(timeout);
            json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipProvider", "metadata": {"name": "p"}, "spec": spec})
        };
        for ok in ["30s", "1m30s", "1500ms", "1s", "5m", "4m59s"] {
            assert_eq!(
                cel(file, &obj(ok), None),
                Vec::<String>::new(),
                "{file} {ok}"
            );
            admit(file, &obj(ok), None).unwrap_or_else(|e| panic!("{file} {ok}: {e}"));
        }
        for (bad, want) in [
            (
                "30",
                "spec.timeout must be a duration such as 30s, 1m30s or 1500ms",
            ),
            (
                "1.5s",
                "spec.timeout must be a duration such as 30s, 1m30s or 1500ms",
            ),
            (
                "30 s",
                "spec.timeout must be a duration such as 30s, 1m30s or 1500ms",
            ),
            (
                "-30s",
                "spec.timeout must be a duration such as 30s, 1m30s or 1500ms",
            ),
            ("999ms", "spec.timeout must be from 1s to 5m"),
            ("5m1s", "spec.timeout must be from 1s to 5m"),
            ("1h", "spec.timeout must be from 1s to 5m"),
        ] {
            let errs = cel(file, &obj(bad), None);
            assert!(
                errs.len() == 1 && errs[0].contains(want),
                "{file} {bad}: want only {want:?} in {errs:?}"
            );
            let err = admit(file, &obj(bad), None).expect_err(bad);
            assert!(
                err.contains("spec.timeout") && err.contains(want),
                "{file} {bad}: {err}"
            );
        }
        let err = admit(file, &obj(&"1".repeat(40)), None).expect_err("too long");
        assert!(
            err.contains("spec.timeout: Too long: may not be more than 32 bytes"),
            "{err}"
        );
    }
}

#[test]
fn secret_formats_are_an_enum_set_on_every_managed_kind() {
    let with =
        |formats: Value| conn(json!({"userName": "pbxuser01", "secret": {"formats": formats}}));
    admit(
        "sipconnections.sipcred.io.yaml",
        &with(json!(["sipURI", "webrtc", "pjsip", "freeswitch", "env"])),
        None,
    )
    .unwrap();
    let e = admit(
        "sipconnections.sipcred.io.yaml",
        &with(json!(["yaml"])),
        None,
    )
    .unwrap_err();
    assert!(
        e.contains("spec.secret.formats[0]") && e.contains("Unsupported value"),
        "{e}"
    );
    let e = admit(
        "sipconnections.sipcred.io.yaml",
        &with(json!(["env", "env"])),
        None,
    )
    .unwrap_err();
    assert!(
        e.contains("spec.secret.formats[1]") && e.contains("Duplicate"),
        "{e}"
    );
    for file in [
        "telephonycredentials.sipcred.io.yaml",
        "trunkcredentials.sipcred.io.yaml",
    ] {
        let s = schema(file);
        let f = &s["properties"]["spec"]["properties"]["secret"]["properties"]["formats"];
        assert_eq!(f["x-kubernetes-list-type"], "set", "{file}");
        assert_eq!(f["items"]["enum"].as_array().unwrap().len(), 5, "{file}");
    }
}

#[test]
fn registration_check_interval_is_a_duration_of_at_least_30s() {
    for (file, kind, spec) in [
        (
            "sipconnections.sipcred.io.yaml",
            "SipConnection",
            json!({"providerRef": {"name": "telnyx"}, "userName": "alice01"}),
        ),
        (
            "telephonycredentials.sipcred.io.yaml",
            "TelephonyCredential",
            json!({"providerRef": {"name": "telnyx"}, "connectionID": "1234"}),
        ),
    ] {
        let obj = |interval: &str| {
            let mut spec = spec.clone();
            spec["registrationCheck"] = json!({"interval": interval});
            json!({"apiVersion": "sipcred.io/v1alpha1", "kind": kind, "metadata": {"name": "r", "namespace": "default"}, "spec": spec})
        };
        for ok in ["30s", "1m", "5m", "1h30m", "30000ms"] {
            admit(file, &obj(ok), None).unwrap_or_else(|e| panic!("{file} {ok}: {e}"));
        }
        for (bad, want) in [
            (
                "29s",
                "spec.registrationCheck.interval must be at least 30s",
            ),
            (
                "500ms",
                "spec.registrationCheck.interval must be at least 30s",
            ),
            (
                "30",
                "spec.registrationCheck.interval must be a duration such as 30s, 5m or 1h30m",
            ),
            (
                "soon",
                "spec.registrationCheck.interval must be a duration such as 30s, 5m or 1h30m",
            ),
        ] {
            let err = admit(file, &obj(bad), None).expect_err(bad);
            assert!(err.contains(want), "{file} {bad}: {err}");
        }
    }
}

#[test]
fn rotation_durations_and_sources_are_checked_at_admission() {
    let kinds = [
        (
            "sipconnections.sipcred.io.yaml",
            "SipConnection",
            json!({"providerRef": {"name": "telnyx"}, "userName": "alice01"}),
        ),
        (
            "trunkcredentials.sipcred.io.yaml",
            "TrunkCredential",
            json!({"providerRef": {"name": "vobiz"}, "username": "alice01"}),
        ),
        (
            "telephonycredentials.sipcred.io.yaml",
            "TelephonyCredential",
            json!({"providerRef": {"name": "telnyx"}, "connectionID": "1234"}),
        ),
    ];
    for (file, kind, spec) in &kinds {
        let obj = |extra: Value| {
            let mut spec = spec.clone();
            spec.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            json!({"apiVersion": "sipcred.io/v1alpha1", "kind": kind, "metadata": {"name": "r", "namespace": "default"}, "spec": spec})
        };
        admit(file, &obj(json!({"rotation": {"interval": "720h"}})), None)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        for (bad, want) in [
            ("9s", "spec.rotation.interval must be at least 10s"),
            (
                "monthly",
                "spec.rotation.interval must be a duration such as 720h",
            ),
        ] {
            let err =
                admit(file, &obj(json!({"rotation": {"interval": bad}})), None).expect_err(bad);
            assert!(err.contains(want), "{kind} {bad}: {err}");
        }
        if *kind != "TelephonyCredential" {
            let err = admit(
                file,
                &obj(json!({"passwordSecretRef": {"name": "s"}, "rotation": {"interval": "720h"}})),
                None,
            )
            .expect_err("rotation of a referenced password");
            assert!(
                err.contains("spec.rotation: a password from passwordSecretRef is rotated by changing that Secret"),
                "{kind}: {err}"
            );
        }
    }
    let (file, _, _) = &kinds[2];
    let tc = |r: Value| {
        json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TelephonyCredential", "metadata": {"name": "r", "namespace": "default"},
            "spec": {"providerRef": {"name": "telnyx"}, "connectionID": "1234", "rotation": r,
                     "accessToken": {"enabled": true, "refreshBefore": "1h", "key": "webrtc.jwt"}}})
    };
    admit(
        file,
        &tc(json!({"gracePeriod": "10m", "renewBefore": "24h"})),
        None,
    )
    .unwrap();
    let err = admit(file, &tc(json!({"gracePeriod": "ten minutes"})), None).unwrap_err();
    assert!(
        err.contains("spec.rotation.gracePeriod must be a duration"),
        "{err}"
    );
    let err = admit(file, &tc(json!({"renewBefore": "1d"})), None).unwrap_err();
    assert!(
        err.contains("spec.rotation.renewBefore must be a duration"),
        "{err}"
    );
}
