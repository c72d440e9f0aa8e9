"""Requests to the JSON API over real HTTP (pytest-django's live server) and the users who make them: shared by the
API tests of search and profiles and by the hardening tests (not a test module)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid

from rest_framework.authtoken.models import Token


def call(
    live_server, method, path, *, params=None, json_body=None, body=None, content_type=None, token=None, headers=None
):
    """One real HTTP request; returns (status, headers, body bytes) whatever the status."""
    url = path if path.startswith("http") else f"{live_server.url}{path}"
    if params:
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params, doseq=True)
    headers = dict(headers or {})
    if json_body is not None:
        body, content_type = json.dumps(json_body).encode(), "application/json"
    if content_type:
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def api(live_server, method, path, **kwargs):
    """A request whose answer must be JSON: (status, headers, parsed body)."""
    status, headers, body = call(live_server, method, path, **kwargs)
    assert headers["Content-Type"].startswith("application/json"), (status, body[:300])
    return status, headers, json.loads(body)


def get_json(live_server, path, **params):
    status, _, body = api(live_server, "GET", path, params=params)
    return status, body


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    """Encode a multipart/form-data body: ``files`` maps a name to (filename, content type or None, bytes)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, values in fields.items():
        for value in values if isinstance(values, list) else [values]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content_type, data) in files.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        parts.append(head.encode() + b"\r\n" + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def assert_error(body, field=None):
    """The one error shape: {"error": "<field>: <reason>", "details": {...}}."""
    assert set(body) == {"error", "details"}
    assert isinstance(body["error"], str) and body["error"]
    if field is not None:
        assert body["error"].startswith(f"{field}: "), body
        assert field.split(".")[0] in body["details"]


def make_tokens(user_model) -> dict[str, str]:
    """API tokens of a staff user and of an ordinary user."""
    staff = user_model.objects.create_user("staff", password="pw", is_staff=True)
    reader = user_model.objects.create_user("reader", password="pw")
    return {"staff": Token.objects.create(user=staff).key, "reader": Token.objects.create(user=reader).key}
