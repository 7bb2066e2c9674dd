"""Tokenvault's HTTP API from Python, with the standard library only (docs/http-api.md).

    TOKENVAULT_URL=https://tokenvault.example.com TOKENVAULT_API_KEY=tvk_... python3 tokenvault_api.py

Lists the company's connections, reads the first one's access token, and calls its provider's
API through the proxy (QuickBooks: companyinfo; Xero: Organisation). Prints one JSON line per
step; never prints the token itself.
"""
import json
import os
import urllib.error
import urllib.request

BASE = os.environ["TOKENVAULT_URL"].rstrip("/")
KEY = os.environ["TOKENVAULT_API_KEY"]


def call(path, method="GET"):
    request = urllib.request.Request(BASE + path, method=method, headers={"Authorization": "Bearer " + KEY, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        # Tokenvault's own refusals are {"error": {"code", "message"}}; the provider's come through the proxy as it sent them.
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


status, _, listing = call("/api/v1/connections")
print(json.dumps({"step": "list", "status": status, "connections": [{k: c[k] for k in ("id", "provider", "externalId", "status")} for c in listing.get("connections", [])] if status == 200 else listing}))
if status != 200 or not listing["connections"]:
    raise SystemExit(1)

connection = listing["connections"][0]
status, _, token = call(f"/api/v1/connections/{connection['id']}/token")
print(json.dumps({"step": "token", "status": status, "expiresAt": token.get("expiresAt"), "externalId": token.get("externalId"), "hasAccessToken": bool(token.get("accessToken"))}))

path = f"companyinfo/{connection['externalId']}" if connection["provider"] == "quickbooks" else "Organisation"
status, headers, answer = call(f"/api/v1/connections/{connection['id']}/proxy/{path}")
print(json.dumps({"step": "proxy", "status": status, "source": headers.get("tokenvault-source"), "answer": answer}))
raise SystemExit(0 if status == 200 else 1)
