"""bot.app.tls_context: one TLS context per process, verifying, and safe inside Bolt's request copies."""

from __future__ import annotations

import copy
import ssl

from slack_sdk import WebClient

from bot.app import tls_context


def test_it_verifies_certificates_and_host_names_against_a_loaded_bundle() -> None:
    context = tls_context()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 50  # the CA bundle is loaded
    assert tls_context() is context  # loaded once per process


def test_bolt_can_deep_copy_a_client_that_carries_it() -> None:
    # Bolt deep-copies a lazy listener's request, WebClient included (slack_bolt/util/utils.py create_copy).
    client = WebClient(token="xoxb-test", ssl=tls_context())
    copied = copy.deepcopy(client)
    assert copied is not client and copied.ssl is client.ssl
