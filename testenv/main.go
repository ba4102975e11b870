// Command testenv runs a real Kubernetes control plane on loopback for the tests of
// sipcred-operator: etcd (embedded), kube-apiserver and kube-controller-manager, all
// built from the official modules at the pinned release.
//
//	testenv --kubeconfig PATH [--log-dir DIR] [--audit-log PATH] [--exit-with-parent] [--remove-on-exit DIR]
//
// The kubeconfig is written only once /readyz answers 200, with the admin identity
// (a client certificate in system:masters) as its current context and two unprivileged
// token users, "alice" and "bob", as extra contexts. On SIGTERM or SIGINT everything is
// stopped and the temporary files (and the kubeconfig) are removed.
//
// The API server and the controller manager run as child processes of this same binary
// (argv[1] names the component): each keeps its process-wide globals (feature gates,
// flags, logging) to itself exactly as on a cluster, and each is started with the same
// command line a cluster would give it.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

// Controllers that make owner references, namespaces and service-account tokens behave
// as on a cluster; the rest need nodes, pods or clouds that this world does not have.
var controllers = []string{
	"garbage-collector-controller",
	"namespace-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"clusterrole-aggregation-controller",
	"root-ca-certificate-publisher-controller",
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "kube-apiserver":
			runComponent(apiserver.NewAPIServerCommand().Execute, os.Args[2:])
		case "kube-controller-manager":
			runComponent(controllermanager.NewControllerManagerCommand().Execute, os.Args[2:])
		}
	}
	kubeconfig := flag.String("kubeconfig", "", "where to write the admin kubeconfig once the API server is ready (required)")
	logDir := flag.String("log-dir", "", "keep the components' logs here (default: a temporary directory removed on exit)")
	exitWithParent := flag.Bool("exit-with-parent", false, "stop when the process that started this one exits")
	auditLog := flag.String("audit-log", "", "write the API server's audit log (JSON lines, Metadata level) here")
	removeOnExit := flag.String("remove-on-exit", "", "remove this directory (the caller's kubeconfig, logs and audit log) once everything has stopped, for a caller that cannot clean up after itself")
	flag.Parse()
	// Whoever started this process may stop reading its output once it is ready; a
	// write to that closed pipe must fail quietly, not kill this process before it has
	// stopped its components and removed its files.
	signal.Ignore(syscall.SIGPIPE)
	if *kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "testenv: --kubeconfig PATH is required")
		os.Exit(2)
	}
	err := run(*kubeconfig, *logDir, *auditLog, *exitWithParent)
	if *removeOnExit != "" {
		_ = os.RemoveAll(*removeOnExit)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		os.Exit(1)
	}
}

