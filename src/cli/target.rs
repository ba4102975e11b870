//! What `status` and `rotate` share: the cluster connection chosen as kubectl chooses
//! it (`--kubeconfig`, `KUBECONFIG`, `~/.kube/config`, `--context`, the context's
//! namespace), and `KIND/NAME` resolved against the operator's own kinds.

use std::path::PathBuf;

use kube::api::{Api, ApiResource, DynamicObject};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use sipcred_operator::controller::{KindVisitor, ManagedKind, for_each_kind, kind::api_resource};
use sipcred_operator::crd;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The cluster flags kubectl users expect.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct KubeArgs {
    /// Namespace of the object (default: the context's namespace, else `default`).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Path of the kubeconfig (default: KUBECONFIG, else ~/.kube/config, else the
    /// in-cluster service account).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

impl KubeArgs {
    /// A client and the namespace to look in.
    pub async fn connect(&self) -> Result<(Client, String), BoxError> {
        let options = KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        let config = match (&self.kubeconfig, &self.context) {
            (Some(path), _) => {
                // kube's own message for a missing file quotes the path twice.
                if !path.exists() {
                    return Err(format!("kubeconfig {} does not exist", path.display()).into());
                }
                let kc = Kubeconfig::read_from(path)
                    .map_err(|e| format!("cannot read kubeconfig {}: {e}", path.display()))?;
                Config::from_custom_kubeconfig(kc, &options).await?
            }
            (None, Some(_)) => Config::from_kubeconfig(&options).await?,
            (None, None) => Config::infer().await?,
        };
        let namespace = self
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        Ok((Client::try_from(config)?, namespace))
    }
}

/// A managed kind and the names a user may call it by.
#[derive(Debug, Clone)]
pub struct KindNames {
    pub resource: ApiResource,
    /// Lower-case kind, plural and short names.
    pub names: Vec<String>,
}

/// Every managed kind (from [`for_each_kind`]) with its names from its CRD: kind,
/// singular, plural, short names, and each with the group appended (`tc.sipcred.io`).
pub fn kinds() -> Vec<KindNames> {
    struct Collect(Vec<String>);
    impl KindVisitor for Collect {
        fn visit<K: ManagedKind>(&mut self) {
            self.0.push(K::kind(&()).into_owned());
        }
    }
    let mut c = Collect(Vec::new());
    for_each_kind(&mut c);
    let crds = crd::all();
    c.0.into_iter()
        .filter_map(|kind| {
            let resource = api_resource(&kind)?;
            let mut names = vec![kind.to_ascii_lowercase(), resource.plural.clone()];
            if let Some(crd) = crds.iter().find(|c| c.spec.names.kind == kind) {
                names.extend(crd.spec.names.singular.clone());
                names.extend(crd.spec.names.short_names.clone().unwrap_or_default());
            }
            let mut names: Vec<String> = names
                .into_iter()
                .map(|n| n.to_ascii_lowercase())
                .flat_map(|n| [format!("{n}.{}", resource.group), n])
                .collect();
            names.sort();
            names.dedup();
            Some(KindNames { resource, names })
        })
        .collect()
}

/// The kind a user's word names, case-insensitively.
pub fn resolve_kind(word: &str) -> Result<ApiResource, String> {
    let word = word.to_ascii_lowercase();
    let all = kinds();
    if let Some(k) = all.iter().find(|k| k.names.contains(&word)) {
        return Ok(k.resource.clone());
    }
    let known: Vec<String> = all
        .iter()
        .map(|k| {
            let short: Vec<&str> = k
                .names
                .iter()
                .map(String::as_str)
                .filter(|n| !n.contains('.') && *n != k.resource.plural)
                .filter(|n| *n != k.resource.kind.to_ascii_lowercase())
                .collect();
            format!("{} ({})", k.resource.kind, short.join(", "))
        })
        .collect();
    Err(format!(
        "unknown kind \"{word}\"; expected one of: {}",
        known.join("; ")
    ))
}

/// An object named on the command line: `KIND/NAME`, or `KIND NAME` as kubectl takes.
#[derive(Debug, Clone)]
pub struct Target {
    pub resource: ApiResource,
    pub name: String,
}

impl Target {
    pub fn parse(first: &str, second: Option<&str>) -> Result<Target, String> {
        let (kind, name) = match (first.split_once('/'), second) {
            (Some((k, n)), None) => (k, n),
            (None, Some(n)) => (first, n),
            (Some(_), Some(_)) => {
                return Err(format!(
                    "give the object as KIND/NAME or KIND NAME, not both (\"{first}\" and a name)"
                ));
            }
            (None, None) => {
                return Err(format!(
                    "\"{first}\" has no name: give the object as KIND/NAME, e.g. tc/agent-alice"
                ));
            }
        };
        if name.is_empty() || name.contains('/') {
            return Err(format!("\"{name}\" is not an object name"));
        }
        Ok(Target {
            resource: resolve_kind(kind)?,
            name: name.to_string(),
        })
    }

    /// `telephonycredential/agent-alice`.
    pub fn display(&self) -> String {
        format!("{}/{}", self.resource.kind.to_ascii_lowercase(), self.name)
    }

    pub fn api(&self, client: &Client, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(client.clone(), namespace, &self.resource)
    }

    /// The object, or an error that says which one is missing where.
    pub async fn get(&self, client: &Client, namespace: &str) -> Result<DynamicObject, BoxError> {
        match self.api(client, namespace).get_opt(&self.name).await {
            Ok(Some(o)) => Ok(o),
            Ok(None) => Err(format!(
                "{} \"{}\" not found in namespace \"{namespace}\"",
                self.resource.kind, self.name
            )
            .into()),
            Err(e) => Err(format!(
                "cannot read {} \"{}\" in namespace \"{namespace}\": {e}",
                self.resource.kind, self.name
            )
            .into()),
        }
    }
}

/// The command line that shows an object's status: the kubectl plugin's form when this
/// binary was run as that plugin.
pub fn status_command(target: &Target, namespace: &str) -> String {
    format!(
        "{} status {} -n {namespace}",
        super::invoked_as(),
        target.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_resolve_case_insensitively() {
        let cases = [
            ("kind", "SipConnection", "SipConnection"),
            ("plural", "sipconnections", "SipConnection"),
            ("short name", "sipconn", "SipConnection"),
            ("other short name", "SIPC", "SipConnection"),
            (
                "kind, lower case",
                "telephonycredential",
                "TelephonyCredential",
            ),
            ("short name", "tc", "TelephonyCredential"),
            ("short name, mixed case", "TelCred", "TelephonyCredential"),
            ("with the group", "tc.sipcred.io", "TelephonyCredential"),
            ("short name", "trunkcred", "TrunkCredential"),
            ("short name", "tkc", "TrunkCredential"),
            ("plural", "TrunkCredentials", "TrunkCredential"),
        ];
        for (why, word, kind) in cases {
            let got = resolve_kind(word).map(|r| r.kind);
            assert_eq!(got.as_deref(), Ok(kind), "{why}: {word}");
        }
    }

    #[test]
    fn unknown_kinds_list_the_known_ones() {
        let e = resolve_kind("pod").unwrap_err();
        assert!(e.contains("unknown kind \"pod\""), "{e}");
        assert!(
            e.contains("TelephonyCredential (") && e.contains("tc"),
            "{e}"
        );
        // Providers are not credentials: nothing to show or rotate.
        assert!(resolve_kind("sipprovider").is_err());
    }

    #[test]
    fn targets_parse_like_kubectl() {
        let t = Target::parse("tc/alice", None).unwrap();
        assert_eq!(
            (t.resource.kind.as_str(), t.name.as_str()),
            ("TelephonyCredential", "alice")
        );
        let t = Target::parse("trunkcred", Some("bob")).unwrap();
        assert_eq!(t.display(), "trunkcredential/bob");
        for (why, first, second) in [
            ("no name", "tc", None),
            ("empty name", "tc/", None),
            ("both forms", "tc/a", Some("b")),
            ("nested", "tc/a/b", None),
        ] {
            assert!(Target::parse(first, second).is_err(), "{why}");
        }
    }
}
