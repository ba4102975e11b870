//! `sipcred-operator rotate KIND/NAME` (`kubectl sipcred rotate`): asks the operator
//! for a rotation the way cert-manager's `cmctl renew` does, through an annotation
//! whose every distinct value is honoured once.

use jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::status::ROTATE_ANNOTATION;
use super::target::{BoxError, KubeArgs, Target, status_command};

/// Flags of `rotate`.
#[derive(clap::Args, Debug, Clone)]
pub struct RotateArgs {
    /// The object: KIND/NAME (e.g. tc/agent-alice) or KIND NAME.
    #[arg(value_name = "KIND/NAME")]
    pub object: String,
    /// The name, when the object is given as KIND NAME.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    #[command(flatten)]
    pub kube: KubeArgs,
}

pub async fn run(args: RotateArgs) -> Result<(), BoxError> {
    let target = Target::parse(&args.object, args.name.as_deref())?;
    let (client, namespace) = args.kube.connect().await?;
    let obj = target.get(&client, &namespace).await?;
    let previous = obj
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ROTATE_ANNOTATION))
        .cloned();
    let value = request_value(Timestamp::now(), previous.as_deref());
    let patch = json!({"metadata": {"annotations": {ROTATE_ANNOTATION: value}}});
    target
        .api(&client, &namespace)
        .patch(&target.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| format!("cannot annotate {}: {e}", target.display()))?;
    println!(
        "{} in namespace {namespace}: rotation requested ({ROTATE_ANNOTATION}: {value})",
        target.display()
    );
    println!(
        "The operator rotates once per distinct value and echoes it into status.lastRotationRequest."
    );
    println!("Follow it with: {}", status_command(&target, &namespace));
    Ok(())
}

/// RFC 3339 in whole seconds, as people write it; with milliseconds when a request in
/// the same second would otherwise repeat the previous value (and so be ignored).
fn request_value(now: Timestamp, previous: Option<&str>) -> String {
    let secs = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    if previous == Some(secs.as_str()) {
        now.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    } else {
        secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_is_a_new_rfc3339_value() {
        let now: Timestamp = "2026-12-02T10:00:00.250Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let first = request_value(now, None);
        assert_eq!(first, "2026-12-02T10:00:00Z");
        let second = request_value(now, Some(&first));
        assert_eq!(second, "2026-12-02T10:00:00.250Z");
        for v in [first, second] {
            assert!(v.parse::<Timestamp>().is_ok(), "{v}");
        }
    }
}