// runComponent runs one component's cobra command in this process and exits with its
// result; os.Args is reset so the command parses only its own flags.
func runComponent(execute func() error, args []string) {
	os.Args = append([]string{os.Args[1]}, args...)
	if err := execute(); err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

func run(kubeconfig, logDir, auditLog string, exitWithParent bool) error {
	kubeconfig, err := filepath.Abs(kubeconfig)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "sipcred-testenv-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if logDir == "" {
		logDir = dir
	} else if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}

	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, apiPort := ports[0], ports[1], ports[2]
	apiURL := fmt.Sprintf("https://127.0.0.1:%d", apiPort)

	pki, err := writePKI(filepath.Join(dir, "pki"))
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}

	etcd, err := startEtcd(filepath.Join(dir, "etcd"), etcdClient, etcdPeer)
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	defer etcd.Close()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if exitWithParent {
		ctx = untilParentExits(ctx)
	}

	apiArgs := []string{
		"--etcd-servers=" + fmt.Sprintf("http://127.0.0.1:%d", etcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", apiPort),
		"--cert-dir=" + filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file=" + pki.serverCert,
		"--tls-private-key-file=" + pki.serverKey,
		"--client-ca-file=" + pki.caCert,
		"--authorization-mode=Node,RBAC",
		"--token-auth-file=" + pki.tokens,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + pki.saKey,
		"--service-account-signing-key-file=" + pki.saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		// The kubernetes Service's endpoints would be 127.0.0.1, which Endpoints
		// validation refuses; nothing in this world dials the Service.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--v=0",
	}
	if auditLog != "" {
		policy := filepath.Join(dir, "audit-policy.yaml")
		if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
			return err
		}
		// Blocking mode writes each event before the response, so a test reading the
		// log after its requests sees all of them.
		apiArgs = append(apiArgs,
			"--audit-policy-file="+policy,
			"--audit-log-path="+auditLog,
			"--audit-log-format=json",
			"--audit-log-mode=blocking",
		)
	}
	apiCmd, err := startChild(ctx, "kube-apiserver", apiArgs, logDir)
	if err != nil {
		return err
	}
	defer stopChild(apiCmd)

	if err := waitReady(ctx, apiURL, pki, apiCmd); err != nil {
		return err
	}

	kcmConfig := filepath.Join(dir, "controller-manager.kubeconfig")
	if err := writeKubeconfig(kcmConfig, apiURL, pki, pki.kcmCert, pki.kcmKey); err != nil {
		return err
	}
	kcmArgs := []string{
		"--kubeconfig=" + kcmConfig,
		"--controllers=" + strings.Join(controllers, ","),
		"--service-account-private-key-file=" + pki.saKey,
		"--root-ca-file=" + pki.caCert,
		"--use-service-account-credentials=false",
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--profiling=false",
		"--v=0",
	}
	kcmCmd, err := startChild(ctx, "kube-controller-manager", kcmArgs, logDir)
	if err != nil {
		return err
	}
	defer stopChild(kcmCmd)

	if err := writeKubeconfig(kubeconfig, apiURL, pki, pki.adminCert, pki.adminKey); err != nil {
		return err
	}
	defer os.Remove(kubeconfig)
	fmt.Printf("testenv: kube-apiserver %s ready (etcd 127.0.0.1:%d, logs in %s)\n", apiURL, etcdClient, logDir)
	fmt.Printf("testenv: kubeconfig %s\n", kubeconfig)

	select {
	case <-ctx.Done():
		fmt.Println("testenv: stopping")
		return nil
	case err := <-apiCmd.exited:
		return fmt.Errorf("kube-apiserver exited: %v\n%s", err, tail(apiCmd.log, 40))
	case err := <-kcmCmd.exited:
		return fmt.Errorf("kube-controller-manager exited: %v\n%s", err, tail(kcmCmd.log, 40))
	case <-etcd.Err():
		return errors.New("etcd stopped")
	}
}

// Who asked for what and what they got, without bodies: what least-privilege tests read.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
`

func startEtcd(dir string, clientPort, peerPort int) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = "testenv"
	cfg.Dir = dir
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{filepath.Join(filepath.Dir(dir), "etcd.log")}
	// A test world is thrown away on exit: durability buys nothing and fsync would
	// make every write wait for the disk.
	cfg.UnsafeNoFsync = true
	client := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", clientPort)}
	peer := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", peerPort)}
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, errors.New("not ready after 60 s")
	}
}

type child struct {
	cmd    *exec.Cmd
	log    string
	exited chan error
}

func startChild(ctx context.Context, name string, args []string, logDir string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, append([]string{name}, args...)...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// The components must not outlive this process, whatever ends it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c := &child{cmd: cmd, log: logPath, exited: make(chan error, 1)}
	go func() {
		c.exited <- cmd.Wait()
		logFile.Close()
	}()
	return c, nil
}

// stopChild asks for a graceful stop and kills the component if it takes too long.
func stopChild(c *child) {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

func waitReady(ctx context.Context, apiURL string, pki *pkiFiles, api *child) error {
	cert, err := tls.LoadX509KeyPair(pki.adminCert, pki.adminKey)
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(pki.caCert)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	httpClient := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}},
	}
	deadline := time.After(3 * time.Minute)
	for {
		resp, err := httpClient.Get(apiURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.New("stopped before the API server was ready")
		case err := <-api.exited:
			api.exited <- err
			return fmt.Errorf("kube-apiserver exited before it was ready: %v\n%s", err, tail(api.log, 40))
		case <-deadline:
			return fmt.Errorf("kube-apiserver not ready after 3 minutes\n%s", tail(api.log, 40))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// untilParentExits returns a context that ends when this process is re-parented, which
// is how a child learns that whoever started it (a test binary) has gone.
func untilParentExits(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	parent := os.Getppid()
	go func() {
		for ctx.Err() == nil {
			if os.Getppid() != parent {
				cancel()
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
	return ctx
}

func freePorts(n int) ([]int, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
