//! `sipcred-operator bench`: sizes an installation. Starts the API server (the in-memory
//! one, or a real control plane), the Telnyx and Vobiz simulators with a rate limit and
//! a latency, and the operator, each as its own process of this executable; creates N
//! objects, waits for all Ready, watches a steady-state window, deletes them all, and
//! prints what it cost: time against the rate-limit bound, provider calls and
//! Kubernetes writes per object, memory and CPU of every process.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use sipcred_operator::crd::{
    self, SipConnection, SipProvider, TelephonyCredential, TrunkCredential,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const NAMESPACE: &str = "sipcred-bench";
const TELNYX_KEY: &str = "KEYBENCH0123456789";
const VOBIZ_ID: &str = "MA_BENCH";
const VOBIZ_TOKEN: &str = "bench-auth-token";
/// Kinds and subresources the operator writes; a real control plane writes others
/// (leases, its own events) that are not the operator's cost.
const OPERATOR_RESOURCES: &[&str] = &[
    "sipconnections",
    "telephonycredentials",
    "trunkcredentials",
    "sipproviders",
    "clustersipproviders",
    "secrets",
    "events",
];
/// Appended to the resource of writes answered 409 Conflict.
const CONFLICT_SUFFIX: &str = " (409)";
/// Reads that reach the API server (a watch is counted once, when it starts).
const READ_VERBS: &[&str] = &["GET", "LIST"];
const WRITE_VERBS: &[&str] = &[
    "POST",
    "PUT",
    "PATCH",
    "APPLY",
    "DELETE",
    "DELETECOLLECTION",
];

/// Which API server the benchmark runs against.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiServer {
    /// `sipcred-operator sim kube` in its own process.
    Sim,
    /// A real control plane: `--kubeconfig`, or one started with `--testenv-bin`.
    Real,
}

/// Flags of `bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Objects to create (comma-separated for several runs, one fresh world and one
    /// table each): 45% SipConnections, 45% TelephonyCredentials, 10% TrunkCredentials.
    #[arg(long, value_delimiter = ',', required = true)]
    pub objects: Vec<usize>,
    /// Rate limit of each provider account, requests/second: the simulators enforce it
    /// (429 beyond) and the SipProviders declare it.
    #[arg(long, default_value_t = 100)]
    pub rps: u32,
    /// Latency the simulators add to every provider call, in ms.
    #[arg(long, default_value_t = 50)]
    pub latency_ms: u64,
    /// The API server.
    #[arg(long, value_enum, default_value = "sim")]
    pub apiserver: ApiServer,
    /// Kubeconfig of the real API server (with `--apiserver real`).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Start this real control plane (`sipcred-testenv --kubeconfig PATH`) for each run
    /// and stop it with SIGTERM (with `--apiserver real`).
    #[arg(long)]
    pub testenv_bin: Option<PathBuf>,
    /// The operator's `--resync-secs`; the steady-state window lasts one interval.
    #[arg(long, default_value_t = 60)]
    pub resync_secs: u64,
    /// Passed to the operator as `--concurrency` (unset: the operator's default).
    #[arg(long)]
    pub concurrency: Option<u16>,
    /// Give up waiting for Ready (or for deletion) after this many seconds
    /// (default: 120 s plus 20 times the rate-limit bound).
    #[arg(long)]
    pub timeout_secs: Option<u64>,
    /// Keep the logs of every process in this directory (default: a temporary one,
    /// removed at the end).
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
    /// Run the operator under this command (a program and its arguments, separated by
    /// spaces), e.g. `heaptrack -o /tmp/operator` for a heap profile. The operator is
    /// still the process measured and stopped: the wrapper's child running this
    /// executable.
    #[arg(long)]
    pub operator_wrapper: Option<String>,
    /// Stop after the steady-state window: no delete phase (to size convergence
    /// alone, or to keep the objects for a look with kubectl).
    #[arg(long)]
    pub skip_delete: bool,
}

/// Runs one benchmark per object count.
pub async fn run(args: BenchArgs) -> Result<(), BoxError> {
    if args.rps == 0 {
        return Err("--rps must be at least 1".into());
    }
    if args.apiserver == ApiServer::Real && args.kubeconfig.is_none() {
        return Err("--apiserver real needs --kubeconfig (with --testenv-bin to start one)".into());
    }
    let exe = std::env::current_exe()?;
    for &n in &args.objects {
        if n == 0 {
            return Err("--objects must be at least 1".into());
        }
        let dir = match &args.log_dir {
            Some(d) => {
                let d = d.join(format!("n{n}"));
                std::fs::create_dir_all(&d)?;
                Workdir::Kept(d)
            }
            None => Workdir::Temp(tempdir(n)?),
        };
        let mut world = World::default();
        let out = bench_one(&args, n, &exe, dir.path(), &mut world).await;
        world.stop().await;
        if let (Err(_), Workdir::Temp(p)) = (&out, &dir) {
            eprintln!("bench: logs kept in {}", p.display());
        } else if let Workdir::Temp(p) = &dir {
            let _ = std::fs::remove_dir_all(p);
        }
        let report = out?;
        print!("{}", report.table());
        println!("{}", report.summary());
    }
    Ok(())
}

enum Workdir {
    Kept(PathBuf),
    Temp(PathBuf),
}

impl Workdir {
    fn path(&self) -> &Path {
        match self {
            Workdir::Kept(p) | Workdir::Temp(p) => p,
        }
    }
}

