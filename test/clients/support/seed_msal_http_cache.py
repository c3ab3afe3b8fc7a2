"""Seed az's MSAL HTTP cache with the Entra emulator's own instance-discovery answer.

MSAL Python asks https://login.microsoftonline.com/common/discovery/instance twice, and no az 2.45 setting
turns either off: to validate an authority host it does not know (msal.authority.Authority) and, before it
reads its token cache, for the host's aliases (ClientApplication._get_instance_metadata). This asks the
emulator each question MSAL would ask the public cloud (the same parameters, built by MSAL's own rules, with
the emulator as the instance asked about) and stores the emulator's answers in AZURE_CONFIG_DIR/msal_http_cache.bin
under the keys MSAL's ThrottledHttpClient looks up, in MSAL's own expiring-mapping format. Nothing else is
cached: tenant metadata and tokens still come from the emulator on every run.

usage: /usr/bin/python3 seed_msal_http_cache.py <entra-url> <tenant> <config-dir>   (REQUESTS_CA_BUNDLE trusts the emulator)
"""
import os
import pickle
import sys
from urllib.parse import urlparse

import requests
from msal.individual_cache import _ExpiringMapping
from msal.throttled_http_client import _hash

PUBLIC_DISCOVERY = "https://login.microsoftonline.com/common/discovery/instance"


def main() -> None:
    entra, tenant, config_dir = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    host = urlparse(entra).hostname
    # msal.authority.Authority: "https://{instance}{path}/oauth2/v2.0/authorize" with the host name only.
    def ask(params):
        answer = requests.get(entra + "/common/discovery/instance", params=params, timeout=10)
        if answer.status_code != 200 or "tenant_discovery_endpoint" not in answer.json():
            sys.exit("the emulator's instance discovery answered {}: {}".format(answer.status_code, answer.text))
        return answer

    path = os.path.join(config_dir, "msal_http_cache.bin")
    cache = {}
    if os.path.exists(path):
        with open(path, "rb") as f:
            cache = pickle.load(f)
    mapping = _ExpiringMapping(mapping=cache)
    # 1. Authority validation: params as msal.authority._instance_discovery sends them.
    validate = {"authorization_endpoint": "https://{}/{}/oauth2/v2.0/authorize".format(host, tenant), "api-version": "1.0"}
    answer = ask(validate)
    mapping.set("GET {} hash={} 2xx".format(PUBLIC_DISCOVERY, _hash(validate)), answer, 3600 * 24)
    # 2. Aliases: a fixed URL with its parameters inline (no params argument, so MSAL hashes '').
    aliases_url = PUBLIC_DISCOVERY + "?api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/common/oauth2/authorize"
    aliases = ask({"api-version": "1.1", "authorization_endpoint": "https://{}/common/oauth2/authorize".format(host)})
    mapping.set("GET {} hash={} 2xx".format(aliases_url, _hash("")), aliases, 3600 * 24)
    with open(path, "wb") as f:
        pickle.dump(cache, f)
    print(answer.json()["tenant_discovery_endpoint"])


if __name__ == "__main__":
    main()
