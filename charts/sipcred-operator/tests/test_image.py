"""The Dockerfile builds the image the chart runs: multi-stage, distroless, non-root
uid 65532 (the chart's runAsUser), ENTRYPOINT /sipcred-operator (the chart's command),
CMD run. Parsed with BuildKit's own parser (PyPI `dockerfile`); no Docker engine here."""
import fnmatch

import dockerfile
import pytest

from conftest import ROOT, one, render

COMMANDS = dockerfile.parse_file(str(ROOT / "Dockerfile"))


def stages():
    out, current = [], None
    for c in COMMANDS:
        if c.cmd == "FROM":
            current = {"from": c.value, "commands": []}
            out.append(current)
        elif current is not None:
            current["commands"].append(c)
    return out


def final(cmd):
    found = [c for c in stages()[-1]["commands"] if c.cmd == cmd]
    assert found, f"no {cmd} in the final stage"
    return found[-1]


def test_multi_stage_rust_builder_then_distroless():
    s = stages()
    assert len(s) == 2
    assert s[0]["from"][0].startswith("rust:") and s[0]["from"][0].endswith("-bookworm")
    assert s[0]["from"][1:] == ("AS", "builder")
    assert s[1]["from"] == ("gcr.io/distroless/cc-debian12:nonroot",)
    runs = " ".join(v for c in s[0]["commands"] if c.cmd == "RUN" for v in c.value)
    assert "cargo build --release --locked" in runs
    copies = [c for c in s[1]["commands"] if c.cmd == "COPY"]
    assert [c.flags for c in copies] == [("--from=builder",)]


def test_runs_as_the_charts_user_and_command():
    deployment = one(render({}), "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    uid = deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
    assert final("USER").value == (f"{uid}:{uid}",)
    entrypoint = final("ENTRYPOINT")
    assert entrypoint.json and list(entrypoint.value) == container["command"] == ["/sipcred-operator"]
    cmd = final("CMD")
    assert cmd.json and cmd.value == ("run",) and container["args"][0] == "run"


def ignored(path, patterns):
    result = False
    for p in patterns:
        neg = p.startswith("!")
        p = p.lstrip("!")
        if fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p + "/*") or path.startswith(p.rstrip("/") + "/"):
            result = not neg
    return result


@pytest.mark.parametrize("path", ["Cargo.toml", "Cargo.lock", "src/main.rs", "sim/kube/Cargo.toml", "crds/sipconnections.sipcred.io.yaml"])
def test_dockerignore_keeps_the_build_inputs(path):
    patterns = [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert not ignored(path, patterns)
    assert (ROOT / path).exists()


def test_dockerignore_drops_target_and_git():
    patterns = [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]
    for path in ("target/release/sipcred-operator", ".git/HEAD", "charts/sipcred-operator/Chart.yaml"):
        assert ignored(path, patterns), path