fn tempdir(n: usize) -> std::io::Result<PathBuf> {
    let p = std::env::temp_dir().join(format!(
        "sipcred-bench-{}-n{n}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&p)?;
    Ok(p)
}

/// The processes of one run, stopped in reverse order of start.
#[derive(Default)]
struct World {
    procs: Vec<Proc>,
}

struct Proc {
    name: &'static str,
    child: Child,
    pid: u32,
}

impl World {
    fn pid(&self, name: &str) -> Option<u32> {
        self.procs.iter().find(|p| p.name == name).map(|p| p.pid)
    }

    async fn stop(&mut self) {
        while let Some(mut p) = self.procs.pop() {
            terminate(&mut p).await;
        }
    }
}

/// SIGTERM, so a control plane stops the processes it started; SIGKILL after 20 s.
/// The POSIX `kill` utility sends it: this crate forbids the `unsafe` of a direct call.
/// A wrapped process (`--operator-wrapper`) is signalled itself, and its wrapper is
/// waited for: a profiler writes its data after its child ends.
async fn terminate(p: &mut Proc) {
    let _ = Command::new("kill")
        .args(["-TERM", &p.pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    if tokio::time::timeout(Duration::from_secs(20), p.child.wait())
        .await
        .is_err()
    {
        let _ = p.child.kill().await;
    }
}

/// Spawns `exe args`, logging stderr (and stdout unless `announce`) to `dir/NAME.log`;
/// with `announce`, waits for the first stdout line containing it and returns it.
async fn spawn(
    world: &mut World,
    name: &'static str,
    exe: &Path,
    args: &[String],
    env: &[(&str, &Path)],
    dir: &Path,
    announce: Option<&str>,
) -> Result<Option<String>, BoxError> {
    spawn_wrapped(world, name, &[], exe, args, env, dir, announce).await
}

/// [`spawn`] under `wrapper` (a program and its arguments; none: `exe` directly). The
/// process recorded for `name` (measured and signalled) is `exe` itself, found among
/// the wrapper's children.
#[allow(clippy::too_many_arguments)]
async fn spawn_wrapped(
    world: &mut World,
    name: &'static str,
    wrapper: &[String],
    exe: &Path,
    args: &[String],
    env: &[(&str, &Path)],
    dir: &Path,
    announce: Option<&str>,
) -> Result<Option<String>, BoxError> {
    let log = std::fs::File::create(dir.join(format!("{name}.log")))?;
    let mut cmd = match wrapper.split_first() {
        Some((program, wargs)) => {
            let mut c = Command::new(program);
            c.args(wargs).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::from(log.try_clone()?))
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    if announce.is_some() {
        cmd.stdout(Stdio::piped());
    } else {
        cmd.stdout(Stdio::from(log));
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("starting {name} ({}): {e}", exe.display()))?;
    let mut pid = child.id().ok_or_else(|| format!("{name} exited at once"))?;
    if !wrapper.is_empty() {
        pid = wrapped_child(pid, exe)
            .await
            .ok_or_else(|| format!("{name} did not start under {wrapper:?} within 60 s"))?;
    }
    let stdout = child.stdout.take();
    world.procs.push(Proc { name, child, pid });
    let (Some(want), Some(stdout)) = (announce, stdout) else {
        return Ok(None);
    };
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(l) = lines.next_line().await? {
            if l.contains(want) {
                return Ok::<_, std::io::Error>(Some(l));
            }
        }
        Ok(None)
    })
    .await
    .map_err(|_| format!("{name} did not start within 60 s (see {name}.log)"))??
    .ok_or_else(|| format!("{name} exited before it was ready (see {name}.log)"))?;
    // Keep draining stdout so the process never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Some(line))
}

/// The process running `exe`: `parent` itself once a wrapper script has exec'd it, or
/// one below it (a wrapper may start helpers of its own).
async fn wrapped_child(parent: u32, exe: &Path) -> Option<u32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if std::fs::read_link(format!("/proc/{parent}/exe")).is_ok_and(|e| e == exe) {
            return Some(parent);
        }
        let mut frontier = vec![parent];
        while let Some(p) = frontier.pop() {
            for c in children(p) {
                if std::fs::read_link(format!("/proc/{c}/exe")).is_ok_and(|e| e == exe) {
                    return Some(c);
                }
                frontier.push(c);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// The children of `pid`, from /proc (a kernel without /proc/PID/task/TID/children
/// makes a wrapped process unfindable, reported as such).
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|s| {
            s.split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The URL at the end of a simulator's "… listening on URL" line.
fn announced_url(line: &str) -> Result<String, BoxError> {
    line.split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| w.trim_end_matches([';', ',']).to_string())
        .ok_or_else(|| format!("no URL in {line:?}").into())
}

/// The objects of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Mix {
    connections: usize,
    telephony: usize,
    trunks: usize,
}

impl Mix {
    fn of(n: usize) -> Self {
        let trunks = n / 10;
        let connections = (n - trunks).div_ceil(2);
        Self {
            connections,
            telephony: n - trunks - connections,
            trunks,
        }
    }

    fn total(&self) -> usize {
        self.connections + self.telephony + self.trunks
    }
}

/// Provider request counts `(method, route, status) -> count` from `/_sim/requests`.
type SimCounts = HashMap<(String, String, u16), u64>;

async fn sim_counts(http: &reqwest::Client, admin: &str) -> Result<SimCounts, BoxError> {
    let v: Value = http
        .get(format!("{admin}/_sim/requests"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut out = SimCounts::new();
    for r in v["requests"].as_array().into_iter().flatten() {
        let key = (
            r["method"].as_str().unwrap_or_default().to_string(),
            r["route"].as_str().unwrap_or_default().to_string(),
            r["status"].as_u64().unwrap_or(0) as u16,
        );
        *out.entry(key).or_default() += r["count"].as_u64().unwrap_or(0);
    }
    Ok(out)
}

/// Provider calls by operation.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Calls {
    lookups: u64,
    creates: u64,
    reads: u64,
    updates: u64,
    deletes: u64,
    other: u64,
    throttled: u64,
    /// Creates answered 429 (not applied; the client retries them).
    throttled_creates: u64,
}

impl Calls {
    fn total(&self) -> u64 {
        self.lookups + self.creates + self.reads + self.updates + self.deletes + self.other
    }

    /// Classifies the difference of two snapshots: a GET of a collection is a lookup,
    /// of one object a read; POST to a collection a create; PUT/PATCH an update.
    /// 429s are counted in their operation and also as throttled.
    fn between(before: &SimCounts, after: &SimCounts) -> Self {
        let mut c = Calls::default();
        for ((method, route, status), n) in after {
            let n = n.saturating_sub(
                before
                    .get(&(method.clone(), route.clone(), *status))
                    .copied()
                    .unwrap_or(0),
            );
            if n == 0 {
                continue;
            }
            let item = route.ends_with('}');
            // A POST under an object (`{id}/token`, `{id}/actions/...`) acts on it; only
            // a POST to a collection creates.
            let create = method == "POST" && !route.contains("{id}");
            let slot = match (method.as_str(), item) {
                ("GET", false) => &mut c.lookups,
                ("GET", true) => &mut c.reads,
                ("POST", false) if create => &mut c.creates,
                ("PUT" | "PATCH", _) => &mut c.updates,
                ("DELETE", _) => &mut c.deletes,
                _ => &mut c.other,
            };
            *slot += n;
            if *status == 429 {
                c.throttled += n;
                if create {
                    c.throttled_creates += n;
                }
            }
        }
        c
    }

    /// Creates the provider acted on (a 429 is refused before it acts).
    fn applied_creates(&self) -> u64 {
        self.creates - self.throttled_creates
    }

    fn add(self, o: Calls) -> Calls {
        Calls {
            lookups: self.lookups + o.lookups,
            creates: self.creates + o.creates,
            reads: self.reads + o.reads,
            updates: self.updates + o.updates,
            deletes: self.deletes + o.deletes,
            other: self.other + o.other,
            throttled: self.throttled + o.throttled,
            throttled_creates: self.throttled_creates + o.throttled_creates,
        }
    }
}

/// `apiserver_request_total` summed by `(verb, resource/subresource)` over every other
/// label (code, scope, component, …), for the operator's resources only.
type KubeCounts = BTreeMap<(String, String), u64>;

fn parse_apiserver_metrics(text: &str) -> KubeCounts {
    let mut out = KubeCounts::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once('}') else {
            continue;
        };
        let Ok(n) = value.trim().parse::<f64>() else {
            continue;
        };
        let mut verb = String::new();
        let mut resource = String::new();
        let mut sub = String::new();
        let mut code = String::new();
        for kv in labels.split(',') {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let v = v.trim_matches('"');
            match k {
                "verb" => verb = v.to_string(),
                "resource" => resource = v.to_string(),
                "subresource" => sub = v.to_string(),
                "code" => code = v.to_string(),
                _ => {}
            }
        }
        if !OPERATOR_RESOURCES.contains(&resource.as_str()) {
            continue;
        }
        let mut res = if sub.is_empty() {
            resource
        } else {
            format!("{resource}/{sub}")
        };
        // A write that lost an optimistic-concurrency race still costs the API server a
        // request; it is counted, and shown apart.
        if code == "409" {
            res.push_str(CONFLICT_SUFFIX);
        }
        *out.entry((verb, res)).or_default() += n as u64;
    }
    out
}

async fn kube_counts(client: &Client) -> Result<KubeCounts, BoxError> {
    let req = axum::http::Request::get("/metrics").body(Vec::new())?;
    let text = client.request_text(req).await?;
    Ok(parse_apiserver_metrics(&text))
}

/// Requests by `VERB resource` as a table cell: the total, then each, or `0`.
fn counts_cell(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "0".to_string();
    }
    let each: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!("{} ({})", counts.values().sum::<u64>(), each.join(", "))
}

/// Writes between two snapshots, by `VERB resource`.
fn kube_writes(before: &KubeCounts, after: &KubeCounts) -> BTreeMap<String, u64> {
    kube_requests(before, after, WRITE_VERBS)
}

/// Reads between two snapshots, by `VERB resource`.
fn kube_reads(before: &KubeCounts, after: &KubeCounts) -> BTreeMap<String, u64> {
    kube_requests(before, after, READ_VERBS)
}

fn kube_requests(before: &KubeCounts, after: &KubeCounts, verbs: &[&str]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for ((verb, res), n) in after {
        if !verbs.contains(&verb.as_str()) {
            continue;
        }
        let d = n.saturating_sub(
            before
                .get(&(verb.clone(), res.clone()))
                .copied()
                .unwrap_or(0),
        );
        if d > 0 {
            out.insert(format!("{verb} {res}"), d);
        }
    }
    out
}

/// `getconf CLK_TCK`: the unit of utime and stime in /proc/PID/stat (100 on Linux).
fn clock_ticks_per_second() -> u64 {
    static HZ: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *HZ.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|hz| *hz > 0)
            .unwrap_or(100)
    })
}

