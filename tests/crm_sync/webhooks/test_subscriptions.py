"""Which webhook URLs we agree to call."""

from __future__ import annotations

import pytest

from sportello.http.problems import InvalidRequest
from sportello_crm_sync.webhooks.subscriptions import check_url, new_secret


@pytest.mark.parametrize("url", ["https://crm.example.com/hooks", "https://8.8.8.8/h",
                                 "https://[2001:4860:4860::8888]/h"])
def test_public_https_urls_are_accepted(url: str) -> None:
    assert check_url(url, allow_insecure=False) == url


@pytest.mark.parametrize("url", ["http://crm.example.com/hooks", "ftp://crm.example.com/",
                                 "https://192.168.1.10/h", "https://169.254.169.254/latest",
                                 "https://[::1]/h", "https://localhost/h", "https://localhost./h",
                                 "https://api.localhost./h", "https://db.internal/h"])
def test_insecure_or_internal_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidRequest):
        check_url(url, allow_insecure=False)


def test_dev_mode_allows_local_urls() -> None:
    assert check_url("http://127.0.0.1:9000/h", allow_insecure=True)


def test_secrets_are_fresh_standard_webhooks_secrets() -> None:
    assert new_secret() != new_secret()
    assert new_secret().startswith("whsec_")
