"""A small OpenID Connect provider for the tests, on 127.0.0.1: discovery, a sign-in page, the
authorization-code flow with ID tokens signed RS256 (joserfc, which Authlib itself uses), JWKS.

Enough for Streamlit's real `st.login` (Authlib's Starlette client) to run its whole flow
against it: discovery, the redirect with state and nonce, the code exchange with the client
secret, ID-token signature, issuer, audience, nonce and expiry checks. Not a production server.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import RSAKey


class Provider:
    """The provider's state: one client, its signing key, the codes it has issued."""

    def __init__(self, client_id: str, client_secret: str, accounts: dict[str, dict]) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.accounts = accounts            # e-mail -> extra claims (name, roles)
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        self.codes: dict[str, dict] = {}
        self.token_requests = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Provider:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def metadata(self) -> dict:
        return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "scopes_supported": ["openid", "email", "profile"]}

    def id_token(self, email: str, nonce: str | None) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": f"sub-{email}", "aud": self.client_id, "iat": now, "exp": now + 300,
                  "auth_time": now, "email": email, "email_verified": True, **self.accounts[email]}
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:   # quiet
                pass

            def _send(self, status: int, body: str | bytes, content_type: str = "application/json",
                      headers: dict[str, str] | None = None) -> None:
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    self._send(200, json.dumps(provider.metadata()))
                elif url.path == "/jwks":
                    self._send(200, json.dumps({"keys": [provider.key.as_dict(private=False)]}))
                elif url.path == "/authorize":
                    if query.get("client_id") != provider.client_id or query.get("response_type") != "code":
                        self._send(400, "bad authorization request", "text/plain")
                        return
                    hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                                     for k, v in query.items())
                    self._send(200, f"""<!doctype html><title>Test identity provider</title>
                        <h1>Test identity provider</h1>
                        <form method="post" action="/authorize">{hidden}
                        <label>E-mail <input name="email" id="email"></label>
                        <button type="submit" id="approve">Sign in</button></form>""", "text/html")
                else:
                    self._send(404, "not found", "text/plain")

            def do_POST(self) -> None:
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if url.path == "/authorize":
                    if form.get("email") not in provider.accounts:
                        self._send(403, "unknown account", "text/plain")
                        return
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = {"email": form["email"], "nonce": form.get("nonce"),
                                            "redirect_uri": form["redirect_uri"]}
                    target = form["redirect_uri"] + "?" + urlencode({"code": code, "state": form.get("state", "")})
                    self._send(302, "", "text/plain", {"Location": target})
                elif url.path == "/token":
                    provider.token_requests += 1
                    client_id, client_secret = form.get("client_id"), form.get("client_secret")
                    basic = self.headers.get("Authorization", "")
                    if basic.startswith("Basic "):
                        client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
                    grant = provider.codes.pop(form.get("code", ""), None)   # a code is good once
                    if (client_id, client_secret) != (provider.client_id, provider.client_secret):
                        self._send(401, json.dumps({"error": "invalid_client"}))
                    elif grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                        self._send(400, json.dumps({"error": "invalid_grant"}))
                    else:
                        self._send(200, json.dumps({
                            "access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                            "id_token": provider.id_token(grant["email"], grant["nonce"])}))
                else:
                    self._send(404, "not found", "text/plain")

        return Handler