/// Memory and CPU of one process from /proc.
#[derive(Clone, Copy, Debug, Default)]
struct ProcStat {
    rss_kib: u64,
    /// The part of `rss_kib` that is mapped files: the executable and libraries.
    file_kib: u64,
    hwm_kib: u64,
    cpu_secs: f64,
}

fn proc_stat(pid: u32) -> Option<ProcStat> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3; utime and
    // stime are fields 14 and 15.
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let hz = clock_ticks_per_second();
    Some(ProcStat {
        rss_kib: kib("VmRSS:"),
        file_kib: kib("RssFile:"),
        hwm_kib: kib("VmHWM:"),
        cpu_secs: ticks as f64 / hz as f64,
    })
}

/// The readiness of every managed object, kept by watches.
#[derive(Default)]
struct Seen {
    /// `kind/name` -> Ready is True.
    ready: HashMap<String, bool>,
    /// Objects seen Ready=False, by reason (each object once per reason).
    not_ready: BTreeMap<String, std::collections::HashSet<String>>,
    /// Set when a watch stream failed and is re-listing.
    errors: u64,
}

fn ready_condition(v: &Value) -> Option<(bool, String)> {
    let c = v["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?;
    Some((
        c["status"] == "True",
        c["reason"].as_str().unwrap_or_default().to_string(),
    ))
}

fn spawn_watch<K>(client: Client, seen: Arc<Mutex<Seen>>)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let api: Api<K> = Api::namespaced(client, NAMESPACE);
    let kind = K::kind(&()).into_owned();
    tokio::spawn(async move {
        let mut stream = watcher(api, watcher::Config::default().page_size(500)).boxed();
        let mut relist: Option<HashMap<String, bool>> = None;
        loop {
            let ev = match stream.try_next().await {
                Ok(Some(ev)) => ev,
                Ok(None) => return,
                Err(_) => {
                    lock(&seen).errors += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let mut s = lock(&seen);
            let note = |s: &mut Seen, o: &K| -> (String, bool) {
                let key = format!("{kind}/{}", o.name_any());
                let v = serde_json::to_value(o).unwrap_or_default();
                let (ready, reason) = ready_condition(&v).unwrap_or((false, String::new()));
                if !ready && !reason.is_empty() {
                    s.not_ready.entry(reason).or_default().insert(key.clone());
                }
                (key, ready)
            };
            match ev {
                watcher::Event::Init => relist = Some(HashMap::new()),
                watcher::Event::InitApply(o) => {
                    let (k, r) = note(&mut s, &o);
                    relist.get_or_insert_with(HashMap::new).insert(k, r);
                }
                watcher::Event::InitDone => {
                    let fresh = relist.take().unwrap_or_default();
                    let prefix = format!("{kind}/");
                    s.ready.retain(|k, _| !k.starts_with(&prefix));
                    s.ready.extend(fresh);
                }
                watcher::Event::Apply(o) => {
                    let (k, r) = note(&mut s, &o);
                    s.ready.insert(k, r);
                }
                watcher::Event::Delete(o) => {
                    s.ready.remove(&format!("{kind}/{}", o.name_any()));
                }
            }
        }
    });
}

fn lock(m: &Mutex<Seen>) -> std::sync::MutexGuard<'_, Seen> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Waits until `done(present, ready)`; the time it took.
async fn wait_for(
    seen: &Arc<Mutex<Seen>>,
    timeout: Duration,
    what: &str,
    done: impl Fn(usize, usize) -> bool,
) -> Result<Duration, BoxError> {
    let start = Instant::now();
    loop {
        let (present, ready) = {
            let s = lock(seen);
            (s.ready.len(), s.ready.values().filter(|r| **r).count())
        };
        if done(present, ready) {
            return Ok(start.elapsed());
        }
        if start.elapsed() > timeout {
            let s = lock(seen);
            let reasons: Vec<String> = s
                .not_ready
                .iter()
                .map(|(r, o)| format!("{r}: {}", o.len()))
                .collect();
            return Err(format!(
                "timed out after {} s waiting for {what}: {present} present, {ready} Ready; Ready=False seen: {}",
                timeout.as_secs(),
                if reasons.is_empty() { "none".to_string() } else { reasons.join(", ") }
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Everything one run measured.
struct Report {
    n: usize,
    mix: Mix,
    rps: u32,
    latency_ms: u64,
    apiserver: ApiServer,
    resync: Duration,
    ready_in: Duration,
    bound: Duration,
    calls: Calls,
    writes: BTreeMap<String, u64>,
    reads: BTreeMap<String, u64>,
    steady_window: Duration,
    steady_writes: BTreeMap<String, u64>,
    steady_kube_reads: BTreeMap<String, u64>,
    steady_calls: Calls,
    /// name -> (before the operator, all Ready, after steady state, all deleted)
    procs: Vec<(&'static str, [ProcStat; 4])>,
    /// `None` with `--skip-delete`.
    deleted_in: Option<Duration>,
    delete_calls: Calls,
    left: Option<u64>,
    not_ready: Vec<(String, usize)>,
}

impl Report {
    fn ratio(&self) -> f64 {
        self.ready_in.as_secs_f64() / self.bound.as_secs_f64().max(1e-9)
    }

    fn per_object(&self, v: u64) -> f64 {
        v as f64 / self.n as f64
    }

    fn kube_writes(&self) -> u64 {
        self.writes.values().sum()
    }

    fn kube_conflicts(&self) -> u64 {
        self.writes
            .iter()
            .filter(|(k, _)| k.ends_with(CONFLICT_SUFFIX))
            .map(|(_, v)| v)
            .sum()
    }

    fn steady_reads_per_resync(&self) -> u64 {
        let reads = self.steady_calls.reads + self.steady_calls.lookups;
        let scale = self.resync.as_secs_f64() / self.steady_window.as_secs_f64().max(1e-9);
        (reads as f64 * scale).round() as u64
    }

    fn operator_rss_mib(&self) -> f64 {
        self.procs
            .iter()
            .find(|(n, _)| *n == "operator")
            .map_or(0.0, |(_, s)| s[3].hwm_kib as f64 / 1024.0)
    }

    fn table(&self) -> String {
        use std::fmt::Write as _;
        let mut t = String::new();
        let m = self.mix;
        let _ = writeln!(
            t,
            "\n## {} objects ({} SipConnections, {} TelephonyCredentials, {} TrunkCredentials); provider rate limit {} req/s per account, latency {} ms; API server: {}",
            self.n,
            m.connections,
            m.telephony,
            m.trunks,
            self.rps,
            self.latency_ms,
            match self.apiserver {
                ApiServer::Sim => "sim kube",
                ApiServer::Real => "real",
            }
        );
        let _ = writeln!(t);
        let _ = writeln!(t, "| figure | value |");
        let _ = writeln!(t, "|---|---|");
        let row = |t: &mut String, k: &str, v: String| {
            let _ = writeln!(t, "| {k} | {v} |");
        };
        row(
            &mut t,
            "time to all Ready",
            format!("{:.2} s", self.ready_in.as_secs_f64()),
        );
        row(
            &mut t,
            "bound: creates / R (busiest account)",
            format!(
                "{:.2} s ({} Telnyx creates at {} req/s)",
                self.bound.as_secs_f64(),
                m.connections + m.telephony,
                self.rps
            ),
        );
        row(&mut t, "**ratio**", format!("**{:.2}**", self.ratio()));
        let c = self.calls;
        row(
            &mut t,
            "provider calls per object (lookups / creates / reads / updates / other)",
            format!(
                "{:.2} / {:.2} / {:.2} / {:.2} / {:.2}",
                self.per_object(c.lookups),
                self.per_object(c.creates),
                self.per_object(c.reads),
                self.per_object(c.updates),
                self.per_object(c.other + c.deletes),
            ),
        );
        row(
            &mut t,
            "provider calls per object (total)",
            format!("{:.2}", self.per_object(c.total())),
        );
        row(
            &mut t,
            "provider creates per object",
            format!("{:.3}", self.per_object(c.applied_creates())),
        );
        row(&mut t, "provider 429 answers", format!("{}", c.throttled));
        let detail: Vec<String> = self
            .writes
            .iter()
            .map(|(k, v)| format!("{k} {:.2}", self.per_object(*v)))
            .collect();
        row(
            &mut t,
            "Kubernetes writes per object",
            format!(
                "{:.2} ({})",
                self.per_object(self.kube_writes()),
                detail.join(", ")
            ),
        );
        row(
            &mut t,
            "of which refused with 409 Conflict, per object",
            format!("{:.2}", self.per_object(self.kube_conflicts())),
        );
        let reads: u64 = self.reads.values().sum();
        let detail: Vec<String> = self
            .reads
            .iter()
            .map(|(k, v)| format!("{k} {:.2}", self.per_object(*v)))
            .collect();
        row(
            &mut t,
            "Kubernetes reads (GET, LIST) per object",
            format!("{:.2} ({})", self.per_object(reads), detail.join(", ")),
        );
        if !self.not_ready.is_empty() {
            let r: Vec<String> = self
                .not_ready
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            row(&mut t, "objects seen Ready=False, by reason", r.join(", "));
        }
        row(
            &mut t,
            &format!(
                "steady state ({} s window, resync {} s): Kubernetes writes",
                self.steady_window.as_secs(),
                self.resync.as_secs()
            ),
            counts_cell(&self.steady_writes),
        );
        row(
            &mut t,
            "steady state: Kubernetes reads (GET, LIST)",
            counts_cell(&self.steady_kube_reads),
        );
        row(
            &mut t,
            "steady state: provider reads per resync interval",
            format!(
                "{} ({:.2} per object; {} lookups, {} reads in the window)",
                self.steady_reads_per_resync(),
                self.per_object(self.steady_reads_per_resync()),
                self.steady_calls.lookups,
                self.steady_calls.reads
            ),
        );
        match (self.deleted_in, self.left) {
            (Some(d), Some(left)) => {
                row(
                    &mut t,
                    "time to delete all",
                    format!(
                        "{:.2} s (bound {:.2} s; {:.2} provider calls per object)",
                        d.as_secs_f64(),
                        self.bound.as_secs_f64(),
                        self.per_object(self.delete_calls.total())
                    ),
                );
                row(&mut t, "provider objects left", format!("{left}"));
            }
            _ => row(
                &mut t,
                "time to delete all",
                "not run (--skip-delete)".into(),
            ),
        }
        let _ = writeln!(t);
        let _ = writeln!(
            t,
            "| process | peak RSS MiB | steady RSS MiB | of it mapped files MiB | CPU s to Ready | CPU s steady | CPU s delete |"
        );
        let _ = writeln!(t, "|---|---|---|---|---|---|---|");
        for (name, s) in &self.procs {
            let _ = writeln!(
                t,
                "| {name} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} |",
                s[3].hwm_kib as f64 / 1024.0,
                s[2].rss_kib as f64 / 1024.0,
                s[2].file_kib as f64 / 1024.0,
                s[1].cpu_secs - s[0].cpu_secs,
                s[2].cpu_secs - s[1].cpu_secs,
                s[3].cpu_secs - s[2].cpu_secs,
            );
        }
        let _ = writeln!(t);
        t
    }

    fn summary(&self) -> String {
        format!(
            "bench: objects={} rps={} ratio={:.2} creates_per_object={:.3} provider_calls_per_object={:.2} kube_writes_per_object={:.2} kube_conflicts_per_object={:.2} steady_writes={} steady_reads_per_resync={} operator_rss_mib={:.1} left={}",
            self.n,
            self.rps,
            self.ratio(),
            self.per_object(self.calls.applied_creates()),
            self.per_object(self.calls.total()),
            self.per_object(self.kube_writes()),
            self.per_object(self.kube_conflicts()),
            self.steady_writes.values().sum::<u64>(),
            self.steady_reads_per_resync(),
            self.operator_rss_mib(),
            self.left
                .map_or_else(|| "skipped".to_string(), |l| l.to_string())
        )
    }
}

async fn client_for(kubeconfig: &Path) -> Result<Client, BoxError> {
    let kc = Kubeconfig::read_from(kubeconfig)?;
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    cfg.read_timeout = Some(Duration::from_secs(300));
    Ok(Client::try_from(cfg)?)
}

async fn wait_for_file(path: &Path, timeout: Duration) -> Result<(), BoxError> {
    let start = Instant::now();
    while !path.exists() {
        if start.elapsed() > timeout {
            return Err(format!("{} did not appear within {timeout:?}", path.display()).into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

async fn bench_one(
    args: &BenchArgs,
    n: usize,
    exe: &Path,
    dir: &Path,
    world: &mut World,
) -> Result<Report, BoxError> {
    let mix = Mix::of(n);
    let rps = args.rps;
    // The busiest account (Telnyx) needs this many creates at R per second.
    let bound = Duration::from_secs_f64((mix.connections + mix.telephony) as f64 / f64::from(rps));
    let timeout = Duration::from_secs(
        args.timeout_secs
            .unwrap_or(120 + 20 * bound.as_secs().max(1)),
    );

    // 1. The API server.
    let kubeconfig = match args.apiserver {
        ApiServer::Sim => {
            let kc = dir.join("kubeconfig");
            let a = vec![
                "sim".into(),
                "kube".into(),
                "--listen".into(),
                "127.0.0.1:0".into(),
                "--kubeconfig".into(),
                kc.display().to_string(),
            ];
            spawn(world, "kube-sim", exe, &a, &[], dir, Some("listening on")).await?;
            kc
        }
        ApiServer::Real => {
            let kc = args
                .kubeconfig
                .clone()
                .ok_or("--apiserver real needs --kubeconfig")?;
            if let Some(bin) = &args.testenv_bin {
                let _ = std::fs::remove_file(&kc);
                let a = vec!["--kubeconfig".into(), kc.display().to_string()];
                spawn(world, "testenv", bin, &a, &[], dir, None).await?;
                wait_for_file(&kc, Duration::from_secs(180)).await?;
            }
            kc
        }
    };
    let client = client_for(&kubeconfig).await?;

    // 2. The provider simulators, rate-limited and slowed like a provider seen from a
    // cluster.
    let common = |mut a: Vec<String>| {
        a.extend([
            "--rate-limit-rps".into(),
            rps.to_string(),
            "--latency-ms".into(),
            args.latency_ms.to_string(),
        ]);
        a
    };
    let line = spawn(
        world,
        "telnyx-sim",
        exe,
        &common(vec![
            "sim".into(),
            "telnyx".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--api-key".into(),
            TELNYX_KEY.into(),
            "--max-connections".into(),
            (n + 100).to_string(),
            "--max-credentials-per-tag".into(),
            (n + 100).to_string(),
        ]),
        &[],
        dir,
        Some("listening on"),
    )
    .await?
    .unwrap_or_default();
    let telnyx_url = announced_url(&line)?;
    let line = spawn(
        world,
        "vobiz-sim",
        exe,
        &common(vec![
            "sim".into(),
            "vobiz".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--auth-id".into(),
            VOBIZ_ID.into(),
            "--auth-token".into(),
            VOBIZ_TOKEN.into(),
        ]),
        &[],
        dir,
        Some("listening on"),
    )
    .await?
    .unwrap_or_default();
    let vobiz_url = announced_url(&line)?;
    let admin = |base: &str| {
        base.trim_end_matches("/v2")
            .trim_end_matches("/api/v1")
            .to_string()
    };
    let (telnyx_admin, vobiz_admin) = (admin(&telnyx_url), admin(&vobiz_url));

    // 3. CRDs, the namespace, the provider accounts, then the N objects (the operator
    // is not running yet, so every run starts from the same backlog).
    install(&client, &telnyx_url, &vobiz_url, rps).await?;
    create_objects(&client, mix).await?;

    let seen = Arc::new(Mutex::new(Seen::default()));
    spawn_watch::<SipConnection>(client.clone(), seen.clone());
    spawn_watch::<TelephonyCredential>(client.clone(), seen.clone());
    spawn_watch::<TrunkCredential>(client.clone(), seen.clone());
    wait_for(
        &seen,
        timeout,
        "the watches to list every object",
        |p, _| p == n,
    )
    .await?;

    let http = reqwest::Client::new();
    let snap = || async {
        Ok::<_, BoxError>((
            sim_counts(&http, &telnyx_admin).await?,
            sim_counts(&http, &vobiz_admin).await?,
            kube_counts(&client).await?,
        ))
    };
    let (t0, v0, k0) = snap().await?;

    let names = ["operator", "kube-sim", "telnyx-sim", "vobiz-sim"];
    let stats = |w: &World| -> Vec<(&'static str, ProcStat)> {
        names
            .iter()
            .filter_map(|n| Some((*n, proc_stat(w.pid(n)?)?)))
            .collect()
    };
    let s_start = stats(world);

    // 4. The operator, alone in its process.
    let mut run_args: Vec<String> = vec![
        "run".into(),
        "--namespace".into(),
        NAMESPACE.into(),
        "--metrics-addr".into(),
        "127.0.0.1:0".into(),
        "--health-addr".into(),
        "127.0.0.1:0".into(),
        "--resync-secs".into(),
        args.resync_secs.to_string(),
        // The simulators listen on loopback, which only an explicit allowance opens.
        "--allowed-provider-hosts".into(),
        "127.0.0.1".into(),
    ];
    if let Some(c) = args.concurrency {
        run_args.extend(["--concurrency".into(), c.to_string()]);
    }
    let wrapper: Vec<String> = args
        .operator_wrapper
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    spawn_wrapped(
        world,
        "operator",
        &wrapper,
        exe,
        &run_args,
        &[("KUBECONFIG", &kubeconfig)],
        dir,
        None,
    )
    .await?;
    let ready_in = wait_for(&seen, timeout, "all Ready", |p, r| p == n && r == n).await?;
    let (t1, v1, k1) = snap().await?;
    let s_ready = stats(world);

    // 5. Steady state: one resync interval with nothing changing, after the last
    // status writes have settled.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (t2, v2, k2) = snap().await?;
    let window = Duration::from_secs(args.resync_secs);
    tokio::time::sleep(window).await;
    let (t3, v3, k3) = snap().await?;
    let s_steady = stats(world);

    // 6. Delete everything.
    let (deleted_in, t4, v4, s_deleted, left) = if args.skip_delete {
        (None, t3.clone(), v3.clone(), s_steady.clone(), None)
    } else {
        let deleting = Instant::now();
        delete_objects(&client, mix).await?;
        wait_for(&seen, timeout, "every object to be deleted", |p, _| p == 0).await?;
        let deleted_in = deleting.elapsed();
        let (t4, v4, _) = snap().await?;
        let s_deleted = stats(world);
        let left = provider_objects(&http, &telnyx_admin, &vobiz_admin).await?;
        (Some(deleted_in), t4, v4, s_deleted, Some(left))
    };

    // CPU is cumulative since each process started: phases are differences, the
    // first from just before the operator started (which counts as 0).
    let procs = names
        .iter()
        .filter_map(|name| {
            let get = |v: &Vec<(&'static str, ProcStat)>| {
                v.iter().find(|(n, _)| n == name).map(|(_, s)| *s)
            };
            let start = get(&s_start).unwrap_or_default();
            Some((
                *name,
                [start, get(&s_ready)?, get(&s_steady)?, get(&s_deleted)?],
            ))
        })
        .collect();
    let not_ready = lock(&seen)
        .not_ready
        .iter()
        .map(|(r, o)| (r.clone(), o.len()))
        .collect();
    Ok(Report {
        n,
        mix,
        rps,
        latency_ms: args.latency_ms,
        apiserver: args.apiserver,
        resync: Duration::from_secs(args.resync_secs),
        ready_in,
        bound,
        calls: Calls::between(&t0, &t1).add(Calls::between(&v0, &v1)),
        writes: kube_writes(&k0, &k1),
        reads: kube_reads(&k0, &k1),
        steady_window: window,
        steady_writes: kube_writes(&k2, &k3),
        steady_kube_reads: kube_reads(&k2, &k3),
        steady_calls: Calls::between(&t2, &t3).add(Calls::between(&v2, &v3)),
        procs,
        deleted_in,
        delete_calls: Calls::between(&t3, &t4).add(Calls::between(&v3, &v4)),
        left,
        not_ready,
    })
}

async fn install(
    client: &Client,
    telnyx_url: &str,
    vobiz_url: &str,
    rps: u32,
) -> Result<(), BoxError> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let pp = PatchParams::apply("sipcred-bench").force();
    for c in crd::all() {
        crds.patch(&c.name_any(), &pp, &Patch::Apply(&c)).await?;
    }
    for c in crd::all() {
        let name = c.name_any();
        let start = Instant::now();
        loop {
            let est = crds
                .get(&name)
                .await?
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if est {
                break;
            }
            if start.elapsed() > Duration::from_secs(60) {
                return Err(format!("CRD {name} not Established within 60 s").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let nss: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NAMESPACE}}))?;
    nss.patch(NAMESPACE, &pp, &Patch::Apply(&ns)).await?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    for (name, data) in [
        ("telnyx-key", json!({"apiKey": TELNYX_KEY})),
        (
            "vobiz-credentials",
            json!({"authID": VOBIZ_ID, "authToken": VOBIZ_TOKEN}),
        ),
    ] {
        let s: Secret = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "stringData": data,
        }))?;
        secrets.create(&PostParams::default(), &s).await?;
    }
    let providers: Api<SipProvider> = Api::namespaced(client.clone(), NAMESPACE);
    let rate = json!({"requestsPerSecond": rps, "burst": rps});
    for p in [
        json!({"metadata": {"name": "telnyx"}, "spec": {"telnyx": {"apiKeySecretRef": {"name": "telnyx-key"}, "baseURL": telnyx_url}, "rateLimit": rate}}),
        json!({"metadata": {"name": "vobiz"}, "spec": {"vobiz": {"credentialsSecretRef": {"name": "vobiz-credentials"}, "baseURL": vobiz_url}, "rateLimit": rate}}),
    ] {
        providers
            .create(&PostParams::default(), &serde_json::from_value(p)?)
            .await?;
    }
    Ok(())
}

/// The manifests of one run: `c…` SipConnections, `t…` TelephonyCredentials (each on
/// a SipConnection), `k…` TrunkCredentials.
fn manifests(mix: Mix) -> Vec<(&'static str, String, Value)> {
    let mut out = Vec::with_capacity(mix.total());
    for i in 0..mix.connections {
        let name = format!("c{i:05}");
        out.push((
            "SipConnection",
            name.clone(),
            json!({"metadata": {"name": name}, "spec": {"providerRef": {"name": "telnyx"}, "userName": format!("bench{i:06}")}}),
        ));
    }
    for i in 0..mix.telephony {
        let name = format!("t{i:05}");
        out.push((
            "TelephonyCredential",
            name.clone(),
            json!({"metadata": {"name": name}, "spec": {"providerRef": {"name": "telnyx"}, "sipConnectionRef": {"name": format!("c{:05}", i % mix.connections.max(1))}}}),
        ));
    }
    for i in 0..mix.trunks {
        let name = format!("k{i:05}");
        out.push((
            "TrunkCredential",
            name.clone(),
            json!({"metadata": {"name": name}, "spec": {"providerRef": {"name": "vobiz"}, "username": format!("trunk{i:06}")}}),
        ));
    }
    out
}

async fn create_objects(client: &Client, mix: Mix) -> Result<(), BoxError> {
    let conns: Api<SipConnection> = Api::namespaced(client.clone(), NAMESPACE);
    let tcs: Api<TelephonyCredential> = Api::namespaced(client.clone(), NAMESPACE);
    let trunks: Api<TrunkCredential> = Api::namespaced(client.clone(), NAMESPACE);
    let pp = PostParams::default();
    futures::stream::iter(manifests(mix))
        .map(|(kind, _, body)| {
            let (conns, tcs, trunks, pp) = (&conns, &tcs, &trunks, &pp);
            async move {
                match kind {
                    "SipConnection" => {
                        conns.create(pp, &serde_json::from_value(body)?).await?;
                    }
                    "TelephonyCredential" => {
                        tcs.create(pp, &serde_json::from_value(body)?).await?;
                    }
                    _ => {
                        trunks.create(pp, &serde_json::from_value(body)?).await?;
                    }
                }
                Ok::<_, BoxError>(())
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

async fn delete_objects(client: &Client, mix: Mix) -> Result<(), BoxError> {
    let conns: Api<SipConnection> = Api::namespaced(client.clone(), NAMESPACE);
    let tcs: Api<TelephonyCredential> = Api::namespaced(client.clone(), NAMESPACE);
    let trunks: Api<TrunkCredential> = Api::namespaced(client.clone(), NAMESPACE);
    let dp = DeleteParams::default();
    futures::stream::iter(manifests(mix))
        .map(|(kind, name, _)| {
            let (conns, tcs, trunks, dp) = (&conns, &tcs, &trunks, &dp);
            async move {
                let r = match kind {
                    "SipConnection" => conns.delete(&name, dp).await.map(|_| ()),
                    "TelephonyCredential" => tcs.delete(&name, dp).await.map(|_| ()),
                    _ => trunks.delete(&name, dp).await.map(|_| ()),
                };
                match r {
                    Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
                    other => other.map_err(BoxError::from),
                }
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// Provider objects still at the simulators: credential connections, telephony
/// credentials and Vobiz credentials.
async fn provider_objects(
    http: &reqwest::Client,
    telnyx_admin: &str,
    vobiz_admin: &str,
) -> Result<u64, BoxError> {
    let mut left = 0;
    for (admin, lists) in [
        (
            telnyx_admin,
            &["credential_connections", "telephony_credentials"][..],
        ),
        (vobiz_admin, &["credentials"][..]),
    ] {
        let state: Value = http
            .get(format!("{admin}/_sim/state"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        for l in lists {
            left += state[*l].as_array().map_or(0, |a| a.len() as u64);
        }
    }
    Ok(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_mostly_connections_and_telephony_credentials() {
        let cases = [
            (
                "ten",
                10,
                Mix {
                    connections: 5,
                    telephony: 4,
                    trunks: 1,
                },
            ),
            (
                "a thousand",
                1000,
                Mix {
                    connections: 450,
                    telephony: 450,
                    trunks: 100,
                },
            ),
            (
                "one",
                1,
                Mix {
                    connections: 1,
                    telephony: 0,
                    trunks: 0,
                },
            ),
        ];
        for (name, n, want) in cases {
            assert_eq!(Mix::of(n), want, "{name}");
            assert_eq!(Mix::of(n).total(), n, "{name}");
        }
    }

    #[test]
    fn provider_calls_are_classified_by_method_and_route() {
        let before =
            SimCounts::from([(("GET".into(), "/v2/credential_connections".into(), 200), 5)]);
        let after = SimCounts::from([
            (("GET".into(), "/v2/credential_connections".into(), 200), 7),
            (("POST".into(), "/v2/credential_connections".into(), 201), 3),
            (("POST".into(), "/v2/credential_connections".into(), 429), 1),
            (
                ("GET".into(), "/v2/credential_connections/{id}".into(), 200),
                4,
            ),
            (
                (
                    "PATCH".into(),
                    "/v2/credential_connections/{id}".into(),
                    200,
                ),
                1,
            ),
            (
                (
                    "PUT".into(),
                    "/api/v1/Account/{auth_id}/credentials/{id}".into(),
                    200,
                ),
                1,
            ),
            (
                (
                    "DELETE".into(),
                    "/v2/telephony_credentials/{id}".into(),
                    200,
                ),
                2,
            ),
            (
                (
                    "POST".into(),
                    "/v2/telephony_credentials/{id}/token".into(),
                    201,
                ),
                1,
            ),
        ]);
        let c = Calls::between(&before, &after);
        assert_eq!(
            c,
            Calls {
                lookups: 2,
                creates: 4,
                reads: 4,
                updates: 2,
                deletes: 2,
                other: 1,
                throttled: 1,
                throttled_creates: 1
            }
        );
        assert_eq!(c.total(), 15);
        assert_eq!(c.applied_creates(), 3);
    }

    #[test]
    fn apiserver_metrics_are_summed_over_other_labels_for_operator_resources() {
        let text = r#"# TYPE apiserver_request_total counter
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="APPLY",version="v1"} 3
apiserver_request_total{code="409",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="APPLY",version="v1"} 1
apiserver_request_total{code="200",group="sipcred.io",resource="sipconnections",subresource="status",verb="PATCH"} 2
apiserver_request_total{code="200",group="coordination.k8s.io",resource="leases",subresource="",verb="PUT"} 99
apiserver_request_total{code="200",group="",resource="secrets",subresource="",verb="WATCH"} 4
"#;
        let k0 = parse_apiserver_metrics(text);
        assert_eq!(k0.get(&("APPLY".into(), "secrets".into())), Some(&3));
        assert_eq!(k0.get(&("APPLY".into(), "secrets (409)".into())), Some(&1));
        assert!(!k0.keys().any(|(_, r)| r == "leases"));
        let w = kube_writes(&KubeCounts::new(), &k0);
        assert_eq!(
            w,
            BTreeMap::from([
                ("APPLY secrets".to_string(), 3),
                ("APPLY secrets (409)".to_string(), 1),
                ("PATCH sipconnections/status".to_string(), 2)
            ])
        );
        assert!(kube_writes(&k0, &k0).is_empty());
    }

    #[test]
    fn proc_stat_reads_this_process() {
        let s = proc_stat(std::process::id());
        assert!(s.is_some_and(|s| s.rss_kib > 0 && s.hwm_kib >= s.rss_kib));
    }

    #[test]
    fn announced_urls_are_found() {
        assert_eq!(
            announced_url("telnyx simulator listening on http://127.0.0.1:4000/v2").ok(),
            Some("http://127.0.0.1:4000/v2".to_string())
        );
        assert_eq!(
            announced_url("kube API server listening on http://127.0.0.1:1; kubeconfig at x").ok(),
            Some("http://127.0.0.1:1".to_string())
        );
    }
}
