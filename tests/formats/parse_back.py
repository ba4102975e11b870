"""Parses each rendered format with its consumer's rules and prints the login it carries.

Input (stdin): [{"format": ..., "text": ...}, ...]. Output: one JSON object per case
with the username, password and domain read back, or an error.
"""
import configparser
import io
import json
import re
import sys
import urllib.parse
import xml.etree.ElementTree as ET

from dotenv import dotenv_values

# RFC 3261 §25.1: user = 1*( unreserved / escaped / user-unreserved )
SIP_URI = re.compile(r"^sip:((?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+)@([A-Za-z0-9.\-]+)$")


def sip(text):
    m = SIP_URI.match(text.strip())
    if not m:
        raise ValueError("not an RFC 3261 sip: URI")
    return urllib.parse.unquote(m.group(1)), m.group(2)


def asterisk(v):
    # Asterisk: an unescaped ';' starts a comment; '\;' is a literal ';'.
    if re.search(r"(?<!\\);", v):
        raise ValueError("unescaped ';' would start a comment")
    return v.replace("\\;", ";")


def parse(fmt, text):
    if fmt == "sipURI":
        u, d = sip(text)
        return {"username": u, "domain": d}
    if fmt == "webrtc":
        v = json.loads(text)
        return {"username": v["login"], "password": v["password"]}
    if fmt == "pjsip":
        cp = configparser.ConfigParser(interpolation=None, strict=True, comment_prefixes=(";",),
                                       inline_comment_prefixes=None, delimiters=("=",))
        cp.read_string(text)
        by_type = {}
        for name in cp.sections():
            by_type.setdefault(cp[name]["type"], []).append(name)
        assert sorted(by_type) == ["aor", "auth", "endpoint", "registration"], by_type
        reg = cp[by_type["registration"][0]]
        auth = cp[reg["outbound_auth"]]
        ep = cp[reg["endpoint"]]
        assert ep["type"] == "endpoint" and cp[ep["aors"]]["type"] == "aor"
        assert ep["outbound_auth"] == reg["outbound_auth"]
        u, d = sip(asterisk(reg["client_uri"]))
        assert asterisk(reg["server_uri"]) == "sip:" + d
        assert asterisk(auth["username"]) == u and auth["auth_type"] == "userpass"
        return {"username": u, "password": asterisk(auth["password"]), "domain": d}
    if fmt == "freeswitch":
        root = ET.fromstring(text)
        assert root.tag == "include"
        gw = root.find("gateway")
        p = {e.get("name"): e.get("value") for e in gw.findall("param")}
        assert p["register"] == "true" and p["proxy"] == p["realm"]
        return {"username": p["username"], "password": p["password"], "domain": p["realm"]}
    if fmt == "env":
        v = dotenv_values(stream=io.StringIO(text), interpolate=True)
        u, d = sip(v["SIP_URI"])
        assert (u, d) == (v["SIP_USERNAME"], v["SIP_DOMAIN"])
        return {"username": v["SIP_USERNAME"], "password": v["SIP_PASSWORD"], "domain": v["SIP_DOMAIN"]}
    raise ValueError(fmt)


out = []
for case in json.load(sys.stdin):
    try:
        out.append(parse(case["format"], case["text"]))
    except Exception as e:  # reported to the Rust test, which names the case
        out.append({"error": f"{type(e).__name__}: {e}"})
json.dump(out, sys.stdout)
