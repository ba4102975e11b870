#!/usr/bin/env python3
"""Optional check: the official Telnyx Python SDK, with strict response validation,
parses every response of the Telnyx simulator and maps its errors to typed exceptions.

Run (not part of `cargo test`):

    cargo build --release -p sipcred-provider-sim --example sim
    python3 -m venv /tmp/tvenv && /tmp/tvenv/bin/pip install telnyx
    /tmp/tvenv/bin/python sim/providers/tests/sdk_check.py target/release/examples/sim

or against a simulator that is already running:

    TELNYX_SIM_URL=http://127.0.0.1:PORT/v2 TELNYX_SIM_KEY=KEY python sdk_check.py
"""

import base64
import json
import os
import subprocess
import sys

import telnyx

KEY = os.environ.get("TELNYX_SIM_KEY", "KEYsdkcheck")


def start_sim(binary):
    proc = subprocess.Popen(
        [binary, "telnyx", "--api-key", KEY, "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip()
    # "telnyx simulator listening on http://127.0.0.1:PORT/v2"
    return proc, line.rsplit(" ", 1)[-1]


def main():
    proc = None
    url = os.environ.get("TELNYX_SIM_URL")
    if not url:
        binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/examples/sim"
        proc, url = start_sim(binary)
    checks = 0
    try:
        client = telnyx.Telnyx(
            api_key=KEY, base_url=url, max_retries=0, _strict_response_validation=True
        )
        cc = client.credential_connections.create(
            connection_name="sdk-check",
            user_name="sdkuser01",
            password="sdkpassword",
            anchorsite_override="Latency",
            inbound={"timeout_1xx_secs": 10, "dnis_number_format": "+e164"},
            outbound={"call_parking_enabled": True},
            jitter_buffer={"enable_jitter_buffer": True},
            noise_suppression="both",
            noise_suppression_details={"engine": "deep_filter_net"},
        ).data
        assert cc.id and cc.record_type == "credential_connection", cc
        assert cc.password == "sdkpassword"
        assert cc.inbound.timeout_1xx_secs == 10 and cc.inbound.timeout_2xx_secs == 90
        checks += 1
        got = client.credential_connections.retrieve(cc.id).data
        assert got.user_name == "sdkuser01"
        checks += 1
        upd = client.credential_connections.update(
            cc.id,
            webhook_event_url="https://mywebhook.com/primary",
            webhook_api_version="2",
            webhook_timeout_secs=25,
            outbound={"outbound_voice_profile_id": "123412415234124"},
            sip_uri_calling_preference="internal",
        ).data
        assert upd.webhook_timeout_secs == 25 and upd.outbound.call_parking_enabled
        checks += 1
        for i in range(4):
            client.credential_connections.create(
                connection_name=f"page-{i}", user_name=f"pageuser{i}", password="password1"
            )
        names = [c.connection_name for c in client.credential_connections.list(page_size=2)]
        assert len(names) == 5, names  # auto-pagination over 3 pages
        checks += 1
        filtered = client.credential_connections.list(
            filter={"connection_name": {"contains": "PAGE"}}, sort="connection_name"
        )
        assert [c.connection_name for c in filtered.data] == [f"page-{i}" for i in range(4)]
        checks += 1

        cred = client.telephony_credentials.create(
            connection_id=cc.id, name="sdk-cred", tag="sdk", expires_at="2042-06-18T21:32:38Z"
        ).data
        assert cred.sip_username.startswith("gencred") and len(cred.sip_password) == 32
        assert cred.resource_id == f"connection:{cc.id}" and cred.expired is False
        checks += 1
        assert client.telephony_credentials.retrieve(cred.id).data.sip_password == cred.sip_password
        checks += 1
        assert client.telephony_credentials.update(cred.id, name="renamed").data.name == "renamed"
        checks += 1
        listed = client.telephony_credentials.list(filter={"tag": "sdk", "status": "active"})
        assert [c.id for c in listed] == [cred.id]
        checks += 1
        token = client.telephony_credentials.create_token(cred.id)
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert claims["sub"] == cred.id and claims["typ"] == "access", claims
        checks += 1
        assert client.telephony_credentials.delete(cred.id).data.id == cred.id
        checks += 1

        try:
            client.credential_connections.create(
                connection_name="bad", user_name="12345abc", password="password1"
            )
            raise AssertionError("expected 422")
        except telnyx.UnprocessableEntityError as e:
            err = e.body["errors"][0] if isinstance(e.body, dict) else e.body
            assert err["code"] == "10015" and err["source"]["pointer"] == "/user_name", e.body
        checks += 1
        try:
            client.credential_connections.retrieve("1")
            raise AssertionError("expected 404")
        except telnyx.NotFoundError:
            pass
        checks += 1
        try:
            telnyx.Telnyx(api_key="wrong", base_url=url, max_retries=0).credential_connections.list()
            raise AssertionError("expected 401")
        except telnyx.AuthenticationError:
            pass
        checks += 1
        assert client.credential_connections.delete(cc.id).data.id == cc.id
        checks += 1
        print(f"sdk_check: {checks} checks passed against {url} (telnyx {telnyx.__version__})")
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=5)


if __name__ == "__main__":
    main()
